/**
 * Read models fed by other services' facts. Every write is keyed and
 * order-insensitive, so the same fact applied twice, or facts applied in any
 * order (channels do not order facts of different types), give the same rows:
 * - a booking's status is its highest-ranked transition (STATUS_RANK), set by
 *   a conditional update on `rank`; each transition also gets its own row;
 * - "earliest" times (first paid, first reported) only move backwards;
 * - a KYC status is applied only when its version is newer.
 * `apply` notes which subjects (trust scores) and days (analytics buckets) the
 * fact may have changed; the caller recomputes those from these rows.
 */
import type {
  BookingFactV1, Fact, KycStatusChangedV1, PaymentDiscrepancyV1, PaymentFactV1, PaymentPaidV1, PaymentUnpaidReportedV1,
} from "../../../lib/events";
import { DuplicateKeyError } from "../../../lib/errors";
import type { Collection, Database, Doc } from "../../../lib/store";
import {
  dayOf, STATUS_RANK, subjectKey, TERMINAL,
  type BookingRow, type KycEventRow, type KycRow, type PaymentRow, type ReportOutcome, type ReportRow, type TransitionRow,
} from "./model";

export interface Dirty { subjects: Set<string>; days: Set<string> }
export const newDirty = (): Dirty => ({ subjects: new Set(), days: new Set() });

/** The fact types this service consumes. */
export const CONSUMED = [
  "booking.requested", "booking.accepted", "booking.declined", "booking.cancelled", "booking.expired",
  "booking.confirmed", "booking.started", "booking.completed",
  "payment.paid", "payment.unpaid_reported", "payment.discrepancy", "payment.refunded",
  "kyc.submitted", "kyc.approved", "kyc.rejected",
] as const;

const iso = (t: string) => new Date(t).toISOString();

async function insertIgnore<T extends Doc>(c: Collection<T>, doc: T): Promise<boolean> {
  try {
    await c.insert(doc);
    return true;
  } catch (err) {
    if (err instanceof DuplicateKeyError) return false;
    throw err;
  }
}

export class ReadModels {
  readonly bookings: Collection<BookingRow>;
  readonly transitions: Collection<TransitionRow>;
  readonly payments: Collection<PaymentRow>;
  readonly reports: Collection<ReportRow>;
  readonly kyc: Collection<KycRow>;
  readonly kycEvents: Collection<KycEventRow>;

  constructor(db: Database) {
    this.bookings = db.collection<BookingRow>("bookings", [{ fields: { parties: 1 } }, { fields: { blame: 1 } }, { fields: { vehicleId: 1 } }]);
    this.transitions = db.collection<TransitionRow>("transitions", [{ fields: { day: 1, status: 1 } }]);
    this.payments = db.collection<PaymentRow>("payments", [{ fields: { paidDay: 1 } }, { fields: { refundedDay: 1 } }]);
    this.reports = db.collection<ReportRow>("payment_reports", [{ fields: { parties: 1 } }, { fields: { day: 1 } }, { fields: { bookingId: 1 } }]);
    this.kyc = db.collection<KycRow>("kyc", [{ fields: { status: 1 } }]);
    this.kycEvents = db.collection<KycEventRow>("kyc_events", [{ fields: { userId: 1 } }, { fields: { day: 1 } }]);
  }

  async apply(fact: Fact<unknown>, dirty: Dirty): Promise<void> {
    const type = fact.type;
    if (type.startsWith("booking.")) return this.applyBooking(fact as Fact<BookingFactV1>, dirty);
    if (type.startsWith("kyc.")) return this.applyKyc(fact as Fact<KycStatusChangedV1>, dirty);
    switch (type) {
      case "payment.paid": return this.applyPaid(fact as Fact<PaymentPaidV1>, dirty);
      case "payment.discrepancy": return this.applyReport(fact as Fact<PaymentDiscrepancyV1>, "discrepancy", dirty);
      case "payment.unpaid_reported": return this.applyReport(fact as Fact<PaymentUnpaidReportedV1>, "unpaid", dirty);
      case "payment.refunded": return this.applyRefund(fact as Fact<PaymentFactV1>, dirty);
      default: return;
    }
  }

  // ---- bookings ----------------------------------------------------------------

  private async applyBooking(fact: Fact<BookingFactV1>, dirty: Dirty) {
    const d = fact.data;
    if (!d?.bookingId || !(d.status in STATUS_RANK)) return;
    const at = iso(d.at ?? fact.occurredAt);
    const rank = STATUS_RANK[d.status];
    await insertIgnore(this.transitions, { _id: `${d.bookingId}:${d.status}`, bookingId: d.bookingId, status: d.status, actorKind: d.actor?.kind ?? "system", actorId: d.actor?.id ?? null, at, day: dayOf(at) });
    dirty.days.add(dayOf(at));

    const parties = [subjectKey("user", d.renterId), subjectKey("user", d.ownerId), ...(d.driverId ? [subjectKey("driver", d.driverId)] : [])];
    const base = { vehicleId: d.vehicleId, renterId: d.renterId, ownerId: d.ownerId, start: iso(d.start), end: iso(d.end), price: { total: d.price.total, platformFee: d.price.platformFee, hostAmount: d.price.hostAmount, currency: d.price.currency } };
    const state = { status: d.status, rank, driverId: d.driverId ?? null, parties, blame: TERMINAL.includes(d.status) ? blameOf(d) : [], ...(d.status === "cancelled" ? { cancelledByKind: d.actor?.kind ?? "system" } : {}) };
    const stamp = { [`${d.status}At`]: at };

    const before = await this.bookings.findById(d.bookingId);
    let row: BookingRow | null = null;
    // Each step is conditional, so whatever another fact of this booking does in between, one of them holds:
    // a later status wins; an earlier or equal one only records its time; the first fact inserts.
    for (let attempt = 0; !row; attempt++) {
      if (attempt >= 10) throw new Error(`Booking ${d.bookingId} keeps changing`);
      row = await this.bookings.updateOne({ _id: d.bookingId, rank: { $lt: rank } }, { $set: { ...base, ...state, ...stamp } });
      row ??= await this.bookings.updateOne({ _id: d.bookingId, rank: { $gte: rank } }, { $set: stamp });
      if (!row && (await insertIgnore(this.bookings, { _id: d.bookingId, ...base, ...state, ...stamp } as BookingRow))) row = await this.bookings.findById(d.bookingId);
    }
    for (const key of [...parties, ...(before?.parties ?? []), ...(before?.blame ?? []), ...(row?.parties ?? []), ...(row?.blame ?? [])]) dirty.subjects.add(key);
    // Reports that arrived before the booking: their "on time" needs its start.
    if (!before) for (const r of await this.reports.find({ bookingId: d.bookingId })) dirty.days.add(r.day);
  }

  // ---- payments ----------------------------------------------------------------

  private async paymentRow(p: PaymentFactV1): Promise<PaymentRow> {
    const base = { bookingId: p.bookingId, renterId: p.renterId, ownerId: p.ownerId, driverId: p.driverId ?? null, currency: p.currency, amount: p.amount, platformFee: p.platformFee, hostAmount: p.hostAmount };
    return this.payments.upsert({ _id: p.paymentId }, { $set: base }, { _id: p.paymentId, ...base });
  }

  /** Moves `field` (and its day) to `at` unless it already holds an earlier time. */
  private async earliest<T extends Doc>(c: Collection<T>, id: string, field: string, dayField: string, at: string, also: Record<string, unknown>, dirty: Dirty, current?: string) {
    const moved = await c.updateOne({ _id: id, $or: [{ [field]: { $exists: false } }, { [field]: { $gt: at } }] }, { $set: { [field]: at, [dayField]: dayOf(at), ...also } });
    if (moved) {
      dirty.days.add(dayOf(at));
      if (current) dirty.days.add(dayOf(current));
    }
  }

  private async applyPaid(fact: Fact<PaymentPaidV1>, dirty: Dirty) {
    const p = fact.data;
    if (!p?.paymentId) return;
    const at = iso(fact.occurredAt);
    const row = await this.paymentRow(p);
    await this.earliest(this.payments, p.paymentId, "paidAt", "paidDay", at, { reportedAmount: p.reportedAmount ?? p.amount }, dirty, row.paidAt);
    // An admin override may carry the link of an earlier unpaid report: only the driver's own report counts.
    if (p.via === "driver_link" && p.linkId) await this.applyReport(fact, p.discrepancy ? "discrepancy" : "accurate", dirty);
  }

  private async applyRefund(fact: Fact<PaymentFactV1>, dirty: Dirty) {
    const p = fact.data;
    if (!p?.paymentId) return;
    const row = await this.paymentRow(p);
    await this.earliest(this.payments, p.paymentId, "refundedAt", "refundedDay", iso(fact.occurredAt), {}, dirty, row.refundedAt);
  }

  /** One report per (payment, link): payment.paid and payment.discrepancy of one report agree on its outcome. */
  private async applyReport(fact: Fact<PaymentFactV1>, outcome: ReportOutcome, dirty: Dirty) {
    const p = fact.data;
    if (!p?.paymentId || !p.linkId) return;
    const at = iso(fact.occurredAt);
    const id = `${p.paymentId}:${p.linkId}`;
    const parties = [subjectKey("user", p.renterId), ...(p.driverId ? [subjectKey("driver", p.driverId)] : [])];
    const fields = { paymentId: p.paymentId, bookingId: p.bookingId, renterId: p.renterId, ownerId: p.ownerId, driverId: p.driverId ?? null, parties, outcome, expectedAmount: p.amount, currency: p.currency, ...(outcome !== "unpaid" && p.reportedAmount !== undefined ? { reportedAmount: p.reportedAmount } : {}) };
    const row = await this.reports.upsert({ _id: id }, { $set: fields }, { _id: id, ...fields, at, day: dayOf(at) });
    await this.earliest(this.reports, id, "at", "day", at, {}, dirty, row.at);
    dirty.days.add(row.day);
    for (const key of parties) dirty.subjects.add(key);
  }

  // ---- KYC ---------------------------------------------------------------------

  private async applyKyc(fact: Fact<KycStatusChangedV1>, dirty: Dirty) {
    const k = fact.data;
    if (!k?.userId || typeof k.version !== "number") return;
    const at = iso(k.status === "submitted" ? k.submittedAt : k.decidedAt);
    await insertIgnore(this.kycEvents, { _id: `${k.userId}:${k.version}`, userId: k.userId, version: k.version, status: k.status, at, day: dayOf(at) });
    // Newer versions win. The insert loses only to a row written meanwhile, which the next round compares with.
    const set = { status: k.status, version: k.version, at };
    for (let attempt = 0; ; attempt++) {
      if (await this.kyc.updateOne({ _id: k.userId, version: { $lt: k.version } }, { $set: set })) break;
      const current = await this.kyc.findById(k.userId);
      if (current && current.version >= k.version) break; // this version or a newer one is there
      if (!current && (await insertIgnore(this.kyc, { _id: k.userId, ...set }))) break;
      if (attempt >= 10) throw new Error(`The KYC of ${k.userId} keeps changing`);
    }
    dirty.subjects.add(subjectKey("user", k.userId));
    dirty.days.add(dayOf(at));
    // A decision's review time is measured from the submission before it, which may arrive late.
    if (k.status === "submitted") {
      for (const e of await this.kycEvents.find({ userId: k.userId, version: { $gt: k.version } })) dirty.days.add(e.day);
    }
  }
}

/**
 * Whom a booking that ended without a trip counts against: a cancellation its
 * actor (renter or owner; not the system or an admin), a decline or an expiry
 * (unanswered request) the owner. When the owner or the system cancels a
 * confirmed (paid) booking that had a driver, the trip the driver was to make
 * did not happen: it counts against the driver too. Completed: nobody.
 */
export function blameOf(d: BookingFactV1): string[] {
  const renter = subjectKey("user", d.renterId);
  const owner = subjectKey("user", d.ownerId);
  const driver = d.driverId ? [subjectKey("driver", d.driverId)] : [];
  switch (d.status) {
    case "declined":
    case "expired":
      return [owner];
    case "cancelled": {
      const kind = d.actor?.kind;
      const driverToo = d.from === "confirmed" && (kind === "owner" || kind === "system") ? driver : [];
      if (kind === "renter") return [renter];
      if (kind === "owner") return [owner, ...driverToo];
      return driverToo;
    }
    default:
      return [];
  }
}
