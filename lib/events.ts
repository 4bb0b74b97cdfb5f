/**
 * Facts: versioned events published for other services and partners.
 * Delivered at least once through @moleculer/channels (NATS JetStream in the
 * distributed profile); every handler must be idempotent.
 */
export const FACT_TYPES = [
  "user.registered", "user.updated", "kyc.submitted", "kyc.approved", "kyc.rejected",
  "vehicle.created", "vehicle.updated", "vehicle.deleted", "driver.assigned",
  "booking.requested", "booking.accepted", "booking.declined", "booking.cancelled", "booking.expired",
  "booking.confirmed", "booking.started", "booking.completed",
  "payment.created", "payment.paid", "payment.unpaid_reported", "payment.discrepancy", "payment.refunded",
  "driverlink.issued", "driverlink.used", "rating.created", "trust.updated",
  "notification.requested", "audit.recorded",
] as const;

export type FactType = (typeof FACT_TYPES)[number];

export interface Fact<T = Record<string, unknown>> {
  id: string;
  type: FactType;
  version: number;
  occurredAt: string;
  data: T;
}

export interface UserRegisteredV1 { userId: string; roles: string[]; via: "otp" | "password"; locale?: string }
export interface UserUpdatedV1 { userId: string; roles: string[]; status: string; kycStatus?: string }

/**
 * kyc.submitted / kyc.approved / kyc.rejected: a user's KYC status changed.
 * `version` grows by one with every change of that user's KYC: apply a fact
 * only when it is newer than the version you already applied.
 */
export interface KycSubmittedV1 { userId: string; status: "submitted"; version: number; submittedAt: string; documentTypes: string[]; corporate: boolean }
export interface KycApprovedV1 { userId: string; status: "approved"; version: number; decidedBy: string; decidedAt: string }
export interface KycRejectedV1 { userId: string; status: "rejected"; version: number; decidedBy: string; decidedAt: string; reason: string }
export type KycStatusChangedV1 = KycSubmittedV1 | KycApprovedV1 | KycRejectedV1;

/** Ask the notifications service to deliver a message (durable: it must arrive). */
export interface NotificationRequestedV1 {
  /** Idempotency key: the same key is delivered once. */
  key: string;
  channel: "sms" | "push" | "in_app";
  kind: string;
  to?: string;
  userId?: string;
  template: string;
  params: Record<string, string | number>;
  locale?: "ko" | "en";
}

// ---- bookings (services/bookings) -------------------------------------------

export type BookingStatusV1 = "requested" | "accepted" | "confirmed" | "active" | "completed" | "declined" | "cancelled" | "expired";

/** What every booking fact carries: the booking after the transition, and the transition itself. */
export interface BookingFactV1<S extends BookingStatusV1 = BookingStatusV1> {
  bookingId: string;
  vehicleId: string;
  renterId: string;
  ownerId: string;
  driverId: string | null;
  start: string;
  end: string;
  /** The status this transition moved to. */
  status: S;
  /** The status before; null for the request itself. */
  from: BookingStatusV1 | null;
  actor: { id: string | null; kind: "renter" | "owner" | "driver" | "admin" | "system" };
  reason?: string;
  /** When the transition happened. */
  at: string;
  price: { hours: number; hourlyRate: number; total: number; platformFee: number; hostAmount: number; currency: string };
  paymentId?: string;
}

export type BookingRequestedV1 = BookingFactV1<"requested">;
export type BookingAcceptedV1 = BookingFactV1<"accepted">;
export type BookingDeclinedV1 = BookingFactV1<"declined">;
export type BookingCancelledV1 = BookingFactV1<"cancelled">;
export type BookingExpiredV1 = BookingFactV1<"expired">;
export type BookingConfirmedV1 = BookingFactV1<"confirmed"> & { paymentId: string };
export type BookingStartedV1 = BookingFactV1<"active">;
export type BookingCompletedV1 = BookingFactV1<"completed">;

// ---- payments (services/payments) -------------------------------------------

/** What every payment fact carries: the payment after the change. */
export interface PaymentFactV1 {
  paymentId: string;
  bookingId: string;
  renterId: string;
  ownerId: string;
  driverId: string | null;
  amount: number;
  platformFee: number;
  hostAmount: number;
  currency: string;
  status: "pending" | "paid" | "unpaid_reported" | "failed" | "refunded" | "voided";
  source: "driver_link" | "online" | "admin";
  method?: string;
  reportedAmount?: number;
  discrepancy: boolean;
  paidAt?: string;
  /** The driver link that reported it, when one did. */
  linkId?: string;
}

export type PaymentCreatedV1 = PaymentFactV1;
/** bookings confirms the booking on this one (idempotently). */
export type PaymentPaidV1 = PaymentFactV1 & { status: "paid"; paidAt: string; via: "driver_link" | "online" | "admin" };
export type PaymentUnpaidReportedV1 = PaymentFactV1 & { status: "unpaid_reported"; linkId: string; note?: string };
/** A reported amount other than the expected one; kept, flagged for the owner and admins. */
export type PaymentDiscrepancyV1 = PaymentFactV1 & { expectedAmount: number; reportedAmount: number; difference: number };
export type PaymentRefundedV1 = PaymentFactV1 & { status: "refunded"; reason?: string };

// ---- driver links (services/driver-links) -----------------------------------

export interface DriverLinkIssuedV1 { linkId: string; bookingId: string; paymentId: string; driverId: string; ownerId: string; expiresAt: string }
export interface DriverLinkUsedV1 { linkId: string; bookingId: string; paymentId: string; driverId: string; ownerId: string; paid: boolean; usedAt: string }

/**
 * Idempotency key of the notification that tells `userId` about a fact: the
 * notifications service's fact consumer and a service that notifies directly
 * use the same key, so the user hears about it once.
 */
export const factNotificationKey = (factId: string, userId: string, channel: "in_app" | "push") => `${channel}:${factId}:${userId}`;

/**
 * One notice per (booking, event, user, channel), whoever sends it first: the
 * booking saga's notify step or the notifications service reading the fact.
 */
export const bookingNoticeKey = (bookingId: string, event: string, userId: string, channel: "in_app" | "push") =>
  channel === "in_app" ? `${bookingId}:${event}:${userId}` : `push:${bookingId}:${event}:${userId}`;

// ---- vehicles (services/vehicles) -------------------------------------------

/** vehicle.created: a listing went live. No PII. */
export interface VehicleCreatedV1 {
  vehicleId: string;
  ownerId: string;
  status: "active" | "inactive";
  make: string;
  model: string;
  year: number;
  hourlyRate: number;
  currency: string;
  location: { lat: number; lng: number };
}
/** vehicle.updated: what changed (field names such as "hourlyRate", "location", "availability", "photos", "status"). */
export interface VehicleUpdatedV1 { vehicleId: string; ownerId: string; status: "active" | "inactive"; changes: string[]; version: number }
/** vehicle.deleted: soft-deleted; its plate is free again, it is gone from search and `vehicles.get`. */
export interface VehicleDeletedV1 { vehicleId: string; ownerId: string; deletedAt: string }
/** driver.assigned: the vehicle's driver changed; `driverId: null` = the driver was removed. No phone. */
export interface DriverAssignedV1 { vehicleId: string; ownerId: string; driverId: string | null; previousDriverId: string | null }

// ---- trust (services/trust) ---------------------------------------------------

/**
 * rating.created: someone rated a party of a completed booking. No score or
 * comment: ratings stay hidden until both sides rated or the reveal window
 * ends (docs/trust.md); `revealed` says whether this one is already visible.
 */
export interface RatingCreatedV1 {
  ratingId: string;
  bookingId: string;
  raterId: string;
  raterRole: "renter" | "owner";
  target: "vehicle" | "owner" | "driver" | "renter";
  subjectType: "vehicle" | "user" | "driver";
  subjectId: string;
  revealed: boolean;
  createdAt: string;
}

/** trust.updated: a user's or driver's trust score (0-100) or its admin override changed. Formula: docs/trust.md. */
export interface TrustUpdatedV1 {
  subjectType: "user" | "driver";
  subjectId: string;
  /** The computed score. */
  score: number;
  previousScore: number | null;
  /** The admin override, when one is set. */
  override: number | null;
  /** What to act on: the override when set, else the computed score. */
  effectiveScore: number;
  /** Each component's value in [0, 1]. */
  components: { kyc: number | null; completionRate: number; paymentAccuracy: number; disputes: number; ratings: number };
  at: string;
}
