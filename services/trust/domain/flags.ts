/**
 * Admins' flags on users, drivers and vehicles, and their trust-score
 * overrides. An open flag on a user or driver lowers its score (the disputes
 * component); resolving it lifts that again. An override is shown beside the
 * computed score, never instead of it.
 */
import { badRequest, invalidState, notFound } from "../../../lib/errors";
import { newId } from "../../../lib/ids";
import type { Collection, Database, Filter } from "../../../lib/store";
import { subjectKey, type FlagRecord, type OverrideRecord, type ScoredType, type SubjectType } from "./model";

export interface FlagView {
  id: string;
  subjectType: SubjectType;
  subjectId: string;
  reason: string;
  status: FlagRecord["status"];
  createdBy: string;
  createdAt: string;
  resolvedBy?: string;
  resolvedAt?: string;
  note?: string;
}

export function toFlagView(f: FlagRecord): FlagView {
  return {
    id: f._id,
    subjectType: f.subjectType,
    subjectId: f.subjectId,
    reason: f.reason,
    status: f.status,
    createdBy: f.createdBy,
    createdAt: f.createdAt,
    ...(f.resolvedBy && { resolvedBy: f.resolvedBy }),
    ...(f.resolvedAt && { resolvedAt: f.resolvedAt }),
    ...(f.resolutionNote && { note: f.resolutionNote }),
  };
}

export class Flags {
  readonly records: Collection<FlagRecord>;
  readonly overrides: Collection<OverrideRecord>;

  constructor(db: Database, private readonly now: () => number) {
    this.records = db.collection<FlagRecord>("flags", [{ fields: { subject: 1, status: 1 } }, { fields: { status: 1 } }]);
    this.overrides = db.collection<OverrideRecord>("overrides");
  }

  private iso() {
    return new Date(this.now()).toISOString();
  }

  async raise(input: { subjectType: SubjectType; subjectId: string; reason: string }, by: string): Promise<FlagRecord> {
    const flag: FlagRecord = { _id: newId(), ...input, subject: subjectKey(input.subjectType, input.subjectId), status: "open", createdBy: by, createdAt: this.iso() };
    await this.records.insert(flag);
    return flag;
  }

  /** Newest first; the cursor is the last id seen (ids sort by creation time). */
  async list(q: { status?: FlagRecord["status"]; subjectType?: SubjectType; subjectId?: string; limit: number; cursor?: string }): Promise<{ items: FlagRecord[]; nextCursor: string | null }> {
    const filter: Filter = {};
    if (q.status) filter.status = q.status;
    if (q.subjectType) filter.subjectType = q.subjectType;
    if (q.subjectId) filter.subjectId = q.subjectId;
    if (q.cursor) filter._id = { $lt: q.cursor };
    const rows = await this.records.find(filter, { sort: { _id: -1 }, limit: q.limit + 1 });
    const items = rows.slice(0, q.limit);
    return { items, nextCursor: rows.length > q.limit ? items[items.length - 1]._id : null };
  }

  /** open -> resolved, once. */
  async resolve(id: string, by: string, note?: string): Promise<{ before: FlagRecord; after: FlagRecord }> {
    const before = await this.records.findById(id);
    if (!before) throw notFound("The flag");
    const after = await this.records.updateOne({ _id: id, status: "open" }, { $set: { status: "resolved", resolvedBy: by, resolvedAt: this.iso(), ...(note ? { resolutionNote: note } : {}) } });
    if (!after) throw invalidState("The flag is already resolved", { status: "resolved" });
    return { before, after };
  }

  async setOverride(subjectType: ScoredType, subjectId: string, score: number, reason: string, by: string): Promise<{ before: OverrideRecord | null; after: OverrideRecord }> {
    if (!Number.isInteger(score) || score < 0 || score > 100) throw badRequest("score must be an integer from 0 to 100");
    const key = subjectKey(subjectType, subjectId);
    const before = await this.overrides.findById(key);
    const fields = { subjectType, subjectId, score, reason, setBy: by, setAt: this.iso() };
    const after = await this.overrides.upsert({ _id: key }, { $set: fields }, { _id: key, ...fields });
    return { before, after };
  }

  async clearOverride(subjectType: ScoredType, subjectId: string): Promise<OverrideRecord> {
    const key = subjectKey(subjectType, subjectId);
    const before = await this.overrides.findById(key);
    if (!before || !(await this.overrides.deleteOne({ _id: key, setAt: before.setAt }))) throw notFound("An override of this trust score");
    return before;
  }
}
