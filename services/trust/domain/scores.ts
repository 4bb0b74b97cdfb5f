/**
 * Trust scores of users and drivers: counted from the read models, ratings and
 * flags (./formula.ts turns the counts into the score), stored per subject,
 * and announced with a `trust.updated` fact when the score changes.
 *
 * A refresh is optimistic: it reads the stored record's version before it
 * counts, and writes conditionally on that version, so a refresh that counted
 * older rows can never overwrite one that counted newer rows (it loses, and
 * counts again). Refreshing twice changes nothing: the counts are the same.
 */
import { DuplicateKeyError } from "../../../lib/errors";
import type { FactType, TrustUpdatedV1 } from "../../../lib/events";
import type { Collection, Database } from "../../../lib/store";
import { computeScore, type ScoreInputs } from "./formula";
import { backoff } from "./single-flight";
import { parseSubject, type Components, type FlagRecord, type OverrideRecord, type RatingRecord, type ScoredType, type ScoreRecord } from "./model";
import type { ReadModels } from "./read-models";

export type Publish = (type: FactType, data: unknown, id: string) => Promise<void>;

export interface TrustView {
  subjectType: ScoredType;
  subjectId: string;
  score: number;
  /** The override when an admin set one, else `score`. */
  effectiveScore: number;
  components: Components;
  override?: { score: number; setAt: string; reason?: string; setBy?: string };
  updatedAt: string | null;
}

/** JSON with sorted keys: stores may hand back an object's keys in another order. */
export function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v && typeof v === "object") return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(",")}}`;
  return JSON.stringify(v);
}

export class Scores {
  readonly records: Collection<ScoreRecord>;

  constructor(
    db: Database,
    private readonly models: ReadModels,
    private readonly ratings: Collection<RatingRecord>,
    private readonly flags: Collection<FlagRecord>,
    private readonly overrides: Collection<OverrideRecord>,
    private readonly publish: Publish,
    private readonly now: () => number,
  ) {
    this.records = db.collection<ScoreRecord>("scores");
  }

  /** The counts a subject's score is made of. */
  async inputs(key: string): Promise<ScoreInputs> {
    const { type, id } = parseSubject(key);
    const m = this.models;
    const [kyc, completed, failed, reports, accurate, discrepancies, unpaid, openFlags, resolvedFlags, ratings] = await Promise.all([
      type === "user" ? m.kyc.findById(id) : Promise.resolve(null),
      m.bookings.count({ parties: key, status: "completed" }),
      m.bookings.count({ blame: key }),
      m.reports.count({ parties: key }),
      m.reports.count({ parties: key, outcome: "accurate" }),
      m.reports.count({ parties: key, outcome: "discrepancy" }),
      m.reports.count({ parties: key, outcome: "unpaid" }),
      this.flags.count({ subject: key, status: "open" }),
      this.flags.count({ subject: key, status: "resolved" }),
      this.ratings.find({ subject: key, revealed: true }),
    ]);
    return {
      subjectType: type as ScoredType,
      kycStatus: type === "user" ? kyc?.status ?? "none" : null,
      completed, failed, reports, accurate, discrepancies, unpaid, openFlags, resolvedFlags,
      ratingCount: ratings.length,
      ratingSum: ratings.reduce((s, r) => s + r.score, 0),
    };
  }

  async compute(key: string) {
    return computeScore(await this.inputs(key));
  }

  /** Recounts a subject and stores the result when it differs; announces a changed score. */
  async refresh(key: string): Promise<{ changed: boolean; record: ScoreRecord }> {
    const { type, id } = parseSubject(key);
    for (let attempt = 0; attempt < 20; attempt++) {
      if (attempt) await backoff(attempt);
      const stored = await this.records.findById(key);
      const { score, components } = await this.compute(key);
      if (stored && stored.score === score && canonical(stored.components) === canonical(components)) {
        await this.announce(stored);
        return { changed: false, record: stored };
      }
      const updatedAt = new Date(this.now()).toISOString();
      let record: ScoreRecord | null;
      if (!stored) {
        record = { _id: key, subjectType: type as ScoredType, subjectId: id, score, components, previousScore: null, version: 1, publishedScore: null, publishedVersion: 0, updatedAt };
        try {
          await this.records.insert(record);
        } catch (err) {
          if (err instanceof DuplicateKeyError) continue;
          throw err;
        }
      } else {
        record = await this.records.updateOne({ _id: key, version: stored.version }, { $set: { score, components, previousScore: stored.score, updatedAt }, $inc: { version: 1 } });
        if (!record) continue;
      }
      await this.announce(record);
      return { changed: true, record };
    }
    throw new Error(`The trust score of ${key} keeps changing`);
  }

  /**
   * Publishes trust.updated for a stored score not announced yet (the fact id
   * is derived from the version: a repeat after a crash is dropped by consumers).
   * With `factId` (an override set or cleared), publishes unconditionally under that id.
   */
  async announce(record: ScoreRecord, factId?: string): Promise<void> {
    if (!factId && record.publishedScore === record.score) return;
    const override = await this.overrides.findById(record._id);
    const c = record.components;
    const data: TrustUpdatedV1 = {
      subjectType: record.subjectType,
      subjectId: record.subjectId,
      score: record.score,
      previousScore: record.publishedScore ?? record.previousScore,
      override: override?.score ?? null,
      effectiveScore: override?.score ?? record.score,
      components: { kyc: c.kyc.weight ? c.kyc.value : null, completionRate: c.completionRate.value, paymentAccuracy: c.paymentAccuracy.value, disputes: c.disputes.value, ratings: c.ratings.value },
      at: record.updatedAt,
    };
    await this.publish("trust.updated", data, factId ?? `trust.updated:${record._id}:${record.version}`);
    if (!factId) await this.records.updateOne({ _id: record._id, version: record.version }, { $set: { publishedScore: record.score, publishedVersion: record.version } });
  }

  /** What GET /v1/users/:id/trust answers: the stored score (or, for a subject never seen, the one its counts give now). */
  async view(key: string, admin: boolean): Promise<TrustView> {
    const { type, id } = parseSubject(key);
    const [stored, override] = await Promise.all([this.records.findById(key), this.overrides.findById(key)]);
    const { score, components } = stored ?? (await this.compute(key));
    return {
      subjectType: type as ScoredType,
      subjectId: id,
      score,
      effectiveScore: override?.score ?? score,
      components,
      ...(override && { override: { score: override.score, setAt: override.setAt, ...(admin && { reason: override.reason, setBy: override.setBy }) } }),
      updatedAt: stored?.updatedAt ?? null,
    };
  }
}
