/** The payments service's stored record and the views it answers with. */
import type { PaymentView } from "../../../lib/contracts";
import type { PaymentFactV1 } from "../../../lib/events";

export type PaymentStatus = PaymentView["status"];
export const PAYMENT_STATUSES = ["pending", "paid", "unpaid_reported", "failed", "refunded", "voided"] as const satisfies readonly PaymentStatus[];
export const PAYMENT_METHODS = ["cash", "bank_transfer", "card", "mobile", "other"] as const;

/** The payment as its facts carry it (lib/events.ts), plus what only the service keeps. */
export interface PaymentRecord extends Omit<PaymentFactV1, "paymentId" | "linkId"> {
  _id: string;
  /** Unique: one payment per booking (the index makes createForBooking idempotent). */
  bookingId: string;
  note?: string;
  /** The driver link whose report set the current status (idempotency of recordDriverReport). */
  reportLinkId?: string;
  reportedAt?: string;
  voidReason?: string;
  overrideReason?: string;
  /** Bumped on every change: the condition of every update. */
  version: number;
  createdAt: string;
  updatedAt: string;
}

/** The API's payment (API.md "Payments"), with the parties it belongs to. */
export type PaymentApiView = PaymentView & { renterId: string; ownerId: string; driverId: string | null; note?: string };

/** What the API's view and every payment fact both say about a payment, in that order. */
function sharedFields(p: PaymentRecord) {
  return {
    bookingId: p.bookingId,
    renterId: p.renterId,
    ownerId: p.ownerId,
    driverId: p.driverId,
    amount: p.amount,
    platformFee: p.platformFee,
    hostAmount: p.hostAmount,
    currency: p.currency,
    status: p.status,
    source: p.source,
    ...(p.method !== undefined && { method: p.method }),
    ...(p.reportedAmount !== undefined && { reportedAmount: p.reportedAmount }),
    discrepancy: p.discrepancy,
    ...(p.paidAt !== undefined && { paidAt: p.paidAt }),
  };
}

export function toView(p: PaymentRecord): PaymentApiView {
  return {
    id: p._id,
    ...sharedFields(p),
    ...(p.note !== undefined && { note: p.note }),
    createdAt: p.createdAt,
    updatedAt: p.updatedAt,
  };
}

/** The payment as the audit log keeps it: what matters for money, nothing personal. */
export function auditSnapshot(p: PaymentRecord | null) {
  if (!p) return null;
  const { _id, version: _v, note: _n, ...rest } = p;
  return { id: _id, ...rest };
}

export function factOf(p: PaymentRecord): PaymentFactV1 {
  return {
    paymentId: p._id,
    ...sharedFields(p),
    ...(p.reportLinkId !== undefined && { linkId: p.reportLinkId }),
  };
}
