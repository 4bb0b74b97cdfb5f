/** The bookings service's stored records, the status machine, and the booking as the API shows it. */
import type { BookingStatusV1, FactType } from "../../../lib/events";
import type { Quote } from "../../../lib/pricing";

export type BookingStatus = BookingStatusV1;

export const STATUSES: readonly BookingStatus[] = ["requested", "accepted", "confirmed", "active", "completed", "declined", "cancelled", "expired"];

/** These statuses hold the vehicle's time. */
export const HOLDING: readonly BookingStatus[] = ["requested", "accepted", "confirmed", "active"];

/** Moving to one of these gives the vehicle's time back. */
export const RELEASING: ReadonlySet<BookingStatus> = new Set(["completed", "declined", "cancelled", "expired"]);

/** Seed synonyms accepted on input filters. */
export const STATUS_SYNONYMS: Record<string, BookingStatus> = { pending: "requested", approved: "accepted", rejected: "declined" };

export function normaliseStatus(input: string): BookingStatus | undefined {
  const s = STATUS_SYNONYMS[input] ?? input;
  return (STATUSES as readonly string[]).includes(s) ? (s as BookingStatus) : undefined;
}

/** The fact published when a booking reaches a status. */
export const FACT_OF: Record<BookingStatus, FactType> = {
  requested: "booking.requested",
  accepted: "booking.accepted",
  confirmed: "booking.confirmed",
  active: "booking.started",
  completed: "booking.completed",
  declined: "booking.declined",
  cancelled: "booking.cancelled",
  expired: "booking.expired",
};

export type ActorKind = "renter" | "owner" | "driver" | "admin" | "system";
export interface Actor { id: string | null; kind: ActorKind }

export const SYSTEM: Actor = { id: null, kind: "system" };

/** One transition; `rev` numbers them (the request itself is rev 1). */
export interface TimelineEntry {
  rev: number;
  status: BookingStatus;
  from: BookingStatus | null;
  actor: Actor;
  reason?: string;
  at: string;
}

export interface VehicleSnapshot { make: string; model: string; licensePlate: string; timezone: string }

export interface BookingRecord {
  _id: string;
  vehicleId: string;
  renterId: string;
  ownerId: string;
  driverId: string | null;
  vehicle: VehicleSnapshot;
  /** ISO UTC; [start, end) */
  start: string;
  end: string;
  status: BookingStatus;
  price: Quote;
  message?: string;
  paymentId?: string;
  /** Reason of the last decline or cancel. */
  reason?: string;
  /** The owner must answer a request before this. */
  expiresAt: string;
  /** Incremented by every transition; transitions are conditional on it. */
  rev: number;
  timeline: TimelineEntry[];
  /** Facts of timeline entries up to this rev are published; `factsPending` while some are not. */
  factsRev: number;
  factsPending: boolean;
  /** "releasing" between a releasing transition and the hold being removed from the calendar. */
  holdState: "held" | "releasing" | "released";
  /** Accepted, but the saga record is not written yet. */
  sagaPending: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface BookingView {
  id: string;
  vehicleId: string;
  renterId: string;
  ownerId: string;
  driverId?: string;
  start: string;
  end: string;
  status: BookingStatus;
  price: Quote;
  paymentId?: string;
  message?: string;
  reason?: string;
  /** Only while requested: when the request expires unanswered. */
  expiresAt?: string;
  vehicle: { make: string; model: string; licensePlate: string };
  createdAt: string;
  updatedAt: string;
}

export function toView(b: BookingRecord): BookingView {
  return {
    id: b._id,
    vehicleId: b.vehicleId,
    renterId: b.renterId,
    ownerId: b.ownerId,
    ...(b.driverId ? { driverId: b.driverId } : {}),
    start: b.start,
    end: b.end,
    status: b.status,
    price: b.price,
    ...(b.paymentId ? { paymentId: b.paymentId } : {}),
    ...(b.message ? { message: b.message } : {}),
    ...(b.reason ? { reason: b.reason } : {}),
    ...(b.status === "requested" ? { expiresAt: b.expiresAt } : {}),
    vehicle: { make: b.vehicle.make, model: b.vehicle.model, licensePlate: b.vehicle.licensePlate },
    createdAt: b.createdAt,
    updatedAt: b.updatedAt,
  };
}

export interface TimelineItem { status: BookingStatus; from: BookingStatus | null; actor: Actor; reason: string | null; at: string }

export function toTimeline(b: BookingRecord): TimelineItem[] {
  return b.timeline.map((e) => ({ status: e.status, from: e.from, actor: e.actor, reason: e.reason ?? null, at: e.at }));
}
