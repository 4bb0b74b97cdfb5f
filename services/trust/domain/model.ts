/**
 * The trust service's records. Three kinds:
 * - the fact log (every fact it consumed, as delivered: the source of a recompute);
 * - read models derived from facts (bookings, transitions, payments, payment
 *   reports, KYC): keyed so that applying a fact twice, or facts in any order,
 *   gives the same rows (./read-models.ts);
 * - its own primary data (ratings, flags, overrides) and what it computes
 *   (scores, daily analytics buckets).
 */
import type { BookingStatusV1, FactType } from "../../../lib/events";
import type { KycStatus } from "../../../lib/auth-types";

/** Who has a trust score. */
export type ScoredType = "user" | "driver";
/** What can be rated or flagged. */
export type SubjectType = ScoredType | "vehicle";

/** "user:<id>", "driver:<id>", "vehicle:<id>": the key of a subject in every collection. */
export const subjectKey = (type: SubjectType, id: string) => `${type}:${id}`;

export function parseSubject(key: string): { type: SubjectType; id: string } {
  const at = key.indexOf(":");
  return { type: key.slice(0, at) as SubjectType, id: key.slice(at + 1) };
}

export const isScored = (key: string) => key.startsWith("user:") || key.startsWith("driver:");

/** The UTC day (YYYY-MM-DD) of an instant. */
export const dayOf = (iso: string) => new Date(iso).toISOString().slice(0, 10);

export interface FactRecord { _id: string; type: FactType; version: number; occurredAt: string; data: unknown; loggedAt: string }

/** Order of the booking statuses: a booking's current status is its highest-ranked transition seen. */
export const STATUS_RANK: Record<BookingStatusV1, number> = {
  requested: 0, accepted: 1, confirmed: 2, active: 3, completed: 4, declined: 4, cancelled: 4, expired: 4,
};

export const TERMINAL: readonly BookingStatusV1[] = ["completed", "declined", "cancelled", "expired"];

export interface BookingRow {
  _id: string;
  vehicleId: string;
  renterId: string;
  ownerId: string;
  driverId: string | null;
  start: string;
  end: string;
  price: { total: number; platformFee: number; hostAmount: number; currency: string };
  status: BookingStatusV1;
  rank: number;
  /** Subject keys of the renter, the owner and the driver (if any). */
  parties: string[];
  /** Subject keys a failed booking counts against (docs/trust.md "Completion rate"). */
  blame: string[];
  cancelledByKind?: string;
  /** When each transition happened (`activeAt` = picked up). */
  requestedAt?: string;
  acceptedAt?: string;
  confirmedAt?: string;
  activeAt?: string;
  completedAt?: string;
  declinedAt?: string;
  cancelledAt?: string;
  expiredAt?: string;
}

/** One row per booking transition: what the daily booking counts are made of. */
export interface TransitionRow { _id: string; bookingId: string; status: BookingStatusV1; actorKind: string; actorId: string | null; at: string; day: string }

/** A payment as far as revenue goes: when it was first reported paid, and refunded. */
export interface PaymentRow {
  _id: string;
  bookingId: string;
  renterId: string;
  ownerId: string;
  driverId: string | null;
  currency: string;
  amount: number;
  platformFee: number;
  hostAmount: number;
  reportedAmount?: number;
  paidAt?: string;
  paidDay?: string;
  refundedAt?: string;
  refundedDay?: string;
}

export type ReportOutcome = "accurate" | "discrepancy" | "unpaid";

/** One driver report through one link (payment.paid / .discrepancy / .unpaid_reported). */
export interface ReportRow {
  _id: string;
  paymentId: string;
  bookingId: string;
  renterId: string;
  ownerId: string;
  driverId: string | null;
  /** The payer (renter) and the reporting driver: whose payment accuracy it counts for. */
  parties: string[];
  outcome: ReportOutcome;
  expectedAmount: number;
  reportedAmount?: number;
  currency: string;
  /** The earliest fact of the report. */
  at: string;
  day: string;
}

/** A user's current KYC status (the newest version seen). */
export interface KycRow { _id: string; status: KycStatus; version: number; at: string }
/** One KYC status change: submissions and decisions, for the review-time analytics. */
export interface KycEventRow { _id: string; userId: string; version: number; status: KycStatus; at: string; day: string }

export type RatingTarget = "vehicle" | "owner" | "driver" | "renter";
export type RaterRole = "renter" | "owner";
export interface RatingCategories { cleanliness?: number; punctuality?: number; communication?: number }

export interface RatingRecord {
  /** `${bookingId}:${raterId}:${target}`: one rating per booking, rater and target. */
  _id: string;
  bookingId: string;
  raterId: string;
  raterRole: RaterRole;
  target: RatingTarget;
  subjectType: SubjectType;
  subjectId: string;
  subject: string;
  vehicleId: string;
  score: number;
  categories?: RatingCategories;
  comment?: string;
  recommend?: boolean;
  createdAt: string;
  /** Shown (and counted) once both sides rated or the reveal window ended. */
  revealed: boolean;
  /** When the reveal window ends. */
  revealAt: string;
  revealedAt?: string;
}

export interface FlagRecord {
  _id: string;
  subjectType: SubjectType;
  subjectId: string;
  subject: string;
  reason: string;
  status: "open" | "resolved";
  createdBy: string;
  createdAt: string;
  resolvedBy?: string;
  resolvedAt?: string;
  resolutionNote?: string;
}

export interface OverrideRecord { _id: string; subjectType: ScoredType; subjectId: string; score: number; reason: string; setBy: string; setAt: string }

export interface Component { value: number; weight: number }
export interface Components {
  kyc: Component & { status: KycStatus | null };
  completionRate: Component & { completed: number; failed: number; rate: number | null };
  paymentAccuracy: Component & { reports: number; accurate: number; discrepancies: number; unpaid: number; rate: number | null };
  disputes: Component & { openFlags: number; resolvedFlags: number };
  ratings: Component & { count: number; average: number | null; bayesian: number };
}

export interface ScoreRecord {
  _id: string;
  subjectType: ScoredType;
  subjectId: string;
  score: number;
  components: Components;
  previousScore: number | null;
  /** Bumped by every write: the condition of the next one. */
  version: number;
  /** The score last announced in a trust.updated fact. */
  publishedScore: number | null;
  publishedVersion: number;
  updatedAt: string;
}

export const RATING_TARGETS: readonly RatingTarget[] = ["vehicle", "owner", "driver", "renter"];

/** Who may rate what: the renter rates the car, its owner and its driver; the owner rates the renter. */
export const MAY_RATE: Record<RaterRole, readonly RatingTarget[]> = { renter: ["vehicle", "owner", "driver"], owner: ["renter"] };
