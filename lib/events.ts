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
