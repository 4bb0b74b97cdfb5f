/**
 * Per-vehicle calendars: the one place that decides "no two holding bookings
 * of a vehicle overlap", whatever the concurrency and however many
 * bookings-service instances run.
 *
 * One document per vehicle, `{_id: vehicleId, version, holds}`. A hold is
 * added or removed only by `updateOne({_id, version: v}, {$set: {holds},
 * $inc: {version: 1}})` after reading version v: a writer that lost the race
 * matches nothing, reads again and re-checks. The first hold of a vehicle
 * creates the document by insert; a DuplicateKeyError means another writer
 * created it first, so read again. Single-document conditional updates are
 * atomic on NeDB, MongoDB and FerretDB alike; no transactions are needed.
 * Holds that ended in the past are pruned on every write.
 */
import type { BusyMap } from "../../../lib/contracts";
import type { Collection, Database } from "../../../lib/store";
import { AppError, DuplicateKeyError, unavailable } from "../../../lib/errors";
import { overlaps } from "./window";

export interface Hold {
  bookingId: string;
  /** ISO UTC; [start, end) */
  start: string;
  end: string;
  /** When the hold was taken (to find holds whose booking was never written). */
  at: string;
}

export interface CalendarDoc { _id: string; version: number; holds: Hold[] }

/** Lost races before giving up with 503; each round at least one writer wins. */
const MAX_ROUNDS = 100;

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Calendars {
  readonly docs: Collection<CalendarDoc>;

  constructor(db: Database, private readonly now: () => number = Date.now) {
    this.docs = db.collection<CalendarDoc>("calendars");
  }

  /**
   * Adds `hold` to the vehicle's calendar, or throws 409 BOOKING_CONFLICT
   * naming the window it overlaps. Idempotent for the same bookingId.
   */
  async reserve(vehicleId: string, hold: Hold): Promise<void> {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const cal = await this.docs.findById(vehicleId);
      if (!cal) {
        try {
          await this.docs.insert({ _id: vehicleId, version: 1, holds: [hold] });
          return;
        } catch (err) {
          if (!(err instanceof DuplicateKeyError)) throw err;
          continue; // created by someone else a moment ago: read it and check again
        }
      }
      const live = this.live(cal.holds);
      if (live.some((h) => h.bookingId === hold.bookingId)) return;
      const clash = live.find((h) => overlaps(h, hold));
      if (clash) {
        throw new AppError("BOOKING_CONFLICT", "The vehicle is already booked for part of this time", {
          reason: "overlap",
          vehicleId,
          conflicting: { start: clash.start, end: clash.end },
        });
      }
      if (await this.docs.updateOne({ _id: vehicleId, version: cal.version }, { $set: { holds: [...live, hold] }, $inc: { version: 1 } })) return;
      await pause(Math.random() * Math.min(2 * round, 20));
    }
    throw unavailable("The vehicle's calendar");
  }

  /** Removes the booking's hold; true when there was one. Safe to repeat. */
  async release(vehicleId: string, bookingId: string): Promise<boolean> {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const cal = await this.docs.findById(vehicleId);
      if (!cal || !cal.holds.some((h) => h.bookingId === bookingId)) return false;
      const rest = this.live(cal.holds).filter((h) => h.bookingId !== bookingId);
      if (await this.docs.updateOne({ _id: vehicleId, version: cal.version }, { $set: { holds: rest }, $inc: { version: 1 } })) return true;
      await pause(Math.random() * Math.min(2 * round, 20));
    }
    throw unavailable("The vehicle's calendar");
  }

  /** Held windows overlapping [start, end) for each vehicle (every asked id is a key), in one read. */
  async busy(vehicleIds: string[], start: string, end: string): Promise<BusyMap> {
    const out: BusyMap = {};
    for (const id of vehicleIds) out[id] = [];
    if (!vehicleIds.length) return out;
    const cals = await this.docs.find({ _id: { $in: vehicleIds } });
    for (const cal of cals) {
      out[cal._id] = this.live(cal.holds)
        .filter((h) => overlaps(h, { start, end }))
        .sort((a, b) => (a.start < b.start ? -1 : 1))
        .map((h) => ({ start: h.start, end: h.end }));
    }
    return out;
  }

  /** Live holds of one vehicle. */
  async holds(vehicleId: string): Promise<Hold[]> {
    const cal = await this.docs.findById(vehicleId);
    return cal ? this.live(cal.holds) : [];
  }

  /** Holds taken in [since, before): candidates for "the booking was never written". */
  async holdsTaken(since: string, before: string): Promise<{ vehicleId: string; hold: Hold }[]> {
    const cals = await this.docs.find({ "holds.at": { $lt: before } });
    const out: { vehicleId: string; hold: Hold }[] = [];
    for (const cal of cals) for (const hold of this.live(cal.holds)) if (hold.at >= since && hold.at < before) out.push({ vehicleId: cal._id, hold });
    return out;
  }

  private live(holds: Hold[]): Hold[] {
    const now = new Date(this.now()).toISOString();
    return holds.filter((h) => h.end > now);
  }
}
