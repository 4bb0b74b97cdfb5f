/**
 * Payment use cases. Every change is one conditional update on the record's
 * `version`, then (idempotently, so a retried call repairs a crash in between)
 * its audit entry, its facts (deterministic ids: consumers drop repeats) and
 * its notifications (deterministic keys).
 */
import type { AuditEntryV1 } from "../../../lib/audit";
import type { AuthUser } from "../../../lib/auth-types";
import type { CreatePaymentCommand, DriverReportCommand } from "../../../lib/contracts";
import { conflict, DuplicateKeyError, forbidden, invalidState, notFound } from "../../../lib/errors";
import type { FactType } from "../../../lib/events";
import { factNotificationKey } from "../../../lib/events";
import { newId } from "../../../lib/ids";
import type { Collection, Database, Filter } from "../../../lib/store";
import type { AuditLog } from "./audit-log";
import { auditSnapshot, factOf, toView, type PaymentApiView, type PaymentRecord, type PaymentStatus } from "./model";

export interface Effects {
  publish(type: FactType, data: unknown, id: string): Promise<void>;
  /** notifications.send, best effort: the fact that follows reaches the notifications service durably, with the same key. */
  notify(message: { key: string; channel: "in_app" | "push"; kind: string; userId: string; template: string; params: Record<string, string | number>; data?: Record<string, string> }): Promise<void>;
}

type Actor = AuditEntryV1["actor"];
const SYSTEM: Actor = { id: "bookings", kind: "system" };

export interface Page<T> { items: T[]; nextCursor: string | null }

export interface SettlementTotals { currency: string; count: number; gross: number; platformFee: number; hostAmount: number; reportedGross: number; discrepancies: number }
export interface Settlement { ownerId: string; from: string; to: string; totals: SettlementTotals[]; items: PaymentApiView[]; truncated: boolean }

const REPORTABLE: PaymentStatus[] = ["pending", "unpaid_reported"];
const VOIDABLE: PaymentStatus[] = ["pending", "unpaid_reported", "failed"];
const SETTLEMENT_ITEMS = 500;

export class Payments {
  readonly records: Collection<PaymentRecord>;

  constructor(db: Database, private readonly audit: AuditLog, private readonly effects: Effects) {
    this.records = db.collection<PaymentRecord>("payments", [
      { fields: { bookingId: 1 }, unique: true },
      { fields: { ownerId: 1, status: 1, paidAt: 1 } },
      { fields: { renterId: 1 } },
    ]);
  }

  async require(id: string): Promise<PaymentRecord> {
    const p = await this.records.findById(id);
    if (!p) throw notFound("The payment");
    return p;
  }

  /** Idempotent by bookingId: the unique index lets exactly one record in. */
  async createForBooking(cmd: CreatePaymentCommand): Promise<PaymentRecord> {
    const now = new Date().toISOString();
    let p: PaymentRecord | null = await this.records.findOne({ bookingId: cmd.bookingId });
    if (!p) {
      const fresh: PaymentRecord = {
        _id: newId(),
        bookingId: cmd.bookingId,
        renterId: cmd.renterId,
        ownerId: cmd.ownerId,
        driverId: cmd.driverId ?? null,
        amount: cmd.amount,
        platformFee: cmd.platformFee,
        hostAmount: cmd.hostAmount,
        currency: cmd.currency,
        status: "pending",
        source: cmd.source,
        discrepancy: false,
        version: 1,
        createdAt: now,
        updatedAt: now,
      };
      try {
        p = await this.records.insert(fresh);
      } catch (err) {
        if (!(err instanceof DuplicateKeyError)) throw err;
        p = await this.records.findOne({ bookingId: cmd.bookingId });
        if (!p) throw err;
      }
    }
    // Repeated on every call: a crash after the insert is repaired by the saga's retry.
    await this.audit.append({ key: `payment:${p._id}:created`, entityType: "payment", entityId: p._id, action: "payment.create", actor: SYSTEM, before: null, after: auditSnapshot(p), at: p.createdAt });
    await this.effects.publish("payment.created", factOf(p), `payment.created:${p._id}`);
    return p;
  }

  /** Compensation: pending (or reported unpaid, or failed) -> voided. Paid ones stay as they are. */
  async voidForBooking(bookingId: string, reason: string): Promise<PaymentRecord | null> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const p = await this.records.findOne({ bookingId });
      if (!p) return null;
      if (p.status === "voided") {
        await this.auditVoid(p, null, reason);
        return p;
      }
      if (!VOIDABLE.includes(p.status)) return p;
      const now = new Date().toISOString();
      const after = await this.records.updateOne({ _id: p._id, version: p.version }, { $set: { status: "voided", voidReason: reason, updatedAt: now }, $inc: { version: 1 } });
      if (!after) continue; // changed meanwhile: look again
      await this.auditVoid(after, p, reason);
      return after;
    }
    throw conflict("The payment keeps changing; try again");
  }

  private async auditVoid(after: PaymentRecord, before: PaymentRecord | null, reason: string) {
    if (!before) {
      // A repeat: the entry exists unless a crash lost it; the key makes this a no-op otherwise.
      const known = await this.audit.entries.findOne({ key: `payment:${after._id}:void` });
      if (known) return;
    }
    await this.audit.append({ key: `payment:${after._id}:void`, entityType: "payment", entityId: after._id, action: "payment.void", actor: SYSTEM, before: before ? auditSnapshot(before) : null, after: auditSnapshot(after), reason });
  }

  /**
   * The driver's report through a link. Idempotent by linkId: the same link
   * reporting again gets the payment as its first report left it.
   */
  async recordDriverReport(cmd: DriverReportCommand): Promise<PaymentRecord> {
    const paidAt = new Date(cmd.paidAt).toISOString();
    for (let attempt = 0; attempt < 5; attempt++) {
      const p = await this.require(cmd.paymentId);
      if (p.reportLinkId === cmd.linkId) {
        await this.afterReport(null, p, cmd);
        return p;
      }
      if (!REPORTABLE.includes(p.status)) throw invalidState(`The payment is already ${p.status}`, { status: p.status });
      const now = new Date().toISOString();
      const set: Partial<PaymentRecord> = cmd.paid
        ? { status: "paid", method: cmd.method, paidAt, reportedAmount: cmd.amount, discrepancy: cmd.amount !== p.amount }
        : { status: "unpaid_reported", discrepancy: false };
      const after = await this.records.updateOne(
        { _id: p._id, version: p.version },
        { $set: { ...set, reportLinkId: cmd.linkId, reportedAt: now, updatedAt: now, ...(cmd.note ? { note: cmd.note } : {}) }, $inc: { version: 1 } },
      );
      if (!after) continue;
      await this.afterReport(p, after, cmd);
      return after;
    }
    throw conflict("The payment keeps changing; try again");
  }

  private async afterReport(before: PaymentRecord | null, p: PaymentRecord, cmd: DriverReportCommand) {
    const linkId = cmd.linkId;
    const actor: Actor = { id: p.driverId ?? `link:${linkId}`, kind: "driver" };
    const auditKey = `payment:${p._id}:report:${linkId}`;
    if (before || !(await this.audit.entries.findOne({ key: auditKey }))) {
      await this.audit.append({ key: auditKey, entityType: "payment", entityId: p._id, action: p.status === "paid" ? "payment.driver_paid" : "payment.driver_unpaid", actor, before: auditSnapshot(before), after: auditSnapshot(p), ...(cmd.note && { reason: cmd.note }) });
    }
    const fact = factOf(p);
    if (p.status === "paid") {
      if (p.discrepancy) {
        const reported = p.reportedAmount ?? 0;
        await this.effects.publish("payment.discrepancy", { ...fact, expectedAmount: p.amount, reportedAmount: reported, difference: reported - p.amount }, `payment.discrepancy:${p._id}:${linkId}`);
      }
      await this.effects.publish("payment.paid", { ...fact, via: "driver_link" }, `payment.paid:${p._id}:${linkId}`);
    } else if (p.status === "unpaid_reported") {
      const factId = `payment.unpaid_reported:${p._id}:${linkId}`;
      // Tell the owner directly (same key as the notifications service's fact consumer: delivered once).
      await this.effects.notify({
        key: factNotificationKey(factId, p.ownerId, "in_app"),
        channel: "in_app",
        kind: "payment.unpaid_reported",
        userId: p.ownerId,
        template: "payment_unpaid_reported",
        params: { amount: p.amount, currency: p.currency, bookingId: p.bookingId },
        data: { bookingId: p.bookingId, paymentId: p._id },
      });
      await this.effects.publish("payment.unpaid_reported", { ...fact, linkId, ...(cmd.note && { note: cmd.note }) }, factId);
    }
  }

  /** Admin override: any status, a reason, audited with before and after. */
  async override(id: string, status: PaymentStatus, reason: string, admin: AuthUser): Promise<PaymentRecord> {
    const p = await this.require(id);
    if (p.status === status) throw invalidState(`The payment is already ${status}`, { status });
    const now = new Date().toISOString();
    const set: Partial<PaymentRecord> = { status, overrideReason: reason, updatedAt: now };
    if (status === "paid" && !p.paidAt) set.paidAt = now;
    const after = await this.records.updateOne({ _id: id, version: p.version }, { $set: set, $inc: { version: 1 } });
    if (!after) throw conflict("The payment changed meanwhile; reload it and try again");
    await this.audit.append({
      key: `payment:${id}:override:${after.version}`,
      entityType: "payment",
      entityId: id,
      action: "payment.override",
      actor: { id: admin.id, roles: admin.roles, kind: "admin" },
      before: auditSnapshot(p),
      after: auditSnapshot(after),
      reason,
    });
    const fact = factOf(after);
    if (status === "paid") await this.effects.publish("payment.paid", { ...fact, via: "admin" }, `payment.paid:${id}:override:${after.version}`);
    if (status === "refunded") await this.effects.publish("payment.refunded", { ...fact, reason }, `payment.refunded:${id}:override:${after.version}`);
    return after;
  }

  /** A payment its parties (renter, owner, driver) and admins may see. */
  async getFor(user: AuthUser, id: string): Promise<PaymentRecord> {
    const p = await this.require(id);
    if (!isParty(user, p)) throw forbidden("Only the parties of this payment may see it");
    return p;
  }

  async listFor(user: AuthUser, q: { bookingId?: string; status?: string; limit: number; cursor?: string }): Promise<Page<PaymentRecord>> {
    if (q.bookingId) {
      const p = await this.records.findOne({ bookingId: q.bookingId });
      if (p && !isParty(user, p)) throw forbidden("Only the parties of this booking may see its payment");
      return { items: p && (!q.status || p.status === q.status) ? [p] : [], nextCursor: null };
    }
    const filter: Filter = { $or: [{ renterId: user.id }, { ownerId: user.id }] };
    if (q.status) filter.status = q.status;
    return this.page(filter, q.limit, q.cursor);
  }

  async listAll(q: { bookingId?: string; status?: string; ownerId?: string; renterId?: string; limit: number; cursor?: string }): Promise<Page<PaymentRecord>> {
    const filter: Filter = {};
    for (const k of ["bookingId", "status", "ownerId", "renterId"] as const) if (q[k]) filter[k] = q[k];
    return this.page(filter, q.limit, q.cursor);
  }

  /** Newest first; the cursor is the last id seen (ids sort by creation time). */
  private async page(filter: Filter, limit: number, cursor?: string): Promise<Page<PaymentRecord>> {
    const q = cursor ? { $and: [filter, { _id: { $lt: cursor } }] } : filter;
    const rows = await this.records.find(q, { sort: { _id: -1 }, limit: limit + 1 });
    const items = rows.slice(0, limit);
    return { items, nextCursor: rows.length > limit ? items[items.length - 1]._id : null };
  }

  /**
   * What the platform owes an owner for payments marked paid in [from, to):
   * per currency, the booking totals (gross), the platform's fee and the
   * owner's share, as agreed at booking time. A reported amount that differs is
   * shown (reportedGross, discrepancies) but does not change the split.
   */
  async settlement(ownerId: string, from: string, to: string): Promise<Settlement> {
    const totals = new Map<string, SettlementTotals>();
    const items: PaymentApiView[] = [];
    let truncated = false;
    let after = "";
    for (;;) {
      const rows = await this.records.find({ ownerId, status: "paid", paidAt: { $gte: from, $lt: to }, _id: { $gt: after } }, { sort: { _id: 1 }, limit: 1000 });
      for (const p of rows) {
        const t = totals.get(p.currency) ?? { currency: p.currency, count: 0, gross: 0, platformFee: 0, hostAmount: 0, reportedGross: 0, discrepancies: 0 };
        t.count++;
        t.gross += p.amount;
        t.platformFee += p.platformFee;
        t.hostAmount += p.hostAmount;
        t.reportedGross += p.reportedAmount ?? p.amount;
        if (p.discrepancy) t.discrepancies++;
        totals.set(p.currency, t);
        if (items.length < SETTLEMENT_ITEMS) items.push(toView(p));
        else truncated = true;
      }
      if (rows.length < 1000) break;
      after = rows[rows.length - 1]._id;
    }
    items.sort((a, b) => (a.paidAt ?? "").localeCompare(b.paidAt ?? ""));
    return { ownerId, from, to, totals: [...totals.values()].sort((a, b) => a.currency.localeCompare(b.currency)), items, truncated };
  }
}

export function isParty(user: AuthUser, p: PaymentRecord): boolean {
  return user.roles.includes("admin") || user.id === p.renterId || user.id === p.ownerId || (p.driverId !== null && user.id === p.driverId);
}
