/**
 * bookings: booking requests with overlap-free per-vehicle calendars, the
 * status machine with its timeline, expiry of unanswered requests, and the
 * booking saga (payments -> driver link -> notifications, compensated on
 * failure). Routes: gateway/routes/bookings.ts. Logic: ./domain, ./saga.
 */
import { newId } from "../../lib/ids";
import type { Context } from "moleculer";
import { config } from "../../lib/config";
import type { BusyMap, DriverContact, VehicleView } from "../../lib/contracts";
import { AppError, forbidden, unauthenticated, validationError } from "../../lib/errors";
import type { Fact } from "../../lib/events";
import { onFact, publishFact } from "../../lib/facts";
import { defineService, resources, type WithResources } from "../../lib/service";
import { defineParams, type Params } from "../../lib/validation";
import type { AuthUser, RequestMeta } from "../../lib/auth-types";
import { parseInstant } from "../vehicles/domain/availability";
import { Bookings, ORPHAN_AFTER_MS } from "./domain/bookings";
import { normaliseStatus, toTimeline, toView, type Actor, type ActorKind, type BookingRecord, type BookingStatus } from "./domain/model";
import { checkWindow } from "./domain/window";
import { BookingSaga, type SagaPeers } from "./saga/saga";

const id = { type: "string", min: 1, max: 100 } as const;
const reason = { type: "string", max: 500, trim: true, optional: true } as const;

const createParams = defineParams({
  vehicleId: id,
  start: { type: "string", max: 40 },
  end: { type: "string", max: 40 },
  message: { type: "string", max: 1000, trim: true, optional: true },
});
const listParams = defineParams({
  as: { type: "enum", values: ["renter", "owner"] as const, optional: true },
  status: { type: "string", max: 200, optional: true },
  limit: { type: "number", integer: true, min: 1, max: 100, convert: true, optional: true },
  cursor: { type: "string", max: 100, optional: true },
  offset: { type: "number", integer: true, min: 0, max: 100_000, convert: true, optional: true },
});
const byIdParams = defineParams({ id });
const adminListParams = defineParams({
  status: { type: "string", max: 200, optional: true },
  vehicleId: { ...id, optional: true },
  renterId: { ...id, optional: true },
  ownerId: { ...id, optional: true },
  from: { type: "string", max: 40, optional: true },
  to: { type: "string", max: 40, optional: true },
  limit: { type: "number", integer: true, min: 1, max: 100, convert: true, optional: true },
  cursor: { type: "string", max: 100, optional: true },
});
const withReasonParams = defineParams({ id, reason });
const confirmParams = defineParams({ bookingId: id, paymentId: id });
const busyParams = defineParams({
  vehicleIds: { type: "array", items: { type: "string", min: 1, max: 100 }, max: 1000 },
  start: { type: "string", max: 40 },
  end: { type: "string", max: 40 },
});

interface Self extends WithResources {
  bookings: Bookings;
  saga: BookingSaga;
  sweepTimer?: NodeJS.Timeout;
  stopping: boolean;
  sweeping: boolean;
  actorFor(ctx: Ctx<unknown>, b: BookingRecord, allowed: ActorKind[]): Promise<Actor>;
  isDriver(ctx: Ctx<unknown>, b: BookingRecord): Promise<boolean>;
  scheduleExpiry(b: BookingRecord): Promise<void>;
  onExpireJob(bookingId: string): Promise<void>;
  sweep(startUp: boolean): Promise<void>;
}
type Ctx<P> = Context<P, RequestMeta>;

function me(ctx: Ctx<unknown>): AuthUser {
  if (!ctx.meta.user) throw unauthenticated();
  return ctx.meta.user;
}

function parseStatuses(input: string | undefined): BookingStatus[] | undefined {
  if (!input) return undefined;
  const out: BookingStatus[] = [];
  for (const raw of input.split(",").map((s) => s.trim()).filter(Boolean)) {
    const s = normaliseStatus(raw);
    if (!s) throw validationError([{ field: "status", message: `"${raw}" is not a booking status` }]);
    out.push(s);
  }
  return out;
}

/** The services the saga calls. */
const SAGA_PEERS = ["payments", "driverLinks", "notifications"];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const BookingsService = defineService<Self>({
  name: "bookings",
  mixins: [resources({ db: true, queue: true })],

  actions: {
    create: {
      roles: ["renter"],
      kyc: true,
      summary: "Request a booking of a vehicle for a time window",
      params: createParams,
      async handler(this: Self, ctx: Ctx<Params<typeof createParams>>) {
        const user = me(ctx);
        const window = checkWindow(ctx.params.start, ctx.params.end, { now: Date.now(), maxDays: config().bookings.maxDays });
        const vehicle = await ctx.call<VehicleView, { id: string }>("vehicles.get", { id: ctx.params.vehicleId });
        const b = await this.bookings.create({ vehicle, renterId: user.id, window, message: ctx.params.message });
        await this.scheduleExpiry(b);
        ctx.meta.$statusCode = 201;
        return toView(b);
      },
    },

    list: {
      summary: "My bookings, as renter or owner, newest first (status synonyms: pending, approved, rejected)",
      params: listParams,
      async handler(this: Self, ctx: Ctx<Params<typeof listParams>>) {
        const p = ctx.params;
        const page = await this.bookings.list({ userId: me(ctx).id, as: p.as, statuses: parseStatuses(p.status), limit: p.limit ?? 20, cursor: p.cursor, offset: p.offset });
        return { items: page.items.map(toView), nextCursor: page.nextCursor };
      },
    },

    get: {
      summary: "One booking (its parties and admins)",
      params: byIdParams,
      async handler(this: Self, ctx: Ctx<Params<typeof byIdParams>>) {
        const b = await this.bookings.get(ctx.params.id);
        await this.actorFor(ctx, b, ["renter", "owner", "driver"]);
        return toView(b);
      },
    },

    timeline: {
      summary: "Every transition of a booking, with actor, reason and time",
      params: byIdParams,
      async handler(this: Self, ctx: Ctx<Params<typeof byIdParams>>) {
        const b = await this.bookings.get(ctx.params.id);
        await this.actorFor(ctx, b, ["renter", "owner", "driver"]);
        return { bookingId: b._id, items: toTimeline(b), nextCursor: null };
      },
    },

    accept: {
      roles: ["owner"],
      kyc: true,
      summary: "Accept a booking request; starts payment, driver link and notifications",
      params: byIdParams,
      async handler(this: Self, ctx: Ctx<Params<typeof byIdParams>>) {
        const current = await this.bookings.get(ctx.params.id);
        const actor = await this.actorFor(ctx, current, ["owner"]);
        // The vehicle's driver now, not when the request was made.
        const vehicle = await ctx.call<VehicleView, { id: string }>("vehicles.get", { id: current.vehicleId });
        const b = await this.bookings.transition(current._id, {
          from: ["requested"],
          to: "accepted",
          actor,
          set: { driverId: vehicle.driverId ?? null, sagaPending: true },
          check: (cur) => {
            if (cur.expiresAt <= new Date().toISOString()) throw new AppError("INVALID_STATE", "The request has expired", { status: "expired" });
          },
        });
        await this.saga.begin(b).catch((err) => this.logger.warn(`Booking ${b._id}: starting the saga failed; the sweep will:`, err?.message));
        return toView(b);
      },
    },

    reissueDriverLink: {
      roles: ["owner"],
      summary: "Send the vehicle's driver a new payment link; the old one stops working. Send an Idempotency-Key to make a retry safe.",
      params: byIdParams,
      async handler(this: Self, ctx: Ctx<Params<typeof byIdParams>>) {
        const current = await this.bookings.get(ctx.params.id);
        await this.actorFor(ctx, current, ["owner"]);
        const link = await this.saga.reissueDriverLink(current, ctx.meta.idempotencyKey ?? newId());
        return { bookingId: current._id, linkId: link.linkId, expiresAt: link.expiresAt };
      },
    },

    decline: {
      roles: ["owner"],
      summary: "Decline a booking request",
      params: withReasonParams,
      async handler(this: Self, ctx: Ctx<Params<typeof withReasonParams>>) {
        const b = await this.bookings.transition(ctx.params.id, { from: ["requested"], to: "declined", actor: (cur) => this.actorFor(ctx, cur, ["owner"]), reason: ctx.params.reason });
        return toView(b);
      },
    },

    cancel: {
      summary: "Cancel a booking (renter or owner) before pickup",
      params: withReasonParams,
      async handler(this: Self, ctx: Ctx<Params<typeof withReasonParams>>) {
        const b = await this.bookings.transition(ctx.params.id, {
          from: ["requested", "accepted", "confirmed"],
          to: "cancelled",
          actor: (cur) => this.actorFor(ctx, cur, ["renter", "owner"]),
          reason: ctx.params.reason,
        });
        const from = b.timeline[b.timeline.length - 1]?.from;
        if (from === "accepted" || from === "confirmed") {
          await this.saga.abort(b._id).catch((err) => this.logger.warn(`Booking ${b._id}: undoing the saga failed:`, err?.message));
        }
        return toView(b);
      },
    },

    pickup: {
      summary: "Record that the renter picked the vehicle up (owner or driver)",
      params: byIdParams,
      async handler(this: Self, ctx: Ctx<Params<typeof byIdParams>>) {
        const b = await this.bookings.transition(ctx.params.id, { from: ["confirmed"], to: "active", actor: (cur) => this.actorFor(ctx, cur, ["owner", "driver"]) });
        return toView(b);
      },
    },

    return: {
      summary: "Record that the vehicle came back (owner or driver)",
      params: byIdParams,
      async handler(this: Self, ctx: Ctx<Params<typeof byIdParams>>) {
        const b = await this.bookings.transition(ctx.params.id, { from: ["active"], to: "completed", actor: (cur) => this.actorFor(ctx, cur, ["owner", "driver"]) });
        return toView(b);
      },
    },

    adminList: {
      roles: ["admin"],
      summary: "All bookings, newest first (admin). Filters: status (comma list, synonyms accepted), vehicleId, renterId, ownerId, from/to (bookings whose time overlaps [from, to))",
      params: adminListParams,
      async handler(this: Self, ctx: Ctx<Params<typeof adminListParams>>) {
        const p = ctx.params;
        const at = (field: "from" | "to") => {
          if (!p[field]) return undefined;
          const ms = parseInstant(p[field]!);
          if (Number.isNaN(ms)) throw validationError([{ field, message: "must be an ISO 8601 date-time with an offset" }]);
          return new Date(ms).toISOString();
        };
        const page = await this.bookings.listAll({ statuses: parseStatuses(p.status), vehicleId: p.vehicleId, renterId: p.renterId, ownerId: p.ownerId, from: at("from"), to: at("to"), limit: p.limit ?? 20, cursor: p.cursor });
        return { items: page.items.map(toView), nextCursor: page.nextCursor };
      },
    },

    /** Internal (driver-links, payments): the booking's payment is confirmed. Idempotent. */
    confirmPayment: {
      visibility: "public",
      params: confirmParams,
      async handler(this: Self, ctx: Ctx<Params<typeof confirmParams>>) {
        return toView(await this.bookings.confirmPayment(ctx.params.bookingId, ctx.params.paymentId));
      },
    },

    /** Internal (vehicles search): held windows overlapping [start, end) per vehicle, in one call. */
    busy: {
      visibility: "public",
      params: busyParams,
      async handler(this: Self, ctx: Ctx<Params<typeof busyParams>>): Promise<BusyMap> {
        const start = parseInstant(ctx.params.start);
        const end = parseInstant(ctx.params.end);
        const problems = [];
        if (Number.isNaN(start)) problems.push({ field: "start", message: "must be an ISO 8601 date-time with an offset" });
        if (Number.isNaN(end)) problems.push({ field: "end", message: "must be an ISO 8601 date-time with an offset" });
        if (problems.length) throw validationError(problems);
        return this.bookings.calendars.busy([...new Set(ctx.params.vehicleIds)], new Date(start).toISOString(), new Date(end).toISOString());
      },
    },
  },

  channels: {
    /** A paid payment confirms its accepted booking. */
    "payment.paid": onFact(async function (this: any, fact: Fact<{ bookingId?: string; paymentId?: string; id?: string }>) {
      const self = this as Self;
      const bookingId = fact.data?.bookingId;
      const paymentId = fact.data?.paymentId ?? fact.data?.id;
      if (!bookingId || !paymentId) return;
      try {
        await self.bookings.confirmPayment(bookingId, paymentId);
      } catch (err) {
        if (err instanceof AppError && ["INVALID_STATE", "NOT_FOUND", "CONFLICT"].includes(String(err.type))) {
          self.logger.warn(`payment.paid for booking ${bookingId} ignored: ${err.message}`);
          return;
        }
        throw err;
      }
    }),
  },

  methods: {
    /** Who the caller is for this booking, among `allowed` (admins always); 403 otherwise. */
    async actorFor(this: Self, ctx: Ctx<unknown>, b: BookingRecord, allowed: ActorKind[]): Promise<Actor> {
      const user = me(ctx);
      if (allowed.includes("renter") && b.renterId === user.id) return { id: user.id, kind: "renter" };
      if (allowed.includes("owner") && b.ownerId === user.id) return { id: user.id, kind: "owner" };
      if (user.roles.includes("admin")) return { id: user.id, kind: "admin" };
      if (allowed.includes("driver") && (await this.isDriver(ctx, b))) return { id: user.id, kind: "driver" };
      const who = allowed.map((k) => (k === "renter" ? "its renter" : k === "owner" ? "the vehicle's owner" : "its driver")).join(" or ");
      throw forbidden(`Only ${who} may do this`);
    },

    /** The caller is the booking's driver: the driver's phone is the caller's login phone. */
    async isDriver(this: Self, ctx: Ctx<unknown>, b: BookingRecord): Promise<boolean> {
      if (!b.driverId) return false;
      try {
        const [driver, user] = await Promise.all([
          ctx.call<DriverContact, { driverId: string }>("vehicles.driverContact", { driverId: b.driverId }),
          ctx.call<{ phone: string | null }>("auth.me"),
        ]);
        return Boolean(user.phone) && driver.phone === user.phone;
      } catch (err) {
        if (err instanceof AppError && err.type === "NOT_FOUND") return false;
        throw err;
      }
    },

    async scheduleExpiry(this: Self, b: BookingRecord) {
      const delayMs = Math.max(0, Date.parse(b.expiresAt) - Date.now());
      await this.queue.add("expire", { bookingId: b._id }, { jobId: `expire:${b._id}`, delayMs }).catch((err) => this.logger.warn(`Booking ${b._id}: expiry timer not set; the sweep will expire it:`, err?.message));
    },

    async onExpireJob(this: Self, bookingId: string) {
      const b = await this.bookings.records.findById(bookingId);
      if (!b || b.status !== "requested") return;
      const wait = Date.parse(b.expiresAt) - Date.now();
      if (wait > 5000) return; // not ours to wait for: the sweep or a later timer expires it
      if (wait > 0) await sleep(wait);
      await this.bookings.expire(bookingId);
    },

    /** Repairs what a crash or a lost timer left: run at start-up and every BOOKING_SWEEP_INTERVAL. */
    async sweep(this: Self, startUp: boolean) {
      // The start-up sweep must run: let a periodic one that is under way finish first.
      while (startUp && this.sweeping && !this.stopping) await sleep(100);
      if (this.stopping || this.sweeping) return;
      this.sweeping = true;
      const interval = config().bookings.sweepIntervalMs;
      const tasks: [string, () => Promise<unknown>][] = [
        ["expire overdue requests", () => this.bookings.expireOverdue()],
        ["release time", () => this.bookings.releasePending()],
        ["publish facts", () => this.bookings.flushPendingFacts(startUp ? 0 : 30_000)],
        ["release orphan holds", () => this.bookings.releaseOrphanHolds(startUp ? 0 : Date.now() - ORPHAN_AFTER_MS - 10 * interval)],
        ["resume sagas", () => this.saga.resume(startUp ? 0 : 30_000, startUp ? `start${Date.now()}` : `sweep${Math.floor(Date.now() / interval)}`)],
      ];
      if (startUp) {
        // The embedded queue lived in memory: set the expiry timers again.
        tasks.push(["expiry timers", async () => {
          for (const b of await this.bookings.records.find({ status: "requested" })) await this.scheduleExpiry(b);
        }]);
      }
      try {
        for (const [what, task] of tasks) {
          if (this.stopping) return;
          await task().catch((err) => this.logger.warn(`Sweep (${what}) failed:`, err?.message));
        }
      } finally {
        this.sweeping = false;
      }
    },
  },

  async started(this: Self) {
    const cfg = config();
    this.stopping = false;
    this.sweeping = false;
    const publish = (type: Parameters<typeof publishFact>[1], data: unknown, factId: string) => publishFact(this.broker, type, data, { id: factId });
    this.bookings = new Bookings(this.db, cfg, publish, this.logger);

    const call = <T>(action: string, params: unknown) => this.broker.call(action, params, { timeout: 10_000 }) as Promise<T>;
    const peers: SagaPeers = {
      createPayment: (cmd) => call("payments.createForBooking", cmd),
      issueDriverLink: (cmd) => call("driverLinks.issue", cmd),
      notify: (m) => call("notifications.send", { key: m.key, channel: "in_app", kind: m.template.replace("_", "."), userId: m.userId, template: m.template, params: m.params, data: { bookingId: String(m.params.bookingId) } }),
      revokeDriverLinks: (bookingId) => call("driverLinks.revokeForBooking", { bookingId }),
      voidPayment: (bookingId, why) => call("payments.voidForBooking", { bookingId, reason: why }),
    };
    const attempts = cfg.bookings.sagaAttempts;
    const schedule = (bookingId: string, key: string, suffix?: string) =>
      this.queue.add("saga", { bookingId }, { jobId: `saga:${bookingId}:${key}${suffix ? `:${suffix}` : ""}`, attempts, backoffMs: cfg.bookings.sagaBackoffMs });
    this.saga = new BookingSaga(this.db, this.bookings, peers, schedule, { maxAttempts: attempts }, this.logger);

    // Bull's first calls fail (and log) while Redis is still connecting: give it a moment.
    await this.queue.ping().catch(() => undefined);
    this.queue.process<{ bookingId: string }>("expire", (job) => this.onExpireJob(job.bookingId), 4);
    this.queue.process<{ bookingId: string }>("saga", (job) => this.saga.run(job.bookingId), 8);

    this.sweepTimer = setInterval(() => void this.sweep(false), cfg.bookings.sweepIntervalMs);
    this.sweepTimer.unref();
    // Resume once the peers the saga calls are up (or after a while without them).
    void (async () => {
      const until = Date.now() + 15_000;
      const registry = (this.broker as any).registry;
      while (!this.stopping && Date.now() < until && !SAGA_PEERS.every((n) => registry.hasService(n))) {
        await new Promise((r) => setTimeout(r, 200).unref());
      }
      await this.sweep(true);
    })();
  },

  async stopped(this: Self) {
    this.stopping = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
  },
});

export default BookingsService;
