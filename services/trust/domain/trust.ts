/**
 * The trust service's use cases, over its own database only:
 * - consume a fact: log it, apply it to the read models, recount the scores
 *   and analytics days it touched (all idempotent: the same fact twice, or
 *   facts in another order, end in the same state);
 * - ratings, flags and overrides (its own data), each followed by a recount
 *   of the subjects it changed;
 * - recompute: replay every logged fact and recount every subject and day;
 *   on a consistent system nothing changes (the tests check exactly that).
 */
import type { AuditEntryV1 } from "../../../lib/audit";
import type { AuthUser } from "../../../lib/auth-types";
import { DuplicateKeyError } from "../../../lib/errors";
import type { Fact, FactType, RatingCreatedV1 } from "../../../lib/events";
import type { Collection, Database, Doc } from "../../../lib/store";
import { Buckets } from "../analytics/buckets";
import { analyticsReport, periodDays } from "../analytics/report";
import { Flags, toFlagView } from "./flags";
import { isScored, subjectKey, type FactRecord, type FlagRecord, type ScoredType, type SubjectType } from "./model";
import { Ratings, toRatingView, type BookingLookup, type RatingInput } from "./ratings";
import { newDirty, ReadModels, type Dirty } from "./read-models";
import { Scores } from "./scores";
import { SingleFlight } from "./single-flight";

export interface Effects {
  publish(type: FactType, data: unknown, id: string): Promise<void>;
  audit(entry: Omit<AuditEntryV1, "at"> & { at?: string }, id: string): Promise<void>;
}

export interface TrustOptions {
  /** Ratings are revealed this long after the booking completed, if both sides have not rated by then. */
  revealAfterMs: number;
  /** The clock; tests replace `trust.clock.now` to move time. */
  now?: () => number;
}

/** Runs `fn` over `items`, `n` at a time. */
async function inBatches<T>(items: T[], n: number, fn: (item: T) => Promise<unknown>) {
  for (let i = 0; i < items.length; i += n) await Promise.all(items.slice(i, i + n).map(fn));
}

/** Every document of a collection, in `_id` order, a page at a time. */
async function* scan<T extends Doc>(c: Collection<T>): AsyncGenerator<T> {
  let after = "";
  for (;;) {
    const rows = await c.find({ _id: { $gt: after } }, { sort: { _id: 1 }, limit: 500 });
    yield* rows;
    if (rows.length < 500) return;
    after = rows[rows.length - 1]._id;
  }
}

const actorOf = (admin: AuthUser): AuditEntryV1["actor"] => ({ id: admin.id, roles: admin.roles, kind: "admin" });

export class Trust {
  readonly clock: { now: () => number };
  readonly log: Collection<FactRecord>;
  readonly models: ReadModels;
  readonly ratings: Ratings;
  readonly flags: Flags;
  readonly scores: Scores;
  readonly buckets: Buckets;
  private readonly flights = new SingleFlight();

  constructor(db: Database, private readonly effects: Effects, options: TrustOptions) {
    this.clock = { now: options.now ?? Date.now };
    const now = () => this.clock.now();
    this.log = db.collection<FactRecord>("fact_log");
    this.models = new ReadModels(db);
    this.ratings = new Ratings(db, this.models, now, options.revealAfterMs);
    this.flags = new Flags(db, now);
    this.scores = new Scores(db, this.models, this.ratings.records, this.flags.records, this.flags.overrides, effects.publish, now);
    this.buckets = new Buckets(db, this.models, now);
  }

  private iso() {
    return new Date(this.clock.now()).toISOString();
  }

  // ---- facts ---------------------------------------------------------------------

  /** Logs, applies and settles one fact. Safe to repeat and to run concurrently with itself. */
  async consume(fact: Fact<unknown>): Promise<void> {
    try {
      await this.log.insert({ _id: fact.id, type: fact.type, version: fact.version, occurredAt: fact.occurredAt, data: fact.data, loggedAt: this.iso() });
    } catch (err) {
      // Logged before: apply again anyway (a crash may have come between the log and the rest).
      if (!(err instanceof DuplicateKeyError)) throw err;
    }
    const dirty = newDirty();
    await this.models.apply(fact, dirty);
    await this.settle(dirty);
  }

  /** Recounts what changed: the scores of users and drivers, and the analytics days. */
  async settle(dirty: Dirty): Promise<void> {
    await inBatches([...dirty.subjects].filter(isScored), 4, (key) => this.flights.run(key, () => this.scores.refresh(key)));
    await inBatches([...dirty.days], 4, (day) => this.flights.run(`day:${day}`, () => this.buckets.refresh(day)));
  }

  // ---- ratings -------------------------------------------------------------------

  async rate(user: AuthUser, bookingId: string, input: RatingInput, lookup?: BookingLookup) {
    const { rating, revealed } = await this.ratings.rate(user, bookingId, input, lookup);
    const dirty = newDirty();
    for (const r of [rating, ...revealed]) if (r.revealed) dirty.subjects.add(r.subject);
    // Revealed already (rated after the window, or this one completed the pair): counted from now on.
    await this.settle(dirty);
    const fact: RatingCreatedV1 = { ratingId: rating._id, bookingId, raterId: user.id, raterRole: rating.raterRole, target: rating.target, subjectType: rating.subjectType, subjectId: rating.subjectId, revealed: rating.revealed, createdAt: rating.createdAt };
    await this.effects.publish("rating.created", fact, `rating.created:${rating._id}`);
    return toRatingView(rating);
  }

  /** Shows the ratings whose reveal window ended, and recounts the scores they change. */
  async revealDue(): Promise<number> {
    const revealed = await this.ratings.revealDue();
    const dirty = newDirty();
    for (const r of revealed) dirty.subjects.add(r.subject);
    await this.settle(dirty);
    return revealed.length;
  }

  // ---- flags and overrides (admin, audited) ------------------------------------------

  async raiseFlag(admin: AuthUser, input: { subjectType: SubjectType; subjectId: string; reason: string }) {
    const flag = await this.flags.raise(input, admin.id);
    await this.effects.audit({ entityType: "flag", entityId: flag._id, action: "flag.raise", actor: actorOf(admin), before: null, after: toFlagView(flag), reason: flag.reason, at: flag.createdAt }, `audit:flag.raise:${flag._id}`);
    await this.afterFlag(flag);
    return toFlagView(flag);
  }

  async resolveFlag(admin: AuthUser, id: string, note?: string) {
    const { before, after } = await this.flags.resolve(id, admin.id, note);
    await this.effects.audit({ entityType: "flag", entityId: id, action: "flag.resolve", actor: actorOf(admin), before: toFlagView(before), after: toFlagView(after), ...(note && { reason: note }), at: after.resolvedAt }, `audit:flag.resolve:${id}`);
    await this.afterFlag(after);
    return toFlagView(after);
  }

  private async afterFlag(flag: FlagRecord) {
    if (isScored(flag.subject)) await this.settle({ subjects: new Set([flag.subject]), days: new Set() });
  }

  async setOverride(admin: AuthUser, subjectType: ScoredType, subjectId: string, score: number, reason: string) {
    const { before, after } = await this.flags.setOverride(subjectType, subjectId, score, reason, admin.id);
    const key = subjectKey(subjectType, subjectId);
    await this.effects.audit({ entityType: "trust", entityId: key, action: "trust.override", actor: actorOf(admin), before: before && { score: before.score, reason: before.reason }, after: { score, reason }, reason, at: after.setAt }, `audit:trust.override:${key}:${after.setAt}`);
    const { record } = await this.scores.refresh(key);
    await this.scores.announce(record, `trust.updated:${key}:override:${after.setAt}`);
    return this.scores.view(key, true);
  }

  async clearOverride(admin: AuthUser, subjectType: ScoredType, subjectId: string) {
    const before = await this.flags.clearOverride(subjectType, subjectId);
    const key = subjectKey(subjectType, subjectId);
    const at = this.iso();
    await this.effects.audit({ entityType: "trust", entityId: key, action: "trust.override.clear", actor: actorOf(admin), before: { score: before.score, reason: before.reason }, after: null, at }, `audit:trust.override.clear:${key}:${before.setAt}`);
    const { record } = await this.scores.refresh(key);
    await this.scores.announce(record, `trust.updated:${key}:override-cleared:${before.setAt}`);
  }

  // ---- recompute -----------------------------------------------------------------

  /**
   * Replays every logged fact into the read models, then recounts every known
   * subject and day. Returns what it had to change (nothing, when the
   * incremental path kept up).
   */
  async recompute(admin?: AuthUser) {
    const started = Date.now();
    let facts = 0;
    const ignore = newDirty();
    for await (const f of scan(this.log)) {
      await this.models.apply({ id: f._id, type: f.type, version: f.version, occurredAt: f.occurredAt, data: f.data }, ignore);
      facts++;
    }
    const subjects = [...(await this.knownSubjects())].sort();
    const days = [...(await this.knownDays())].sort();
    const changed = { subjects: [] as string[], days: [] as string[] };
    await inBatches(subjects, 8, async (key) => {
      if ((await this.scores.refresh(key)).changed) changed.subjects.push(key);
    });
    await inBatches(days, 8, async (day) => {
      if ((await this.buckets.refresh(day)).changed) changed.days.push(day);
    });
    const result = { facts, subjects: subjects.length, days: days.length, changed: { subjects: changed.subjects.sort(), days: changed.days.sort() }, tookMs: Date.now() - started };
    if (admin) {
      const at = this.iso();
      await this.effects.audit({ entityType: "trust", entityId: "all", action: "trust.recompute", actor: actorOf(admin), before: null, after: { facts, subjects: result.subjects, days: result.days, changedSubjects: changed.subjects.length, changedDays: changed.days.length }, at }, `audit:trust.recompute:${at}`);
    }
    return result;
  }

  /** Every user and driver the service knows anything about. */
  async knownSubjects(): Promise<Set<string>> {
    const keys = new Set<string>();
    const add = (k: string) => isScored(k) && keys.add(k);
    for await (const b of scan(this.models.bookings)) [...b.parties, ...b.blame].forEach(add);
    for await (const r of scan(this.models.reports)) r.parties.forEach(add);
    for await (const k of scan(this.models.kyc)) add(subjectKey("user", k._id));
    for await (const r of scan(this.ratings.records)) add(r.subject);
    for await (const f of scan(this.flags.records)) add(f.subject);
    for await (const o of scan(this.flags.overrides)) add(o._id);
    for await (const s of scan(this.scores.records)) add(s._id);
    return keys;
  }

  /** Every day that has (or had) analytics. */
  async knownDays(): Promise<Set<string>> {
    const days = new Set<string>();
    for await (const t of scan(this.models.transitions)) days.add(t.day);
    for await (const p of scan(this.models.payments)) [p.paidDay, p.refundedDay].forEach((d) => d && days.add(d));
    for await (const r of scan(this.models.reports)) days.add(r.day);
    for await (const e of scan(this.models.kycEvents)) days.add(e.day);
    for await (const b of scan(this.buckets.days)) days.add(b._id);
    return days;
  }

  // ---- analytics -----------------------------------------------------------------

  async analytics(q: { from?: string; to?: string; daily?: boolean }) {
    const period = periodDays(q.from, q.to, this.clock.now());
    const [stored, queue] = await Promise.all([
      this.buckets.days.find({ _id: { $gte: period.fromDay, $lte: period.toDay } }),
      this.models.kyc.count({ status: "submitted" }),
    ]);
    return analyticsReport(period, stored, queue, q.daily ?? false);
  }
}
