/** Sums the daily buckets of a period into the admin analytics answer (API.md "Admin"). */
import { badRequest, validationError } from "../../../lib/errors";
import type { BookingStatusV1 } from "../../../lib/events";
import { dayData, emptyDay, type DayBucket, type DayData, type MoneyTotals } from "./buckets";

export const MAX_DAYS = 366;
const DAY_MS = 86_400_000;
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * The days of [from, to]: `from` is a date (YYYY-MM-DD, UTC) or a time (its UTC
 * day); `to` a date (included) or a time (exclusive: its day unless it is
 * midnight). Default: the 30 days up to today.
 */
export function periodDays(from: string | undefined, to: string | undefined, now: number): { fromDay: string; toDay: string; days: string[] } {
  const parse = (field: "from" | "to", v: string, end: boolean): string => {
    if (DATE_ONLY.test(v) && !Number.isNaN(Date.parse(`${v}T00:00:00Z`))) return v;
    if (!WITH_OFFSET.test(v) || Number.isNaN(Date.parse(v))) throw validationError([{ field, message: "must be a date (YYYY-MM-DD) or an ISO 8601 time with an offset" }]);
    return new Date(Date.parse(v) - (end ? 1 : 0)).toISOString().slice(0, 10);
  };
  const toDay = to ? parse("to", to, true) : new Date(now).toISOString().slice(0, 10);
  const fromDay = from ? parse("from", from, false) : new Date(Date.parse(`${toDay}T00:00:00Z`) - 29 * DAY_MS).toISOString().slice(0, 10);
  if (fromDay > toDay) throw badRequest("from must not be after to", { from: fromDay, to: toDay });
  const days: string[] = [];
  for (let t = Date.parse(`${fromDay}T00:00:00Z`); t <= Date.parse(`${toDay}T00:00:00Z`); t += DAY_MS) {
    days.push(new Date(t).toISOString().slice(0, 10));
    if (days.length > MAX_DAYS) throw badRequest(`A period is at most ${MAX_DAYS} days`, { from: fromDay, to: toDay });
  }
  return { fromDay, toDay, days };
}

const rate = (n: number, d: number) => (d ? Math.round((n / d) * 10_000) / 10_000 : null);
const hours = (ms: number) => Math.round((ms / 3_600_000) * 100) / 100;

export function sumDays(buckets: DayData[]): DayData {
  const out = emptyDay();
  const money = new Map<string, MoneyTotals>();
  for (const b of buckets) {
    for (const [s, n] of Object.entries(b.bookings)) out.bookings[s as BookingStatusV1] += n;
    for (const [k, n] of Object.entries(b.cancelledBy)) out.cancelledBy[k] = (out.cancelledBy[k] ?? 0) + n;
    for (const m of b.money) {
      const t = money.get(m.currency) ?? { currency: m.currency, payments: 0, gross: 0, reported: 0, platformFee: 0, hostAmount: 0, refunds: 0, refunded: 0 };
      for (const k of ["payments", "gross", "reported", "platformFee", "hostAmount", "refunds", "refunded"] as const) t[k] += m[k];
      money.set(m.currency, t);
    }
    for (const k of Object.keys(out.reports) as (keyof DayData["reports"])[]) out.reports[k] += b.reports[k];
    for (const k of ["submitted", "approved", "rejected", "reviewed", "reviewMsTotal"] as const) out.kyc[k] += b.kyc[k];
    out.kyc.reviewMsMax = Math.max(out.kyc.reviewMsMax, b.kyc.reviewMsMax);
  }
  out.money = [...money.values()].sort((x, y) => x.currency.localeCompare(y.currency));
  return out;
}

export function analyticsReport(period: { fromDay: string; toDay: string; days: string[] }, stored: DayBucket[], kycQueue: number, withDaily: boolean) {
  const byDay = new Map(stored.map((b) => [b._id, b]));
  const days = period.days.map((d) => ({ day: d, ...dayData(byDay.get(d) ?? emptyDay()) }));
  const t = sumDays(days);
  const ended = t.bookings.completed + t.bookings.cancelled + t.bookings.declined + t.bookings.expired;
  const r = t.reports;
  return {
    from: period.fromDay,
    to: period.toDay,
    days: period.days.length,
    bookings: {
      byStatus: t.bookings,
      cancelledBy: t.cancelledBy,
      ended,
      completionRate: rate(t.bookings.completed, ended),
      cancelRate: rate(t.bookings.cancelled, ended),
    },
    revenue: t.money.map((m) => ({ currency: m.currency, payments: m.payments, gross: m.gross, reported: m.reported, platformFee: m.platformFee, hostAmount: m.hostAmount, refunds: m.refunds, refunded: m.refunded })),
    driverReliability: { reports: r.total, timed: r.timed, onTime: r.onTime, onTimeRate: rate(r.onTime, r.timed), accurate: r.accurate, accuracyRate: rate(r.accurate, r.total) },
    paymentAccuracy: { reports: r.total, accurate: r.accurate, discrepancies: r.discrepancy, unpaid: r.unpaid, rate: rate(r.accurate, r.total) },
    kyc: {
      queue: kycQueue,
      submitted: t.kyc.submitted,
      approved: t.kyc.approved,
      rejected: t.kyc.rejected,
      reviewed: t.kyc.reviewed,
      averageReviewHours: t.kyc.reviewed ? hours(t.kyc.reviewMsTotal / t.kyc.reviewed) : null,
      maxReviewHours: t.kyc.reviewed ? hours(t.kyc.reviewMsMax) : null,
    },
    ...(withDaily ? { daily: days } : {}),
  };
}

export type AnalyticsReport = ReturnType<typeof analyticsReport>;
