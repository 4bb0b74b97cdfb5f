/** The payments service's stored record and the views it answers with. */
import type { PaymentView } from "../../../lib/contracts";
import type { PaymentFactV1 } from "../../../lib/events";

export type PaymentStatus = PaymentView["status"];
export const PAYMENT_STATUSES = ["pending", "paid", "unpaid_reported", "failed", "refunded", "voided"] as const satisfies readonly PaymentStatus[];
export const PAYMENT_METHODS = ["cash", "bank_transfer", "card", "mobile", "other"] as const;

export interface PaymentRecord {
  _id: string;
  /** Unique: one payment per booking (the index makes createForBooking idempotent). */
  bookingId: string;
  renterId: string;
  ownerId: string;
  driverId: string | null;
  amount: number;
  platformFee: number;
  hostAmount: number;
  currency: string;
  status: PaymentStatus;
  source: PaymentView["source"];
  method?: string;
  reportedAmount?: number;
  discrepancy: boolean;
  paidAt?: string;
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

export function toView(p: PaymentRecord): PaymentApiView {
  return {
    id: p._id,
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
    ...(p.reportLinkId !== undefined && { linkId: p.reportLinkId }),
  };
}
