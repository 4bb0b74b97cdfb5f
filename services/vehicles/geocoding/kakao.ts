/**
 * Kakao Local address search as a Geocoder:
 * `GET {baseUrl}/v2/local/search/address.json?query=...` with
 * `Authorization: KakaoAK <key>`, answering `{documents: [{x, y, address_name}]}`
 * (x = longitude, y = latitude, as strings).
 *
 * Resilience: every try has a time limit; timeouts, network errors, 429 and
 * 5xx are tried again with exponential backoff and jitter; 401/403 (a bad
 * key) are not, since trying again cannot help. A lookup that fails after its
 * tries counts once against the circuit breaker, and an open circuit refuses
 * at once. "No such address" is an answer, not a failure.
 */
import { CircuitBreaker } from "./breaker";
import { GeocodingUnavailable, type GeoPoint, type Geocoder } from "./geocoder";

export interface KakaoOptions {
  baseUrl: string;
  apiKey: string;
  /** One try's time limit. */
  timeoutMs?: number;
  /** Tries after the first one. */
  retries?: number;
  /** First backoff; doubles with each retry (plus up to 50 % jitter). */
  backoffMs?: number;
  breaker?: CircuitBreaker;
  /** Called with the reason when a lookup fails (never with the address or the key). */
  onFailure?: (err: GeocodingUnavailable) => void;
}

class Retryable extends GeocodingUnavailable {}

/** Kakao sends coordinates as strings ("126.97"); anything else is NaN. */
function coordinate(value: unknown): number {
  if (typeof value === "number") return value;
  return typeof value === "string" && value.trim() !== "" ? Number(value) : NaN;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class KakaoGeocoder implements Geocoder {
  readonly breaker: CircuitBreaker;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly backoffMs: number;

  constructor(private readonly options: KakaoOptions) {
    this.breaker = options.breaker ?? new CircuitBreaker();
    this.timeoutMs = options.timeoutMs ?? 2000;
    this.retries = options.retries ?? 2;
    this.backoffMs = options.backoffMs ?? 200;
  }

  async geocode(address: string): Promise<GeoPoint | null> {
    if (!this.breaker.tryAcquire()) throw new GeocodingUnavailable("The address lookup is paused after repeated failures", "circuit_open");
    for (let attempt = 0; ; attempt++) {
      try {
        const point = await this.once(address);
        this.breaker.success();
        return point;
      } catch (err) {
        const failure = err instanceof GeocodingUnavailable ? err : new GeocodingUnavailable(String((err as Error)?.message ?? err), "network");
        if (!(failure instanceof Retryable) || attempt >= this.retries) {
          this.breaker.failure();
          this.options.onFailure?.(failure);
          throw failure;
        }
        const delay = this.backoffMs * 2 ** attempt;
        await sleep(delay + Math.random() * delay * 0.5);
      }
    }
  }

  private async once(address: string): Promise<GeoPoint | null> {
    const url = `${this.options.baseUrl.replace(/\/+$/, "")}/v2/local/search/address.json?${new URLSearchParams({ query: address, size: "1" })}`;
    let res: Response;
    try {
      res = await fetch(url, {
        headers: { Authorization: `KakaoAK ${this.options.apiKey}`, Accept: "application/json" },
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      const name = (err as Error)?.name;
      if (name === "TimeoutError" || name === "AbortError") throw new Retryable(`Kakao did not answer within ${this.timeoutMs} ms`, "timeout");
      throw new Retryable(`Kakao could not be reached: ${(err as Error)?.message}`, "network");
    }
    if (res.status === 401 || res.status === 403) {
      await res.body?.cancel();
      throw new GeocodingUnavailable(`Kakao refused the API key (HTTP ${res.status})`, "auth");
    }
    if (res.status === 429 || res.status >= 500) {
      await res.body?.cancel();
      throw new Retryable(`Kakao answered HTTP ${res.status}`, "http");
    }
    if (res.status === 400) {
      // Kakao's answer to a query it cannot parse: there is no such address.
      await res.body?.cancel();
      return null;
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new GeocodingUnavailable(`Kakao answered HTTP ${res.status}`, "http");
    }
    let body: any;
    try {
      body = await res.json();
    } catch {
      throw new Retryable("Kakao's answer was not JSON", "bad_answer");
    }
    if (!body || !Array.isArray(body.documents)) throw new GeocodingUnavailable("Kakao's answer has no documents list", "bad_answer");
    const first = body.documents[0];
    if (!first) return null;
    const lng = coordinate(first.x);
    const lat = coordinate(first.y);
    if (!Number.isFinite(lat) || !Number.isFinite(lng) || Math.abs(lat) > 90 || Math.abs(lng) > 180) {
      throw new GeocodingUnavailable("Kakao's answer has coordinates out of range", "bad_answer");
    }
    return { lat, lng, address: typeof first.address_name === "string" ? first.address_name : address };
  }
}
