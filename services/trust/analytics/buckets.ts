/**
 * Analytics: one bucket per UTC day (`_id` = YYYY-MM-DD), recomputed from the
 * read models whenever a fact touches that day, so a `from`/`to` query reads
 * at most a year of small documents and never another service's data.
 *
 * What a day holds (docs/trust.md "Analytics"):
 * - bookings: transitions into each status that happened that day;
 * - revenue: payments first reported paid that day (expected amount, amount
 *   the driver reported, platform fee, host share), per currency; refunds;
 * - reports: driver payment reports made that day, their accuracy, and
 *   whether each came before the trip's start (on time);
 * - kyc: submissions and decisions that day, and the review time of each
 *   approval (from the submission before it).
 */
import { DuplicateKeyError } from "../../../lib/errors";
import type { BookingStatusV1 } from "../../../lib/events";
import type { Collection, Database } from "../../../lib/store";
import type { ReadModels } from "../domain/read-models";
import { backoff } from "../domain/single-flight";

export interface MoneyTotals { currency: string; payments: number; gross: number; reported: number; platformFee: number; hostAmount: number; refunds: number; refunded: number }
export interface ReportTotals { total: number; accurate: number; discrepancy: number; unpaid: number; timed: number; onTime: number }
export interface KycTotals { submitted: number; approved: number; rejected: number; reviewed: number; reviewMsTotal: number; reviewMsMax: number }

export interface DayData {
  bookings: Record<BookingStatusV1, number>;
  cancelledBy: Record<string, number>;
  money: MoneyTotals[];
  reports: ReportTotals;
  kyc: KycTotals;
}

export interface DayBucket extends DayData { _id: string; version: number; updatedAt: string }

const STATUSES: BookingStatusV1[] = ["requested", "accepted", "confirmed", "active", "completed", "declined", "cancelled", "expired"];

export function emptyDay(): DayData {
  return {
    bookings: Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<BookingStatusV1, number>,
    cancelledBy: {},
    money: [],
    reports: { total: 0, accurate: 0, discrepancy: 0, unpaid: 0, timed: 0, onTime: 0 },
    kyc: { submitted: 0, approved: 0, rejected: 0, reviewed: 0, reviewMsTotal: 0, reviewMsMax: 0 },
  };
}

export const sameDay = (a: DayData, b: DayData) => JSON.stringify(dayData(a)) === JSON.stringify(dayData(b));

/** The data of a stored bucket, in a fixed key order (for comparison). */
export function dayData(b: DayData): DayData {
  return {
    bookings: b.bookings,
    cancelledBy: Object.fromEntries(Object.entries(b.cancelledBy).sort(([x], [y]) => x.localeCompare(y))),
    money: [...b.money].sort((x, y) => x.currency.localeCompare(y.currency)),
    reports: b.reports,
    kyc: b.kyc,
  };
}

export class Buckets {
  readonly days: Collection<DayBucket>;

  constructor(db: Database, private readonly models: ReadModels, private readonly now: () => number) {
    this.days = db.collection<DayBucket>("analytics_days");
  }

  /** Computes one day from the read models. */
  async compute(day: string): Promise<DayData> {
    const m = this.models;
    const out = emptyDay();
    await Promise.all(STATUSES.map(async (s) => void (out.bookings[s] = await m.transitions.count({ day, status: s }))));
    for (const t of await m.transitions.find({ day, status: "cancelled" })) out.cancelledBy[t.actorKind] = (out.cancelledBy[t.actorKind] ?? 0) + 1;

    const money = new Map<string, MoneyTotals>();
    const totals = (currency: string) => {
      let t = money.get(currency);
      if (!t) money.set(currency, (t = { currency, payments: 0, gross: 0, reported: 0, platformFee: 0, hostAmount: 0, refunds: 0, refunded: 0 }));
      return t;
    };
    for (const p of await m.payments.find({ paidDay: day })) {
      const t = totals(p.currency);
      t.payments++;
      t.gross += p.amount;
      t.reported += p.reportedAmount ?? p.amount;
      t.platformFee += p.platformFee;
      t.hostAmount += p.hostAmount;
    }
    for (const p of await m.payments.find({ refundedDay: day })) {
      const t = totals(p.currency);
      t.refunds++;
      t.refunded += p.amount;
    }
    out.money = [...money.values()].sort((x, y) => x.currency.localeCompare(y.currency));

    const reports = await m.reports.find({ day });
    const ids = [...new Set(reports.map((r) => r.bookingId))];
    const starts = new Map((ids.length ? await m.bookings.find({ _id: { $in: ids } }) : []).map((b) => [b._id, b.start]));
    for (const r of reports) {
      out.reports.total++;
      out.reports[r.outcome]++;
      const start = starts.get(r.bookingId);
      if (start) {
        out.reports.timed++;
        if (r.at <= start) out.reports.onTime++;
      }
    }

    for (const e of await m.kycEvents.find({ day })) {
      if (e.status === "submitted") out.kyc.submitted++;
      else if (e.status === "rejected") out.kyc.rejected++;
      else if (e.status === "approved") {
        out.kyc.approved++;
        const [submission] = await m.kycEvents.find({ userId: e.userId, status: "submitted", version: { $lt: e.version } }, { sort: { version: -1 }, limit: 1 });
        if (submission) {
          const ms = Math.max(0, Date.parse(e.at) - Date.parse(submission.at));
          out.kyc.reviewed++;
          out.kyc.reviewMsTotal += ms;
          out.kyc.reviewMsMax = Math.max(out.kyc.reviewMsMax, ms);
        }
      }
    }
    return out;
  }

  /**
   * Recomputes and stores a day. Optimistic: the bucket's version is read
   * before the read models, and the write is conditional on it, so a slower
   * computation from older rows never overwrites a newer one.
   */
  async refresh(day: string): Promise<{ changed: boolean }> {
    for (let attempt = 0; attempt < 20; attempt++) {
      if (attempt) await backoff(attempt);
      const stored = await this.days.findById(day);
      const data = await this.compute(day);
      if (stored ? sameDay(stored, data) : sameDay(emptyDay(), data)) return { changed: false };
      const updatedAt = new Date(this.now()).toISOString();
      if (!stored) {
        try {
          await this.days.insert({ _id: day, ...data, version: 1, updatedAt });
          return { changed: true };
        } catch (err) {
          if (err instanceof DuplicateKeyError) continue; // someone else wrote it first: compare again
          throw err;
        }
      }
      if (await this.days.updateOne({ _id: day, version: stored.version }, { $set: { ...data, updatedAt }, $inc: { version: 1 } })) return { changed: true };
    }
    throw new Error(`The analytics of ${day} keep changing`);
  }
}
