/**
 * What services ask of each other by action call (not routed to HTTP).
 * Every command here is idempotent: the saga may repeat a call that timed out
 * although it ran, and a repeat must not charge, link or notify twice.
 */
import type { AvailabilityRules } from "./contracts-availability";

/** vehicles.get {id} -> VehicleView (also the public API shape), 404 when unknown or deleted. */
export interface VehicleView {
  id: string;
  ownerId: string;
  driverId: string | null;
  status: "active" | "inactive" | "deleted";
  licensePlate: string;
  make: string;
  model: string;
  year: number;
  hourlyRate: number;
  dailyRate?: number;
  currency: string;
  timezone: string;
  location: { address: string; lat: number; lng: number };
  availability?: AvailabilityRules;
}

/** vehicles.driverContact {driverId} -> DriverContact (internal: holds a phone). */
export interface DriverContact { id: string; ownerId: string; name: string; phone: string }

/** bookings.busy {vehicleIds: string[], start, end} -> {[vehicleId]: {start, end}[]}: holding bookings in the window, one batched call. */
export type BusyMap = Record<string, { start: string; end: string }[]>;

/**
 * payments.createForBooking -> PaymentView. Idempotent by bookingId: a second
 * call returns the existing payment.
 */
export interface CreatePaymentCommand {
  bookingId: string;
  renterId: string;
  ownerId: string;
  driverId?: string | null;
  amount: number;
  platformFee: number;
  hostAmount: number;
  currency: string;
  /** "driver_link" when the vehicle has a driver, else "online" (awaiting online payment). */
  source: "driver_link" | "online";
}

export interface PaymentView {
  id: string;
  bookingId: string;
  amount: number;
  platformFee: number;
  hostAmount: number;
  currency: string;
  status: "pending" | "paid" | "unpaid_reported" | "failed" | "refunded" | "voided";
  method?: string;
  source: "driver_link" | "online" | "admin";
  reportedAmount?: number;
  discrepancy: boolean;
  paidAt?: string;
  createdAt: string;
  updatedAt: string;
}

/** payments.voidForBooking {bookingId, reason} -> PaymentView | null (compensation; idempotent). */
/** payments.recordDriverReport -> PaymentView (from driver-links; idempotent by linkId). */
export interface DriverReportCommand {
  paymentId: string;
  linkId: string;
  paid: boolean;
  amount: number;
  method: "cash" | "bank_transfer" | "card" | "mobile" | "other";
  paidAt: string;
  note?: string;
}

/** driverLinks.issue -> {linkId, expiresAt} and the SMS sent. Idempotent by (bookingId, issueKey). */
export interface IssueDriverLinkCommand {
  bookingId: string;
  paymentId: string;
  driverId: string;
  /** Same key, same link: a retried saga step does not send a second SMS. */
  issueKey: string;
  booking: { vehicle: { id: string; make: string; model: string; licensePlate: string }; start: string; end: string; expectedAmount: number; currency: string };
}

/** driverLinks.revokeForBooking {bookingId} -> {revoked: number} (compensation; idempotent). */

/** bookings.confirmPayment {bookingId, paymentId} -> BookingView (idempotent: confirmed stays confirmed). */

/** notifications.send: see services/notifications; channel "sms" | "in_app" | "push". */
