/**
 * Ratings of the parties of a completed booking. One per (booking, rater,
 * target): the `_id` is `${bookingId}:${raterId}:${target}`, so a second one
 * is a unique-key conflict on every store. A booking's ratings stay hidden
 * until both sides rated (the renter anything, the owner the renter) or the
 * reveal window after completion ended, and are then shown together: neither
 * side can answer the other's rating with its own.
 */
import type { AuthUser } from "../../../lib/auth-types";
import { badRequest, DuplicateKeyError, duplicate, forbidden, invalidState, notFound } from "../../../lib/errors";
import type { BookingStatusV1 } from "../../../lib/events";
import type { Collection, Database, Filter } from "../../../lib/store";
import { bayesianRating } from "./formula";
import { MAY_RATE, subjectKey, type RaterRole, type RatingCategories, type RatingRecord, type RatingTarget, type SubjectType } from "./model";
import type { ReadModels } from "./read-models";

/** What rating needs to know about a booking. */
export interface BookingFacts { id: string; vehicleId: string; renterId: string; ownerId: string; driverId: string | null; status: BookingStatusV1; completedAt?: string }

/** Asks the bookings service once, when the read model does not know the booking (yet) as completed. */
export type BookingLookup = (bookingId: string) => Promise<BookingFacts | null>;

export interface RatingInput { target: RatingTarget; score: number; categories?: RatingCategories; comment?: string; recommend?: boolean }

export interface RatingView {
  id: string;
  bookingId: string;
  target: RatingTarget;
  subjectType: SubjectType;
  subjectId: string;
  vehicleId: string;
  raterId: string;
  raterRole: RaterRole;
  score: number;
  categories?: RatingCategories;
  comment?: string;
  recommend?: boolean;
  createdAt: string;
  revealed: boolean;
  revealAt: string;
}

export interface RatingSummary {
  count: number;
  average: number | null;
  /** (10 * 4.0 + sum) / (10 + count): what the trust score uses (docs/trust.md). */
  bayesian: number;
  categories: { cleanliness: number | null; punctuality: number | null; communication: number | null };
  recommendRate: number | null;
}

export interface Page<T> { items: T[]; nextCursor: string | null }

export function toRatingView(r: RatingRecord): RatingView {
  return {
    id: r._id,
    bookingId: r.bookingId,
    target: r.target,
    subjectType: r.subjectType,
    subjectId: r.subjectId,
    vehicleId: r.vehicleId,
    raterId: r.raterId,
    raterRole: r.raterRole,
    score: r.score,
    ...(r.categories && { categories: r.categories }),
    ...(r.comment !== undefined && { comment: r.comment }),
    ...(r.recommend !== undefined && { recommend: r.recommend }),
    createdAt: r.createdAt,
    revealed: r.revealed,
    revealAt: r.revealAt,
  };
}

const avg = (xs: number[]) => (xs.length ? Math.round((xs.reduce((s, x) => s + x, 0) / xs.length) * 100) / 100 : null);

function encodeCursor(r: RatingRecord): string {
  return Buffer.from(`${r.createdAt}|${r._id}`).toString("base64url");
}

function decodeCursor(cursor: string): { createdAt: string; id: string } {
  const [createdAt, id] = Buffer.from(cursor, "base64url").toString().split("|");
  if (!createdAt || !id || Number.isNaN(Date.parse(createdAt))) throw badRequest("The cursor is not valid", { cursor });
  return { createdAt, id };
}

export class Ratings {
  readonly records: Collection<RatingRecord>;

  constructor(db: Database, private readonly models: ReadModels, private readonly now: () => number, private readonly revealAfterMs: number) {
    this.records = db.collection<RatingRecord>("ratings", [
      { fields: { subject: 1, revealed: 1 } },
      { fields: { bookingId: 1 } },
      { fields: { revealed: 1, revealAt: 1 } },
    ]);
  }

  /** The booking from the read model; from the bookings service when the read model does not know it as completed. */
  async booking(bookingId: string, lookup?: BookingLookup): Promise<BookingFacts | null> {
    const row = await this.models.bookings.findById(bookingId);
    if (row?.status === "completed") return { id: row._id, vehicleId: row.vehicleId, renterId: row.renterId, ownerId: row.ownerId, driverId: row.driverId, status: row.status, completedAt: row.completedAt };
    const asked = lookup ? await lookup(bookingId) : null;
    if (asked) return asked;
    return row && { id: row._id, vehicleId: row.vehicleId, renterId: row.renterId, ownerId: row.ownerId, driverId: row.driverId, status: row.status };
  }

  /** Creates the rating; returns it and the ratings of the booking this one revealed (both sides have rated). */
  async rate(user: AuthUser, bookingId: string, input: RatingInput, lookup?: BookingLookup): Promise<{ rating: RatingRecord; revealed: RatingRecord[] }> {
    const b = await this.booking(bookingId, lookup);
    if (!b) throw notFound("The booking");
    const role: RaterRole | null = user.id === b.renterId ? "renter" : user.id === b.ownerId ? "owner" : null;
    if (!role) throw forbidden("Only the renter and the owner of this booking may rate it");
    if (b.status !== "completed") throw invalidState("A booking can be rated once it is completed", { status: b.status });
    if (!MAY_RATE[role].includes(input.target)) throw forbidden(`As the ${role} of this booking you may rate its ${MAY_RATE[role].join(", ")}`);
    if (input.target === "driver" && !b.driverId) throw badRequest("This booking had no driver to rate", { target: "driver" });

    const [subjectType, subjectId]: [SubjectType, string] =
      input.target === "vehicle" ? ["vehicle", b.vehicleId]
      : input.target === "driver" ? ["driver", b.driverId!]
      : input.target === "owner" ? ["user", b.ownerId]
      : ["user", b.renterId];
    const now = new Date(this.now()).toISOString();
    const windowEnds = new Date(Date.parse(b.completedAt ?? now) + this.revealAfterMs).toISOString();
    const rating: RatingRecord = {
      _id: `${bookingId}:${user.id}:${input.target}`,
      bookingId,
      raterId: user.id,
      raterRole: role,
      target: input.target,
      subjectType,
      subjectId,
      subject: subjectKey(subjectType, subjectId),
      vehicleId: b.vehicleId,
      score: input.score,
      ...(input.categories && Object.keys(input.categories).length ? { categories: input.categories } : {}),
      ...(input.comment ? { comment: input.comment } : {}),
      ...(input.recommend !== undefined ? { recommend: input.recommend } : {}),
      createdAt: now,
      // Rated after the window ended: nothing to wait for.
      revealed: windowEnds <= now,
      revealAt: windowEnds,
      ...(windowEnds <= now ? { revealedAt: now } : {}),
    };
    try {
      await this.records.insert(rating);
    } catch (err) {
      if (err instanceof DuplicateKeyError) throw duplicate(`You already rated the ${input.target} of this booking`, { bookingId, target: input.target });
      throw err;
    }
    // Both sides insert before they look, so of two ratings made at once at least one sees the other.
    const otherSide = await this.records.findOne({ bookingId, raterRole: role === "renter" ? "owner" : "renter" });
    const revealed = otherSide ? await this.reveal({ bookingId, revealed: false }) : [];
    return { rating: (await this.records.findById(rating._id)) ?? rating, revealed };
  }

  /** Ratings whose window ended and are not shown yet: shows them. Returns those it revealed. */
  revealDue(): Promise<RatingRecord[]> {
    return this.reveal({ revealed: false, revealAt: { $lte: new Date(this.now()).toISOString() } });
  }

  /** Reveals each matching rating with its own conditional update; returns the ones this call revealed. */
  private async reveal(filter: Filter): Promise<RatingRecord[]> {
    const out: RatingRecord[] = [];
    const now = new Date(this.now()).toISOString();
    for (const r of await this.records.find(filter, { limit: 1000 })) {
      const done = await this.records.updateOne({ _id: r._id, revealed: false }, { $set: { revealed: true, revealedAt: now } });
      if (done) out.push(done);
    }
    return out;
  }

  /** Revealed ratings of a subject, newest first, with the summary of all of them. */
  async list(subject: string, q: { limit: number; cursor?: string }): Promise<Page<RatingView> & { summary: RatingSummary }> {
    const filter: Filter = { subject, revealed: true };
    let paged: Filter = filter;
    if (q.cursor) {
      const c = decodeCursor(q.cursor);
      paged = { $and: [filter, { $or: [{ createdAt: { $lt: c.createdAt } }, { createdAt: c.createdAt, _id: { $lt: c.id } }] }] };
    }
    const [rows, all] = await Promise.all([
      this.records.find(paged, { sort: { createdAt: -1, _id: -1 }, limit: q.limit + 1 }),
      this.records.find(filter),
    ]);
    const items = rows.slice(0, q.limit);
    return { items: items.map(toRatingView), nextCursor: rows.length > q.limit ? encodeCursor(items[items.length - 1]) : null, summary: summarise(all) };
  }

  /** A booking's ratings as one of its parties sees them: their own, and the others once revealed. Admins see all. */
  async forBooking(user: AuthUser, bookingId: string, lookup?: BookingLookup): Promise<{ items: RatingView[]; nextCursor: null }> {
    const admin = user.roles.includes("admin");
    const b = await this.booking(bookingId, admin ? undefined : lookup);
    if (!b && !admin) throw notFound("The booking");
    if (b && !admin && user.id !== b.renterId && user.id !== b.ownerId) throw forbidden("Only the parties of this booking may see its ratings");
    const rows = await this.records.find({ bookingId }, { sort: { createdAt: 1, _id: 1 } });
    return { items: rows.filter((r) => admin || r.revealed || r.raterId === user.id).map(toRatingView), nextCursor: null };
  }
}

export function summarise(rows: RatingRecord[]): RatingSummary {
  const scores = rows.map((r) => r.score);
  const cat = (k: keyof RatingCategories) => avg(rows.map((r) => r.categories?.[k]).filter((x): x is number => typeof x === "number"));
  const recommends = rows.filter((r) => r.recommend !== undefined);
  return {
    count: rows.length,
    average: avg(scores),
    bayesian: Math.round(bayesianRating(rows.length, scores.reduce((s, x) => s + x, 0)) * 100) / 100,
    categories: { cleanliness: cat("cleanliness"), punctuality: cat("punctuality"), communication: cat("communication") },
    recommendRate: recommends.length ? Math.round((recommends.filter((r) => r.recommend).length / recommends.length) * 10_000) / 10_000 : null,
  };
}
