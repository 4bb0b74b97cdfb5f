/**
 * Which users hear about which booking and payment facts, with which template.
 * Pure: the service turns each message into an in-app notification and a push.
 */
import type { BookingFactV1, Fact, PaymentFactV1 } from "../../../lib/events";
import type { TemplateParams } from "../templates";

export interface FactMessage { userId: string; kind: string; template: string; params: TemplateParams; data: Record<string, string> }

type Party = "renter" | "owner";

const BOOKING: Record<string, Party[]> = {
  "booking.requested": ["owner"],
  "booking.accepted": ["renter"],
  "booking.declined": ["renter"],
  "booking.cancelled": ["renter", "owner"],
  "booking.expired": ["renter", "owner"],
  "booking.confirmed": ["renter", "owner"],
  "booking.started": ["renter", "owner"],
  "booking.completed": ["renter", "owner"],
};

const PAYMENT: Record<string, Party[]> = {
  "payment.created": ["renter"],
  "payment.paid": ["renter", "owner"],
  "payment.unpaid_reported": ["owner"],
  "payment.discrepancy": ["owner"],
  "payment.refunded": ["renter"],
};

export const NOTIFIED_FACTS = [...Object.keys(BOOKING), ...Object.keys(PAYMENT)];

const templateOf = (type: string) => type.replace(".", "_");

export function messagesForFact(fact: Fact<unknown>): FactMessage[] {
  if (fact.type in BOOKING) {
    const b = fact.data as BookingFactV1;
    const idOf = (p: Party) => (p === "renter" ? b.renterId : b.ownerId);
    let parties = BOOKING[fact.type];
    // Whoever cancelled knows: tell the other party (a system or admin cancellation tells both).
    if (fact.type === "booking.cancelled" && b.actor?.id) parties = parties.filter((p) => idOf(p) !== b.actor.id);
    const params: TemplateParams = { start: b.start, end: b.end, amount: b.price?.total ?? 0, currency: b.price?.currency ?? "KRW", ...(b.reason && { reason: b.reason }) };
    const data = { bookingId: b.bookingId, ...(b.paymentId && { paymentId: b.paymentId }) };
    return uniqueUsers(parties.map((p) => ({ userId: idOf(p), kind: fact.type, template: templateOf(fact.type), params, data })));
  }
  if (fact.type in PAYMENT) {
    const p = fact.data as PaymentFactV1 & { expectedAmount?: number };
    const params: TemplateParams = {
      amount: p.amount,
      currency: p.currency,
      source: p.source,
      bookingId: p.bookingId,
      ...(p.reportedAmount !== undefined && { paidAmount: p.reportedAmount, reportedAmount: p.reportedAmount }),
      ...(p.expectedAmount !== undefined && { expectedAmount: p.expectedAmount }),
    };
    const data = { bookingId: p.bookingId, paymentId: p.paymentId };
    return uniqueUsers(PAYMENT[fact.type].map((party) => ({ userId: party === "renter" ? p.renterId : p.ownerId, kind: fact.type, template: templateOf(fact.type), params, data })));
  }
  return [];
}

function uniqueUsers(messages: FactMessage[]): FactMessage[] {
  const seen = new Set<string>();
  return messages.filter((m) => typeof m.userId === "string" && m.userId && !seen.has(m.userId) && seen.add(m.userId));
}
