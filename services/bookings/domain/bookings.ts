/**
 * Booking use cases: request, the status machine, lists, expiry, and the
 * repairs a crash may need. Rules (docs/conventions.md "Data"):
 * - Time is reserved in the vehicle's calendar FIRST (./calendar.ts), then the
 *   booking is written; if that write fails the hold is released again.
 * - Every transition is one conditional update on `{_id, rev, status}` that
 *   also pushes the timeline entry; a lost race is re-read, a wrong status is
 *   409 INVALID_STATE.
 * - Leaving a holding status marks the booking `holdState: "releasing"` in
 *   the same update; the hold is then removed, and a sweep finishes the job
 *   if the process died in between.
 * - Facts are published after the transition from the stored timeline, with
 *   ids derived from (booking, rev): `factsPending` marks what a sweep must
 *   (re)publish, and consumers drop the duplicates by id.
 */
import type { Config } from "../../../lib/config";
import type { VehicleView } from "../../../lib/contracts";
import { AppError, badRequest, conflict, forbidden, invalidState, notFound, unavailable } from "../../../lib/errors";
import type { BookingFactV1, FactType } from "../../../lib/events";
import { newId } from "../../../lib/ids";
import { quote } from "../../../lib/pricing";
import type { Collection, Database, Filter } from "../../../lib/store";
import { isBookable } from "../../vehicles/domain/availability";
import { Calendars } from "./calendar";
import { FACT_OF, RELEASING, SYSTEM, type Actor, type BookingRecord, type BookingStatus, type TimelineEntry } from "./model";
import type { BookingWindow } from "./window";

/** A booking is written at most this long after its hold was taken; older holds without a booking are orphans. */
const INSERT_DEADLINE_MS = 30_000;
export const ORPHAN_AFTER_MS = 120_000;
const MAX_ROUNDS = 20;
const SWEEP_BATCH = 500;

export interface Logger { warn(...args: unknown[]): void; info(...args: unknown[]): void }

export type Publish = (type: FactType, data: BookingFactV1, id: string) => Promise<unknown>;

export interface TransitionSpec {
  from: readonly BookingStatus[];
  to: BookingStatus;
  /** Who does it: the actor, or a check that returns it or throws 403. Runs before the status check. */
  actor: Actor | ((b: BookingRecord) => Actor | Promise<Actor>);
  reason?: string;
  set?: Partial<BookingRecord>;
  /** More conditions on the current record, after the status check. */
  check?: (b: BookingRecord) => void | Promise<void>;
}

export interface ListQuery {
  userId: string;
  as?: "renter" | "owner";
  statuses?: BookingStatus[];
  limit: number;
  cursor?: string;
  offset?: number;
}

const VERB: Partial<Record<BookingStatus, string>> = {
  accepted: "accepted", declined: "declined", cancelled: "cancelled", expired: "expired",
  confirmed: "confirmed", active: "picked up", completed: "returned",
};

/** Statuses a booking reaches only after its payment was confirmed. */
const PAID_STATUSES = new Set(["confirmed", "active", "completed"]);

export class Bookings {
  readonly records: Collection<BookingRecord>;
  readonly calendars: Calendars;

  constructor(
    db: Database,
    private readonly cfg: Pick<Config, "platformFeeBps" | "bookings">,
    private readonly publish: Publish,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.records = db.collection<BookingRecord>("bookings", [
      { fields: { renterId: 1 } },
      { fields: { ownerId: 1 } },
      { fields: { vehicleId: 1 } },
      { fields: { status: 1 } },
    ]);
    this.calendars = new Calendars(db, now);
  }

  private iso(ms = this.now()) {
    return new Date(ms).toISOString();
  }

  // ---- request ---------------------------------------------------------------

  async create(input: { vehicle: VehicleView; renterId: string; window: BookingWindow; message?: string }): Promise<BookingRecord> {
    const { vehicle, renterId, window } = input;
    if (vehicle.status !== "active") throw conflict("The vehicle is not available for booking", { vehicleId: vehicle.id, status: vehicle.status });
    if (vehicle.ownerId === renterId) throw forbidden("You cannot book your own vehicle");
    if (vehicle.availability && !isBookable({ ...vehicle.availability, timezone: vehicle.timezone }, window.startMs, window.endMs, [])) {
      throw new AppError("BOOKING_CONFLICT", "The vehicle is not available for all of this time", { reason: "outside_availability", vehicleId: vehicle.id });
    }
    const price = quote({ start: new Date(window.startMs), end: new Date(window.endMs), hourlyRate: vehicle.hourlyRate, currency: vehicle.currency, feeBps: this.cfg.platformFeeBps });

    const id = newId();
    const began = this.now();
    const now = this.iso(began);
    await this.calendars.reserve(vehicle.id, { bookingId: id, start: window.start, end: window.end, at: now });

    const record: BookingRecord = {
      _id: id,
      vehicleId: vehicle.id,
      renterId,
      ownerId: vehicle.ownerId,
      driverId: vehicle.driverId ?? null,
      vehicle: { make: vehicle.make, model: vehicle.model, licensePlate: vehicle.licensePlate, timezone: vehicle.timezone },
      start: window.start,
      end: window.end,
      status: "requested",
      price,
      ...(input.message ? { message: input.message } : {}),
      expiresAt: this.iso(began + this.cfg.bookings.requestTtlMs),
      rev: 1,
      timeline: [{ rev: 1, status: "requested", from: null, actor: { id: renterId, kind: "renter" }, at: now }],
      factsRev: 0,
      factsPending: true,
      holdState: "held",
      sagaPending: false,
      createdAt: now,
      updatedAt: now,
    };
    try {
      // A hold older than ORPHAN_AFTER_MS without its booking is removed by the sweep: never write one that late.
      if (this.now() - began > INSERT_DEADLINE_MS) throw unavailable("The bookings database");
      await this.records.insert(record);
    } catch (err) {
      await this.calendars.release(vehicle.id, id).catch((e) => this.log.warn(`Releasing the hold of unwritten booking ${id} failed; the sweep will:`, (e as Error).message));
      throw err;
    }
    await this.flushFacts(record);
    return record;
  }

  // ---- reads -----------------------------------------------------------------

  async get(id: string): Promise<BookingRecord> {
    const b = await this.records.findById(id);
    if (!b) throw notFound("The booking");
    return b;
  }

  async list(q: ListQuery): Promise<{ items: BookingRecord[]; nextCursor: string | null }> {
    const filter: Filter = q.as === "renter" ? { renterId: q.userId } : q.as === "owner" ? { ownerId: q.userId } : { $or: [{ renterId: q.userId }, { ownerId: q.userId }] };
    if (q.statuses?.length) filter.status = { $in: q.statuses };
    if (q.cursor) filter._id = { $lt: decodeCursor(q.cursor) };
    const rows = await this.records.find(filter, { sort: { _id: -1 }, limit: q.limit + 1, skip: q.cursor ? 0 : q.offset ?? 0 });
    const items = rows.slice(0, q.limit);
    return { items, nextCursor: rows.length > q.limit ? encodeCursor(items[items.length - 1]._id) : null };
  }

  /** Admin: every booking, newest first; `from`/`to` keep those whose [start, end) overlaps [from, to). */
  async listAll(q: { statuses?: BookingStatus[]; vehicleId?: string; renterId?: string; ownerId?: string; from?: string; to?: string; limit: number; cursor?: string }): Promise<{ items: BookingRecord[]; nextCursor: string | null }> {
    const filter: Filter = {};
    for (const k of ["vehicleId", "renterId", "ownerId"] as const) if (q[k]) filter[k] = q[k];
    if (q.statuses?.length) filter.status = { $in: q.statuses };
    if (q.to) filter.start = { $lt: q.to };
    if (q.from) filter.end = { $gt: q.from };
    if (q.cursor) filter._id = { $lt: decodeCursor(q.cursor) };
    const rows = await this.records.find(filter, { sort: { _id: -1 }, limit: q.limit + 1 });
    const items = rows.slice(0, q.limit);
    return { items, nextCursor: rows.length > q.limit ? encodeCursor(items[items.length - 1]._id) : null };
  }

  // ---- the status machine ----------------------------------------------------

  /** Applies one transition as a conditional update; releases the time and publishes the fact after it. */
  async transition(id: string, spec: TransitionSpec): Promise<BookingRecord> {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const b = await this.get(id);
      const actor = typeof spec.actor === "function" ? await spec.actor(b) : spec.actor;
      if (!spec.from.includes(b.status)) {
        throw invalidState(`The booking is ${b.status}; it cannot be ${VERB[spec.to] ?? spec.to}`, { status: b.status, allowedFrom: spec.from });
      }
      await spec.check?.(b);
      const at = this.iso();
      const entry: TimelineEntry = { rev: b.rev + 1, status: spec.to, from: b.status, actor, ...(spec.reason ? { reason: spec.reason } : {}), at };
      const releasing = RELEASING.has(spec.to) && b.holdState === "held";
      const updated = await this.records.updateOne(
        { _id: id, rev: b.rev, status: b.status },
        {
          $set: { ...spec.set, status: spec.to, updatedAt: at, factsPending: true, ...(spec.reason ? { reason: spec.reason } : {}), ...(releasing ? { holdState: "releasing" } : {}) },
          $inc: { rev: 1 },
          $push: { timeline: entry },
        },
      );
      if (!updated) continue; // someone else changed it: read again and re-check
      if (updated.holdState === "releasing") await this.releaseHold(updated).catch((e) => this.log.warn(`Releasing the time of booking ${id} failed; the sweep will:`, (e as Error).message));
      await this.flushFacts(updated);
      return updated;
    }
    throw unavailable("The booking");
  }

  /** Accepted -> confirmed once its payment is confirmed. Idempotent: a confirmed booking stays confirmed. */
  async confirmPayment(bookingId: string, paymentId: string): Promise<BookingRecord> {
    const b = await this.get(bookingId);
    if (b.paymentId && b.paymentId !== paymentId) throw conflict("The booking belongs to another payment", { paymentId: b.paymentId });
    const paidFor = (x: BookingRecord) => PAID_STATUSES.has(x.status) && (!x.paymentId || x.paymentId === paymentId);
    if (paidFor(b)) return b;
    try {
      return await this.transition(bookingId, {
        from: ["accepted"],
        to: "confirmed",
        actor: SYSTEM,
        set: { paymentId },
        check: (cur) => {
          if (cur.paymentId && cur.paymentId !== paymentId) throw conflict("The booking belongs to another payment", { paymentId: cur.paymentId });
        },
      });
    } catch (err) {
      // Two confirmations of one payment raced (the driver's answer and the payment.paid fact):
      // the loser answers with what the winner stored.
      const now = await this.get(bookingId);
      if (paidFor(now)) return now;
      throw err;
    }
  }

  /** Requested -> expired when its answer deadline passed; null when there is nothing (more) to do. */
  async expire(id: string): Promise<BookingRecord | null> {
    try {
      return await this.transition(id, {
        from: ["requested"],
        to: "expired",
        actor: SYSTEM,
        reason: "not answered in time",
        check: (b) => {
          if (b.expiresAt > this.iso()) throw invalidState("The request has not expired yet");
        },
      });
    } catch (err) {
      if (err instanceof AppError && (err.type === "INVALID_STATE" || err.type === "NOT_FOUND")) return null;
      throw err;
    }
  }

  // ---- time and facts, and their repair ---------------------------------------

  async releaseHold(b: BookingRecord): Promise<void> {
    await this.calendars.release(b.vehicleId, b._id);
    await this.records.updateOne({ _id: b._id, holdState: "releasing" }, { $set: { holdState: "released" } });
  }

  /** Publishes the facts of timeline entries not yet published; failures stay pending for the sweep. */
  async flushFacts(b: BookingRecord): Promise<void> {
    try {
      for (const e of b.timeline.filter((t) => t.rev > b.factsRev).sort((x, y) => x.rev - y.rev)) {
        await this.publish(FACT_OF[e.status], factOf(b, e), `booking:${b._id}:${e.rev}`);
      }
      await this.records.updateOne({ _id: b._id, rev: b.rev, factsPending: true }, { $set: { factsPending: false, factsRev: b.rev } });
    } catch (err) {
      this.log.warn(`Publishing the facts of booking ${b._id} failed; the sweep will retry:`, (err as Error).message);
    }
  }

  /** Requests past their deadline that no timer expired (a crash, a lost job). */
  async expireOverdue(): Promise<number> {
    const due = await this.records.find({ status: "requested", expiresAt: { $lte: this.iso() } }, { limit: SWEEP_BATCH });
    let n = 0;
    for (const b of due) if (await this.expire(b._id)) n++;
    return n;
  }

  /** Finishes releases a crash interrupted. */
  async releasePending(): Promise<number> {
    const pending = await this.records.find({ holdState: "releasing" }, { limit: SWEEP_BATCH });
    for (const b of pending) await this.releaseHold(b);
    return pending.length;
  }

  /** Re-publishes facts left pending for at least `olderThanMs`. */
  async flushPendingFacts(olderThanMs: number): Promise<number> {
    const pending = await this.records.find({ factsPending: true, updatedAt: { $lt: this.iso(this.now() - olderThanMs) } }, { limit: SWEEP_BATCH });
    for (const b of pending) await this.flushFacts(b);
    return pending.length;
  }

  /** Removes holds taken in [since, now - ORPHAN_AFTER_MS) whose booking was never written (a crash between the two writes). */
  async releaseOrphanHolds(sinceMs: number): Promise<number> {
    const candidates = await this.calendars.holdsTaken(this.iso(sinceMs), this.iso(this.now() - ORPHAN_AFTER_MS));
    if (!candidates.length) return 0;
    const known = new Set((await this.records.find({ _id: { $in: candidates.map((c) => c.hold.bookingId) } })).map((b) => b._id));
    let n = 0;
    for (const c of candidates) {
      if (known.has(c.hold.bookingId)) continue;
      if (await this.calendars.release(c.vehicleId, c.hold.bookingId)) n++;
    }
    if (n) this.log.warn(`Released ${n} hold(s) whose booking was never written`);
    return n;
  }
}

export function factOf(b: BookingRecord, e: TimelineEntry): BookingFactV1 {
  return {
    bookingId: b._id,
    vehicleId: b.vehicleId,
    renterId: b.renterId,
    ownerId: b.ownerId,
    driverId: b.driverId,
    start: b.start,
    end: b.end,
    status: e.status,
    from: e.from,
    actor: e.actor,
    ...(e.reason ? { reason: e.reason } : {}),
    at: e.at,
    price: b.price,
    ...(b.paymentId ? { paymentId: b.paymentId } : {}),
  };
}

export function encodeCursor(id: string): string {
  return Buffer.from(id).toString("base64url");
}

export function decodeCursor(cursor: string): string {
  const id = Buffer.from(cursor, "base64url").toString();
  if (!/^[0-9a-f]{24}$/.test(id)) throw badRequest("The cursor is not valid", { cursor });
  return id;
}
