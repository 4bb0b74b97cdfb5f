/**
 * Test helpers: the facts other services publish (payload types from
 * lib/events.ts, ids built the way their publishers build them), whole
 * booking stories, and a seeded random scenario generator.
 */
import type {
  BookingFactV1, BookingStatusV1, Fact, FactType, KycStatusChangedV1, PaymentFactV1,
} from "../../../lib/events";

const MIN = 60_000;
const HOUR = 3_600_000;

export const FACT_OF: Record<BookingStatusV1, FactType> = {
  requested: "booking.requested", accepted: "booking.accepted", confirmed: "booking.confirmed", active: "booking.started",
  completed: "booking.completed", declined: "booking.declined", cancelled: "booking.cancelled", expired: "booking.expired",
};

const ACTOR: Record<BookingStatusV1, BookingFactV1["actor"]["kind"]> = {
  requested: "renter", accepted: "owner", confirmed: "system", active: "owner", completed: "owner", declined: "owner", cancelled: "renter", expired: "system",
};

export interface BookingStory {
  bookingId: string;
  vehicleId: string;
  renterId: string;
  ownerId: string;
  /** The vehicle's driver at acceptance (and after). */
  driverId?: string | null;
  /** The vehicle's driver when the request was made, if another one. */
  requestDriverId?: string | null;
  /** Statuses in order, e.g. requested, accepted, confirmed, active, completed. */
  path: BookingStatusV1[];
  /** Who cancelled, when the path ends in cancelled. */
  cancelledBy?: BookingFactV1["actor"]["kind"];
  total?: number;
  /** Time of the request; each next transition comes a minute later. */
  at?: number;
  /** Trip start (default: a day after the request). */
  start?: number;
}

/** The facts of a booking's transitions, ids as the bookings service makes them (`booking:<id>:<rev>`). */
export function bookingFacts(s: BookingStory): Fact<BookingFactV1>[] {
  const at0 = s.at ?? Date.now();
  const start = s.start ?? at0 + 24 * HOUR;
  const total = s.total ?? 30_000;
  const platformFee = Math.floor((total * 1500 + 5000) / 10_000);
  return s.path.map((status, i) => {
    const at = new Date(at0 + i * MIN).toISOString();
    const driverId = (i === 0 && s.requestDriverId !== undefined ? s.requestDriverId : s.driverId) ?? null;
    const kind = status === "cancelled" ? s.cancelledBy ?? "renter" : ACTOR[status];
    const actorId = kind === "renter" ? s.renterId : kind === "owner" ? s.ownerId : null;
    const data: BookingFactV1 = {
      bookingId: s.bookingId, vehicleId: s.vehicleId, renterId: s.renterId, ownerId: s.ownerId, driverId,
      start: new Date(start).toISOString(), end: new Date(start + 3 * HOUR).toISOString(),
      status, from: i ? s.path[i - 1] : null, actor: { id: actorId, kind }, at,
      price: { hours: 3, hourlyRate: total / 3, total, platformFee, hostAmount: total - platformFee, currency: "KRW" },
      ...(status === "cancelled" ? { reason: "test" } : {}),
    };
    return { id: `booking:${s.bookingId}:${i + 1}`, type: FACT_OF[status], version: 1, occurredAt: at, data };
  });
}

export interface PaymentStory {
  paymentId: string;
  bookingId: string;
  renterId: string;
  ownerId: string;
  driverId: string | null;
  amount: number;
}

function paymentData(p: PaymentStory, extra: Partial<PaymentFactV1>): PaymentFactV1 {
  const platformFee = Math.floor((p.amount * 1500 + 5000) / 10_000);
  return { paymentId: p.paymentId, bookingId: p.bookingId, renterId: p.renterId, ownerId: p.ownerId, driverId: p.driverId, amount: p.amount, platformFee, hostAmount: p.amount - platformFee, currency: "KRW", status: "pending", source: "driver_link", discrepancy: false, ...extra };
}

/** What payments publishes when the driver reports through link `linkId`: paid (and a discrepancy), or unpaid. */
export function reportFacts(p: PaymentStory, linkId: string, report: { paid: boolean; amount?: number }, at = Date.now()): Fact<any>[] {
  const occurredAt = new Date(at).toISOString();
  if (!report.paid) {
    return [{ id: `payment.unpaid_reported:${p.paymentId}:${linkId}`, type: "payment.unpaid_reported", version: 1, occurredAt, data: { ...paymentData(p, { status: "unpaid_reported", linkId }), note: "no cash" } }];
  }
  const reported = report.amount ?? p.amount;
  const discrepancy = reported !== p.amount;
  const paid = paymentData(p, { status: "paid", method: "cash", reportedAmount: reported, discrepancy, paidAt: occurredAt, linkId });
  const facts: Fact<any>[] = [];
  if (discrepancy) facts.push({ id: `payment.discrepancy:${p.paymentId}:${linkId}`, type: "payment.discrepancy", version: 1, occurredAt, data: { ...paid, expectedAmount: p.amount, reportedAmount: reported, difference: reported - p.amount } });
  facts.push({ id: `payment.paid:${p.paymentId}:${linkId}`, type: "payment.paid", version: 1, occurredAt: new Date(at + 5).toISOString(), data: { ...paid, via: "driver_link" } });
  return facts;
}

/** An admin marks the payment paid or refunded (payments' override). */
export function overrideFact(p: PaymentStory, status: "paid" | "refunded", version: number, at = Date.now(), linkId?: string): Fact<any> {
  const occurredAt = new Date(at).toISOString();
  const data = paymentData(p, { status, source: "driver_link", paidAt: occurredAt, ...(linkId ? { linkId } : {}) });
  return status === "paid"
    ? { id: `payment.paid:${p.paymentId}:override:${version}`, type: "payment.paid", version: 1, occurredAt, data: { ...data, via: "admin" } }
    : { id: `payment.refunded:${p.paymentId}:override:${version}`, type: "payment.refunded", version: 1, occurredAt, data: { ...data, reason: "test" } };
}

export function kycFact(userId: string, status: KycStatusChangedV1["status"], version: number, at = Date.now()): Fact<KycStatusChangedV1> {
  const when = new Date(at).toISOString();
  const data: KycStatusChangedV1 =
    status === "submitted" ? { userId, status, version, submittedAt: when, documentTypes: ["id_front", "selfie"], corporate: false }
    : status === "approved" ? { userId, status, version, decidedBy: "admin-1", decidedAt: when }
    : { userId, status, version, decidedBy: "admin-1", decidedAt: when, reason: "blurry" };
  return { id: `kyc:${userId}:${version}`, type: `kyc.${status}` as FactType, version: 1, occurredAt: when, data };
}

/** A small deterministic PRNG (mulberry32), so a failing random run can be replayed from its seed. */
export function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)],
    shuffle<T>(xs: T[]): T[] {
      const out = [...xs];
      for (let i = out.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        [out[i], out[j]] = [out[j], out[i]];
      }
      return out;
    },
  };
}

const PATHS: BookingStatusV1[][] = [
  ["requested", "accepted", "confirmed", "active", "completed"],
  ["requested", "accepted", "confirmed", "active", "completed"],
  ["requested", "declined"],
  ["requested", "expired"],
  ["requested", "cancelled"],
  ["requested", "accepted", "cancelled"],
  ["requested", "accepted", "confirmed", "cancelled"],
  ["requested", "accepted", "confirmed", "active"],
];

/**
 * A random but plausible history over a few users, drivers and vehicles:
 * bookings with every ending, driver reports (accurate, short, unpaid then
 * paid), admin overrides and refunds, KYC submissions and decisions. Times
 * spread over several days so several analytics buckets are involved.
 */
export function randomHistory(seed: number, options: { bookings?: number; prefix?: string; base?: number } = {}): Fact<any>[] {
  const r = rng(seed);
  const p = options.prefix ?? `s${seed}`;
  const users = Array.from({ length: 6 }, (_, i) => `${p}-u${i}`);
  const drivers = [`${p}-d0`, `${p}-d1`, null];
  const base = options.base ?? Date.UTC(2026, 0, 10, 20, 0, 0);
  const facts: Fact<any>[] = [];
  for (let i = 0; i < (options.bookings ?? 24); i++) {
    const renterId = r.pick(users);
    const ownerId = r.pick(users.filter((u) => u !== renterId));
    const driverId = r.pick(drivers);
    const path = r.pick(PATHS);
    const at = base + r.int(4 * 24) * 3_600_000 + r.int(60) * 60_000;
    const story: BookingStory = {
      bookingId: `${p}-b${i}`, vehicleId: `${p}-v${r.int(3)}`, renterId, ownerId, driverId,
      requestDriverId: r.next() < 0.2 ? r.pick(drivers) : undefined,
      path, cancelledBy: r.pick(["renter", "owner", "system", "admin"] as const), total: 10_000 * (1 + r.int(9)), at,
      start: at + (r.next() < 0.5 ? 1 : 30) * 3_600_000,
    };
    facts.push(...bookingFacts(story));
    if (path.includes("accepted")) {
      const pay: PaymentStory = { paymentId: `${p}-p${i}`, bookingId: story.bookingId, renterId, ownerId, driverId: driverId ?? null, amount: story.total! };
      const reportAt = at + 2 * 60_000 + r.int(48) * 3_600_000;
      const kind = r.int(5);
      if (driverId && kind === 0) facts.push(...reportFacts(pay, `${p}-l${i}a`, { paid: true }, reportAt));
      if (driverId && kind === 1) facts.push(...reportFacts(pay, `${p}-l${i}a`, { paid: true, amount: pay.amount - 1000 }, reportAt));
      if (driverId && kind === 2) {
        facts.push(...reportFacts(pay, `${p}-l${i}a`, { paid: false }, reportAt));
        facts.push(...reportFacts(pay, `${p}-l${i}b`, { paid: true }, reportAt + 3_600_000));
      }
      if (driverId && kind === 3) {
        facts.push(...reportFacts(pay, `${p}-l${i}a`, { paid: false }, reportAt));
        facts.push(overrideFact(pay, "paid", 3, reportAt + 7_200_000, `${p}-l${i}a`));
      }
      if (kind === 4) {
        facts.push(overrideFact(pay, "paid", 2, reportAt));
        if (r.next() < 0.5) {
          facts.push(overrideFact(pay, "refunded", 3, reportAt + 86_400_000));
          // Paid again days later: revenue stays on the day it was first paid.
          if (r.next() < 0.5) facts.push(overrideFact(pay, "paid", 4, reportAt + 2 * 86_400_000));
        }
      }
    }
  }
  for (const u of users) {
    let v = 0;
    let t = base + r.int(48) * 3_600_000;
    for (let step = r.int(4); step > 0; step--) {
      facts.push(kycFact(u, "submitted", ++v, t));
      t += (1 + r.int(30)) * 3_600_000;
      facts.push(kycFact(u, r.next() < 0.6 ? "approved" : "rejected", ++v, t));
      t += 3_600_000;
    }
  }
  return facts;
}
