/** The driver-links service's stored link and the answers it gives. */
import type { DriverReportCommand, IssueDriverLinkCommand, PaymentView } from "../../../lib/contracts";

export type Report = Pick<DriverReportCommand, "paid" | "amount" | "method" | "paidAt" | "note">;

/** What the driver's report answers (and a replay of the same Idempotency-Key answers again). */
export interface SubmitAnswer {
  payment: Pick<PaymentView, "id" | "bookingId" | "amount" | "currency" | "status" | "method" | "reportedAmount" | "discrepancy" | "paidAt">;
  booking: { id: string; status: string; confirmationPending?: boolean };
}

export interface LinkRecord {
  _id: string; // linkId
  /** `${bookingId}:${issueKey}`, unique: a repeated issue finds its link. */
  issueId: string;
  /** sha256 of the token, unique; the token itself is never stored. */
  tokenHash: string;
  bookingId: string;
  paymentId: string;
  driverId: string;
  ownerId: string;
  booking: IssueDriverLinkCommand["booking"];
  expiresAt: string;
  createdAt: string;
  /** "pending" until notifications accepted the SMS; a retry finding "pending" sends a fresh token. */
  sms: "pending" | "queued";
  /** How many times a fresh token replaced an unsent one. */
  rotation: number;
  revokedAt?: string;
  revokedReason?: string;
  /** Copied from the link's LinkUse once it is taken (for reading; LinkUse is the truth). */
  usedAt?: string;
}

/**
 * The use of a link: inserted with `_id` = linkId, so the store's unique `_id`
 * lets exactly one use in, on every store (a conditional update is not atomic
 * on FerretDB's SQLite backend; a unique insert is). Holds the Idempotency-Key,
 * the report and, once complete, the answer a replay gets.
 */
export interface LinkUse {
  _id: string;
  /** Random per claim: tells the request that inserted it from a concurrent one with the same key. */
  claimId: string;
  key: string;
  report: Report;
  usedAt: string;
  answer?: SubmitAnswer;
  answeredAt?: string;
}

export interface LinkSummary {
  booking: { id: string; vehicle: IssueDriverLinkCommand["booking"]["vehicle"]; start: string; end: string; expectedAmount: number; currency: string };
  expiresAt: string;
}

export function summaryOf(l: LinkRecord): LinkSummary {
  return {
    booking: { id: l.bookingId, vehicle: l.booking.vehicle, start: l.booking.start, end: l.booking.end, expectedAmount: l.booking.expectedAmount, currency: l.booking.currency },
    expiresAt: l.expiresAt,
  };
}
