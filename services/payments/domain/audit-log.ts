/**
 * The append-only, hash-chained audit log.
 *
 * Entry n holds `prevHash` = hash of entry n-1 (GENESIS for the first) and
 * `hash = sha256(prevHash + canonicalJson(entry without hash))`, so changing,
 * removing or reordering any entry breaks every later link: `verify()` finds it.
 *
 * Appending without transactions: the entry's `_id` is its sequence number, so
 * inserting entry n+1 is the lock (a unique `_id`, plus a unique `seq` index):
 * of two appenders that read the same tail exactly one insert succeeds, the
 * other re-reads the tail and tries n+2. Only then is the chain-head document
 * `{_id: "head", seq, hash}` advanced, with a conditional update on `seq`. The
 * head is a hint to find the tail quickly, never the truth: a crash between the
 * insert and the head update leaves the head one behind and no gap, and the
 * next appender reads past it to the real tail.
 *
 * Idempotent by `key` (unique): a repeated append of the same key returns the
 * entry already written.
 */
import { createHash } from "node:crypto";
import type { Collection, Database } from "../../../lib/store";
import { DuplicateKeyError, unavailable } from "../../../lib/errors";
import type { AuditEntryV1 } from "../../../lib/audit";

export const GENESIS = "0".repeat(64);

export interface AuditInput extends Omit<AuditEntryV1, "at"> {
  /** Idempotency key: the same key is appended once. */
  key: string;
  at?: string;
}

export interface AuditRecord {
  _id: string; // the sequence number, zero-padded so it also sorts as a string
  seq: number;
  key: string;
  entityType: string;
  entityId: string;
  action: string;
  actor: AuditEntryV1["actor"];
  before: unknown;
  after: unknown;
  reason?: string;
  at: string;
  prevHash: string;
  hash: string;
}

interface Head { _id: "head"; seq: number; hash: string }

/** An entry as the API shows it: the stored record without its storage id and idempotency key. */
export type AuditView = Omit<AuditRecord, "_id" | "key">;

export interface VerifyResult { ok: boolean; checked: number; brokenAt?: number; problem?: string }

/** JSON with object keys sorted at every level and undefined members dropped: one text per value. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? "null" : canonicalJson(v))).join(",")}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(",")}}`;
}

/** The value as it will read back from any store (undefined gone, dates as strings). */
function plain<T>(value: T): T {
  return value === undefined ? (null as T) : (JSON.parse(canonicalJson(value)) as T);
}

type Body = Omit<AuditRecord, "_id" | "hash">;

function bodyOf(r: AuditRecord): Body {
  const { _id: _ignored, hash: _hash, ...body } = r;
  return body;
}

export function hashEntry(prevHash: string, body: Body): string {
  return createHash("sha256").update(prevHash + canonicalJson(body)).digest("hex");
}

export const seqId = (seq: number) => String(seq).padStart(12, "0");

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MAX_TRIES = 200;
const PAGE = 500;

export class AuditLog {
  readonly entries: Collection<AuditRecord>;
  private readonly heads: Collection<Head>;

  constructor(db: Database) {
    this.entries = db.collection<AuditRecord>("audit_entries", [
      { fields: { seq: 1 }, unique: true },
      { fields: { key: 1 }, unique: true },
      { fields: { entityType: 1, entityId: 1 } },
    ]);
    this.heads = db.collection<Head>("audit_head");
  }

  /** Appends of this process, one after the other (see `append`). */
  private queue: Promise<unknown> = Promise.resolve();
  /** The entry this process appended last: the likely tail, so the next append needs no read. */
  private lastTail?: { seq: number; hash: string };

  /**
   * Appends one entry (idempotent by `key`). The chain is one sequence, so
   * appends of one process queue up here instead of racing each other for
   * the next sequence number; other instances still race, and the loser of a
   * race re-reads the tail and tries again.
   */
  append(input: AuditInput): Promise<AuditRecord> {
    const run = this.queue.then(() => this.appendNow(input));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async appendNow(input: AuditInput): Promise<AuditRecord> {
    const known = await this.entries.findOne({ key: input.key });
    if (known) return known;
    const content = plain({
      key: input.key,
      entityType: input.entityType,
      entityId: input.entityId,
      action: input.action,
      actor: input.actor,
      before: input.before ?? null,
      after: input.after ?? null,
      reason: input.reason,
      at: input.at ?? new Date().toISOString(),
    });
    for (let attempt = 0; attempt < MAX_TRIES; attempt++) {
      const tail = this.lastTail ?? (await this.tail());
      const body: Body = { seq: tail.seq + 1, ...content, prevHash: tail.hash };
      const record: AuditRecord = { _id: seqId(body.seq), ...body, hash: hashEntry(tail.hash, body) };
      try {
        await this.entries.insert(record);
      } catch (err) {
        if (!(err instanceof DuplicateKeyError)) throw err;
        this.lastTail = undefined;
        // Either this key is already in (a concurrent append of it won) or another entry took seq n+1.
        const same = await this.entries.findOne({ key: input.key });
        if (same) return same;
        await sleep(Math.random() * Math.min(50, 2 + attempt * 2));
        continue;
      }
      this.lastTail = { seq: record.seq, hash: record.hash };
      await this.advanceHead(record.seq, record.hash);
      return record;
    }
    throw unavailable("The audit log (too much contention)");
  }

  /** The last entry: from the head hint on, the highest sequence number present. */
  async tail(): Promise<{ seq: number; hash: string }> {
    const head = await this.heads.findById("head");
    const [last] = await this.entries.find({ seq: { $gte: head?.seq ?? 0 } }, { sort: { seq: -1 }, limit: 1 });
    return last ? { seq: last.seq, hash: last.hash } : { seq: 0, hash: GENESIS };
  }

  private async advanceHead(seq: number, hash: string) {
    for (let attempt = 0; attempt < 3; attempt++) {
      if (await this.heads.updateOne({ _id: "head", seq: { $lt: seq } }, { $set: { seq, hash } })) return;
      if (await this.heads.findById("head")) return; // already at or past this entry
      try {
        await this.heads.insert({ _id: "head", seq, hash });
        return;
      } catch (err) {
        if (!(err instanceof DuplicateKeyError)) throw err;
      }
    }
  }

  /** Newest first; `cursor` is the sequence number to continue below. */
  async list(filter: { entityType?: string; entityId?: string; action?: string }, limit: number, cursor?: string): Promise<{ items: AuditView[]; nextCursor: string | null }> {
    const q: Record<string, unknown> = {};
    if (filter.entityType) q.entityType = filter.entityType;
    if (filter.entityId) q.entityId = filter.entityId;
    if (filter.action) q.action = filter.action;
    if (cursor !== undefined) q.seq = { $lt: Number(cursor) };
    const rows = await this.entries.find(q, { sort: { seq: -1 }, limit: limit + 1 });
    const items = rows.slice(0, limit).map(toView);
    return { items, nextCursor: rows.length > limit ? String(items[items.length - 1].seq) : null };
  }

  /** Walks the whole chain from the first entry: numbering, links and hashes, then the head. */
  async verify(): Promise<VerifyResult> {
    let prevHash = GENESIS;
    let expected = 1;
    const hashAt = new Map<number, string>();
    const head = await this.heads.findById("head");
    for (;;) {
      const page = await this.entries.find({ seq: { $gte: expected } }, { sort: { seq: 1 }, limit: PAGE });
      if (!page.length) break;
      for (const e of page) {
        const checked = expected - 1;
        if (e.seq !== expected) return { ok: false, checked, brokenAt: expected, problem: `entry ${expected} is missing` };
        if (e._id !== seqId(e.seq)) return { ok: false, checked, brokenAt: e.seq, problem: "the entry's id does not match its sequence number" };
        if (e.prevHash !== prevHash) return { ok: false, checked, brokenAt: e.seq, problem: "the entry does not link to the one before it" };
        if (hashEntry(prevHash, bodyOf(e)) !== e.hash) return { ok: false, checked, brokenAt: e.seq, problem: "the entry's content does not match its hash" };
        if (head && e.seq === head.seq) hashAt.set(e.seq, e.hash);
        prevHash = e.hash;
        expected++;
      }
    }
    const checked = expected - 1;
    if (head && head.seq > checked) return { ok: false, checked, brokenAt: checked + 1, problem: `entries ${checked + 1} to ${head.seq} are missing` };
    if (head && head.seq > 0 && hashAt.get(head.seq) !== head.hash) return { ok: false, checked, brokenAt: head.seq, problem: "the chain head does not match its entry" };
    return { ok: true, checked };
  }
}

export function toView(r: AuditRecord): AuditView {
  return { seq: r.seq, entityType: r.entityType, entityId: r.entityId, action: r.action, actor: r.actor, before: r.before, after: r.after, ...(r.reason !== undefined && { reason: r.reason }), at: r.at, prevHash: r.prevHash, hash: r.hash };
}
