/**
 * Queue port: durable background work with retries and backoff. In-process
 * timers in the embedded profile, Bull on Redis in the distributed one.
 * Jobs with the same `jobId` are taken once while one is waiting or running,
 * which makes "schedule this step" idempotent. Jobs that keep failing are kept
 * as dead letters (`failed()`), never dropped.
 */
import Bull from "bull";
import Redis from "ioredis";
import { config } from "../config";
import { unavailable } from "../errors";
import { newRedisClient, whenReady } from "../kv";

export interface JobOptions {
  jobId?: string;
  delayMs?: number;
  /** Total tries, first included. Default 5. */
  attempts?: number;
  /** First retry delay; doubles each time. Default 1 s. */
  backoffMs?: number;
}

export interface JobInfo { id: string; attempt: number }
export type JobHandler<T> = (data: T, job: JobInfo) => Promise<void>;
export interface DeadLetter { id: string; name: string; data: unknown; error: string; attempts: number; failedAt: string }

export interface Queue {
  add<T>(name: string, data: T, options?: JobOptions): Promise<void>;
  process<T>(name: string, handler: JobHandler<T>, concurrency?: number): void;
  failed(name: string): Promise<DeadLetter[]>;
  ping(): Promise<void>;
  /** Stops taking jobs and waits for the running ones. */
  close(): Promise<void>;
}

const DEFAULTS = { attempts: 5, backoffMs: 1000 };

interface MemJob { id: string; name: string; data: unknown; attempt: number; options: Required<Omit<JobOptions, "jobId" | "delayMs">> }

export class MemoryQueue implements Queue {
  private readonly handlers = new Map<string, { handler: JobHandler<any>; concurrency: number; running: number }>();
  private readonly waiting = new Map<string, MemJob[]>();
  private readonly known = new Set<string>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly dead: DeadLetter[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private closed = false;

  constructor(private readonly onError: (msg: string, err: unknown) => void = () => undefined) {}

  async add<T>(name: string, data: T, options: JobOptions = {}) {
    if (this.closed) throw unavailable("The job queue");
    const id = options.jobId ?? `${name}:${Math.random().toString(36).slice(2)}${Date.now()}`;
    const key = `${name}\u0000${id}`;
    if (this.known.has(key)) return;
    this.known.add(key);
    const job: MemJob = { id, name, data: structuredClone(data), attempt: 0, options: { attempts: options.attempts ?? DEFAULTS.attempts, backoffMs: options.backoffMs ?? DEFAULTS.backoffMs } };
    this.schedule(job, options.delayMs ?? 0);
  }

  private schedule(job: MemJob, delayMs: number) {
    const enqueue = () => {
      const list = this.waiting.get(job.name) ?? [];
      list.push(job);
      this.waiting.set(job.name, list);
      this.drain(job.name);
    };
    if (delayMs <= 0) return enqueue();
    const t = setTimeout(() => {
      this.timers.delete(t);
      enqueue();
    }, delayMs);
    this.timers.add(t);
  }

  process<T>(name: string, handler: JobHandler<T>, concurrency = 1) {
    this.handlers.set(name, { handler, concurrency, running: 0 });
    this.drain(name);
  }

  private drain(name: string) {
    const h = this.handlers.get(name);
    const list = this.waiting.get(name);
    while (!this.closed && h && list?.length && h.running < h.concurrency) {
      const job = list.shift()!;
      h.running++;
      job.attempt++;
      const run = (async () => {
        try {
          await h.handler(job.data, { id: job.id, attempt: job.attempt });
          this.known.delete(`${name}\u0000${job.id}`);
        } catch (err) {
          if (job.attempt < job.options.attempts && !this.closed) {
            this.schedule(job, job.options.backoffMs * 2 ** (job.attempt - 1));
          } else {
            this.known.delete(`${name}\u0000${job.id}`);
            this.dead.push({ id: job.id, name, data: job.data, error: String((err as Error)?.message ?? err), attempts: job.attempt, failedAt: new Date().toISOString() });
            this.onError(`job ${name}/${job.id} failed for good after ${job.attempt} tries`, err);
          }
        } finally {
          h.running--;
        }
      })();
      this.inFlight.add(run);
      run.finally(() => {
        this.inFlight.delete(run);
        this.drain(name);
      });
    }
  }

  async failed(name: string) {
    return this.dead.filter((d) => d.name === name);
  }
  async ping() {}
  async close() {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await Promise.allSettled([...this.inFlight]);
  }
}

export class BullQueue implements Queue {
  private readonly queues = new Map<string, Bull.Queue>();
  private readonly client: ReturnType<typeof newRedisClient>;
  private readonly ownClients: Redis[] = [];

  constructor(private readonly redisUrl: string, private readonly prefix: string, private readonly onError: (msg: string, err: unknown) => void = () => undefined) {
    this.client = newRedisClient(redisUrl);
  }

  private queue(name: string): Bull.Queue {
    let q = this.queues.get(name);
    if (!q) {
      q = new Bull(name, {
        prefix: this.prefix,
        createClient: (type) => {
          if (type === "client") return this.client;
          // Blocking and subscriber connections must wait for Redis instead of failing.
          const extra = new Redis(this.redisUrl, { maxRetriesPerRequest: null, enableReadyCheck: false, retryStrategy: (times) => Math.min(times * 200, 2000) });
          this.ownClients.push(extra); // Bull never closes clients a custom createClient made
          return extra;
        },
      });
      q.on("error", (err) => this.onError(`queue ${name} error`, err));
      q.on("failed", (job, err) => {
        if (job.attemptsMade >= (job.opts.attempts ?? 1)) this.onError(`job ${name}/${job.id} failed for good after ${job.attemptsMade} tries`, err);
      });
      this.queues.set(name, q);
    }
    return q;
  }

  async add<T>(name: string, data: T, options: JobOptions = {}) {
    await whenReady(this.client).catch(() => {
      throw unavailable("The job queue");
    });
    try {
      await this.queue(name).add(data, {
        jobId: options.jobId,
        delay: options.delayMs,
        attempts: options.attempts ?? DEFAULTS.attempts,
        backoff: { type: "exponential", delay: options.backoffMs ?? DEFAULTS.backoffMs },
        removeOnComplete: true,
        removeOnFail: false,
      });
    } catch (err) {
      throw Object.assign(unavailable("The job queue"), { cause: err });
    }
  }

  process<T>(name: string, handler: JobHandler<T>, concurrency = 1) {
    this.queue(name).process(concurrency, async (job) => {
      await handler(job.data as T, { id: String(job.id), attempt: job.attemptsMade + 1 });
    }).catch((err) => this.onError(`queue ${name} stopped processing`, err));
  }

  async failed(name: string) {
    const jobs = await this.queue(name).getFailed();
    return jobs.map((j) => ({ id: String(j.id), name, data: j.data, error: j.failedReason ?? "", attempts: j.attemptsMade, failedAt: new Date(j.finishedOn ?? j.timestamp).toISOString() }));
  }

  async ping() {
    await whenReady(this.client, 1000);
    await this.client.ping();
  }

  async close() {
    await Promise.allSettled([...this.queues.values()].map((q) => q.close()));
    for (const c of this.ownClients) c.disconnect();
    this.client.disconnect();
  }
}

export function openQueue(service: string, onError?: (msg: string, err: unknown) => void): Queue {
  const cfg = config();
  if (cfg.redisUrl) return new BullQueue(cfg.redisUrl, `${cfg.namespace}:bull:${service}`, onError);
  return new MemoryQueue(onError);
}
