/**
 * Coalesces recounts of one key within a process: while a recount of `key`
 * runs, callers do not start another; they ask for one more pass and wait
 * for it. Every caller's own write happened before it called, and the pass it
 * waits for starts after that, so it sees the write. A day bucket touched by
 * every fact of that day is thus recounted at most twice at a time, not once
 * per fact in flight. (Between processes, the stores' conditional writes keep
 * recounts correct: see Scores.refresh and Buckets.refresh.)
 */
export class SingleFlight {
  private readonly running = new Map<string, { again: boolean; done: Promise<void> }>();

  run(key: string, pass: () => Promise<unknown>): Promise<void> {
    const current = this.running.get(key);
    if (current) {
      current.again = true;
      return current.done;
    }
    const state = { again: false, done: Promise.resolve() };
    state.done = (async () => {
      try {
        do {
          state.again = false;
          await pass();
        } while (state.again);
      } finally {
        this.running.delete(key);
      }
    })();
    this.running.set(key, state);
    return state.done;
  }
}

/** A short random pause after losing a conditional write to another process, growing with the attempts. */
export const backoff = (attempt: number) => new Promise((r) => setTimeout(r, Math.random() * Math.min(50, 2 * 2 ** attempt)));
