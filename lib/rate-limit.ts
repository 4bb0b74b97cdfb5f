/**
 * Per-minute request limits shared by every instance: a counter per key and
 * clock minute in the key-value store. When the store is down the limit is
 * not enforced (fails open): limiting is protection, not a reason to refuse
 * service.
 */
import type { Kv } from "./kv";

export interface MinuteCount {
  count: number;
  /** Seconds until the next minute starts the count again (at least 1). */
  retryAfter: number;
}

/** Counts one request for `key` in the current minute; null when the store could not count it. */
export async function countThisMinute(kv: Kv, key: string, warn: (msg: string) => void): Promise<MinuteCount | null> {
  const bucket = Math.floor(Date.now() / 60_000);
  try {
    const { count } = await kv.hit(`${key}:${bucket}`, 60_000);
    return { count, retryAfter: Math.max(1, Math.ceil(((bucket + 1) * 60_000 - Date.now()) / 1000)) };
  } catch (err) {
    warn(`rate limiter unavailable, letting the request through: ${(err as Error).message}`);
    return null;
  }
}
