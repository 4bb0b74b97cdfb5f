/**
 * Key-value port for short-lived shared state: rate-limit counters, token
 * revocation, idempotency records, caches. In memory in the embedded profile
 * (snapshotted to DATA_DIR on a clean stop, so a restart keeps revocations),
 * Redis in the distributed one. Every value has a time to live.
 */
import fs from "node:fs";
import path from "node:path";
import Redis from "ioredis";
import { config } from "../config";
import { unavailable } from "../errors";

export interface Kv {
  get(key: string): Promise<string | null>;
  set(key: string, value: string, ttlMs: number): Promise<void>;
  /** Sets only when absent; true when this call set it. */
  setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean>;
  del(key: string): Promise<void>;
  /** Adds one to a counter that lives `ttlMs` from its first hit; returns the count and ms left. */
  hit(key: string, ttlMs: number): Promise<{ count: number; resetInMs: number }>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

interface Entry { value: string; expiresAt: number }

export class MemoryKv implements Kv {
  private readonly map = new Map<string, Entry>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly snapshotFile?: string) {
    if (snapshotFile) {
      try {
        const saved = JSON.parse(fs.readFileSync(snapshotFile, "utf8")) as [string, Entry][];
        const now = Date.now();
        for (const [k, e] of saved) if (e.expiresAt > now) this.map.set(k, e);
      } catch {
        /* no snapshot yet */
      }
    }
    this.sweeper = setInterval(() => this.sweep(), 30_000);
    this.sweeper.unref();
  }

  private sweep() {
    const now = Date.now();
    for (const [k, e] of this.map) if (e.expiresAt <= now) this.map.delete(k);
  }

  private live(key: string): Entry | undefined {
    const e = this.map.get(key);
    if (e && e.expiresAt <= Date.now()) {
      this.map.delete(key);
      return undefined;
    }
    return e;
  }

  async get(key: string) {
    return this.live(key)?.value ?? null;
  }
  async set(key: string, value: string, ttlMs: number) {
    this.map.set(key, { value, expiresAt: Date.now() + ttlMs });
  }
  async setIfAbsent(key: string, value: string, ttlMs: number) {
    if (this.live(key)) return false;
    this.map.set(key, { value, expiresAt: Date.now() + ttlMs });
    return true;
  }
  async del(key: string) {
    this.map.delete(key);
  }
  async hit(key: string, ttlMs: number) {
    const now = Date.now();
    const e = this.live(key);
    if (!e) {
      this.map.set(key, { value: "1", expiresAt: now + ttlMs });
      return { count: 1, resetInMs: ttlMs };
    }
    e.value = String(Number(e.value) + 1);
    return { count: Number(e.value), resetInMs: e.expiresAt - now };
  }
  async ping() {}
  async close() {
    clearInterval(this.sweeper);
    if (this.snapshotFile) {
      this.sweep();
      fs.mkdirSync(path.dirname(this.snapshotFile), { recursive: true });
      fs.writeFileSync(this.snapshotFile, JSON.stringify([...this.map]));
    }
  }
}

const HIT = `local c = redis.call('INCR', KEYS[1])
if c == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local t = redis.call('PTTL', KEYS[1])
if t < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); t = tonumber(ARGV[1]) end
return {c, t}`;

export class RedisKv implements Kv {
  constructor(private readonly redis: Redis, private readonly prefix: string) {}

  private async run<R>(op: () => Promise<R>): Promise<R> {
    await whenReady(this.redis);
    try {
      return await op();
    } catch (err: any) {
      if (/Connection|ECONNREFUSED|ETIMEDOUT|Stream isn't writeable|max retries/i.test(String(err?.message))) throw unavailable("Redis");
      throw err;
    }
  }

  get(key: string) {
    return this.run(() => this.redis.get(this.prefix + key));
  }
  async set(key: string, value: string, ttlMs: number) {
    await this.run(() => this.redis.set(this.prefix + key, value, "PX", Math.max(1, Math.ceil(ttlMs))));
  }
  async setIfAbsent(key: string, value: string, ttlMs: number) {
    return (await this.run(() => this.redis.set(this.prefix + key, value, "PX", Math.max(1, Math.ceil(ttlMs)), "NX"))) === "OK";
  }
  async del(key: string) {
    await this.run(() => this.redis.del(this.prefix + key));
  }
  async hit(key: string, ttlMs: number) {
    const [count, resetInMs] = (await this.run(() => this.redis.eval(HIT, 1, this.prefix + key, String(Math.ceil(ttlMs))))) as [number, number];
    return { count, resetInMs };
  }
  async ping() {
    await this.run(() => this.redis.ping());
  }
  async close() {
    this.redis.disconnect();
  }
}

/** Waits briefly for a client that is still connecting; a client that is down fails at once. */
export async function whenReady(redis: Redis, waitMs = 3000): Promise<void> {
  if (redis.status === "ready") return;
  if (redis.status === "end" || redis.status === "close" || redis.status === "reconnecting") throw unavailable("Redis");
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => { cleanup(); reject(unavailable("Redis")); }, waitMs);
    const onReady = () => { cleanup(); resolve(); };
    const onEnd = () => { cleanup(); reject(unavailable("Redis")); };
    const cleanup = () => { clearTimeout(timer); redis.off("ready", onReady); redis.off("end", onEnd); };
    redis.once("ready", onReady);
    redis.once("end", onEnd);
  });
}

/** A Redis client that fails fast while Redis is down instead of queueing commands forever. */
export function newRedisClient(url: string): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    retryStrategy: (times) => Math.min(times * 200, 2000),
    lazyConnect: false,
  });
}

let shared: { kv: MemoryKv; users: number } | undefined;

/**
 * The key-value store for one service. Services of one process share the
 * embedded store (the gateway reads what auth writes); closing it is counted.
 */
export function openKv(): Kv {
  const cfg = config();
  if (cfg.redisUrl) return new RedisKv(newRedisClient(cfg.redisUrl), `${cfg.namespace}:`);
  shared ??= { kv: new MemoryKv(path.join(cfg.dataDir, "kv.json")), users: 0 };
  shared.users++;
  const mine = shared;
  let closed = false;
  return new Proxy(mine.kv, {
    get(target, prop, receiver) {
      if (prop !== "close") return Reflect.get(target, prop, receiver);
      return async () => {
        if (closed) return;
        closed = true;
        if (--mine.users === 0) {
          if (shared === mine) shared = undefined;
          await target.close();
        }
      };
    },
  });
}
