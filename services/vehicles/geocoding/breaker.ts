/**
 * A small circuit breaker for calls to one outside provider.
 *
 * closed: calls go through; `threshold` failures in a row open it.
 * open: calls are refused at once (no waiting on a provider that is down)
 *   until `openMs` have passed.
 * half-open: one trial call goes through; success closes the circuit, failure
 *   opens it again for another `openMs`. Other calls are refused meanwhile.
 */
export type BreakerState = "closed" | "open" | "half_open";

export interface BreakerOptions {
  threshold?: number;
  openMs?: number;
  now?: () => number;
  onChange?: (state: BreakerState) => void;
}

export class CircuitBreaker {
  private failures = 0;
  private openedAt = 0;
  private trialInFlight = false;
  private current: BreakerState = "closed";
  private readonly threshold: number;
  private readonly openMs: number;
  private readonly now: () => number;

  constructor(private readonly options: BreakerOptions = {}) {
    this.threshold = options.threshold ?? 5;
    this.openMs = options.openMs ?? 30_000;
    this.now = options.now ?? Date.now;
  }

  get state(): BreakerState {
    if (this.current === "open" && this.now() - this.openedAt >= this.openMs) this.set("half_open");
    return this.current;
  }

  /** May a call go out now? In half-open state, only the first caller gets true (the trial). */
  tryAcquire(): boolean {
    const state = this.state;
    if (state === "closed") return true;
    if (state === "open" || this.trialInFlight) return false;
    this.trialInFlight = true;
    return true;
  }

  success(): void {
    this.failures = 0;
    this.trialInFlight = false;
    if (this.current !== "closed") this.set("closed");
  }

  failure(): void {
    this.trialInFlight = false;
    this.failures++;
    if (this.current === "half_open" || this.failures >= this.threshold) {
      this.openedAt = this.now();
      this.set("open");
    }
  }

  private set(state: BreakerState) {
    this.current = state;
    this.options.onChange?.(state);
  }
}
