/**
 * trust: ratings of completed bookings, trust scores (0-100) of users and
 * drivers, admins' flags and score overrides, and the admin analytics.
 * It learns everything else from facts (bookings, payments, KYC) into its
 * own read models, so no request calls another service (one exception: a
 * rating for a booking it has not yet seen completed asks bookings once).
 * Routes: gateway/routes/trust.ts and admin.ts. Formula: docs/trust.md.
 */
import type { Context } from "moleculer";
import { recordAudit } from "../../lib/audit";
import type { RequestMeta } from "../../lib/auth-types";
import { config } from "../../lib/config";
import { unauthenticated } from "../../lib/errors";
import type { BookingStatusV1, Fact } from "../../lib/events";
import { onFact, publishFact } from "../../lib/facts";
import { defineService, resources, type WithResources } from "../../lib/service";
import { defineParams, type Params } from "../../lib/validation";
import { toFlagView } from "./domain/flags";
import { subjectKey, type ScoredType } from "./domain/model";
import type { BookingLookup } from "./domain/ratings";
import { CONSUMED } from "./domain/read-models";
import { Trust } from "./domain/trust";

const id = { type: "string", min: 1, max: 100 } as const;
const limit = { type: "number", integer: true, min: 1, max: 100, convert: true, optional: true } as const;
const cursor = { type: "string", min: 1, max: 300, optional: true } as const;
const stars = { type: "number", integer: true, min: 1, max: 5, convert: false } as const;
const scoredType = { type: "enum", values: ["user", "driver"] as const, optional: true } as const;

const rateParams = defineParams({
  id,
  target: { type: "enum", values: ["vehicle", "owner", "driver", "renter"] as const },
  score: stars,
  categories: {
    type: "object",
    optional: true,
    strict: true,
    props: { cleanliness: { ...stars, optional: true }, punctuality: { ...stars, optional: true }, communication: { ...stars, optional: true } },
  },
  comment: { type: "string", max: 1000, trim: true, optional: true },
  recommend: { type: "boolean", optional: true },
});
const byIdParams = defineParams({ id });
const listParams = defineParams({ id, limit, cursor });
const raiseFlagParams = defineParams({
  subjectType: { type: "enum", values: ["user", "driver", "vehicle"] as const },
  subjectId: id,
  reason: { type: "string", min: 3, max: 1000, trim: true },
});
const listFlagsParams = defineParams({
  status: { type: "enum", values: ["open", "resolved"] as const, optional: true },
  subjectType: { type: "enum", values: ["user", "driver", "vehicle"] as const, optional: true },
  subjectId: { ...id, optional: true },
  limit,
  cursor: { type: "string", pattern: "^[0-9a-f]{24}$", optional: true, messages: { stringPattern: "is not a cursor this list gave out" } },
});
const resolveFlagParams = defineParams({ id, note: { type: "string", max: 1000, trim: true, optional: true } });
const overrideParams = defineParams({
  userId: id,
  score: { type: "number", integer: true, min: 0, max: 100, convert: false },
  reason: { type: "string", min: 3, max: 1000, trim: true },
  subjectType: scoredType,
});
const clearOverrideParams = defineParams({ userId: id, subjectType: scoredType });
const analyticsParams = defineParams({
  from: { type: "string", max: 40, optional: true },
  to: { type: "string", max: 40, optional: true },
  daily: { type: "boolean", convert: true, optional: true },
});

interface Self extends WithResources {
  trust: Trust;
  sweepTimer?: NodeJS.Timeout;
  bookingLookup(ctx: Ctx<unknown>): BookingLookup;
}
type Ctx<P> = Context<P, RequestMeta>;

function me(ctx: Ctx<unknown>) {
  if (!ctx.meta.user) throw unauthenticated();
  return ctx.meta.user;
}

const isAdmin = (ctx: Ctx<unknown>) => Boolean(ctx.meta.user?.roles.includes("admin"));

/** One consumer per fact type (onFact types `this` as the bare service: see lib/facts.ts). */
function trustFact() {
  return onFact(async function (fact: Fact<unknown>) {
    await (this as unknown as Self).trust.consume(fact);
  });
}

/** Errors that mean "bookings cannot answer now": then the read model's answer stands. */
const BOOKINGS_AWAY = new Set(["SERVICE_NOT_FOUND", "SERVICE_NOT_AVAILABLE", "REQUEST_TIMEOUT", "SERVICE_UNAVAILABLE"]);

const TrustService = defineService<Self>({
  name: "trust",
  mixins: [resources({ db: true, kv: false, queue: false })],

  actions: {
    // ---- ratings ------------------------------------------------------------------

    rate: {
      summary:
        "Rate a party of a completed booking, once per target: the renter rates the vehicle, the owner and the driver (if the booking had one); the owner rates the renter. " +
        "Ratings stay hidden until both sides rated or 14 days (RATING_REVEAL_AFTER) after completion, then appear together, so neither side can retaliate.",
      params: rateParams,
      async handler(this: Self, ctx: Ctx<Params<typeof rateParams>>) {
        const { id: bookingId, ...input } = ctx.params;
        const view = await this.trust.rate(me(ctx), bookingId, input, this.bookingLookup(ctx));
        ctx.meta.$statusCode = 201;
        return view;
      },
    },

    bookingRatings: {
      summary: "A booking's ratings as its parties see them: their own, and the other side's once revealed (admins see all)",
      params: byIdParams,
      handler(this: Self, ctx: Ctx<Params<typeof byIdParams>>) {
        return this.trust.ratings.forBooking(me(ctx), ctx.params.id, this.bookingLookup(ctx));
      },
    },

    vehicleRatings: {
      auth: "public",
      summary: "A vehicle's revealed ratings, newest first, with their averages",
      params: listParams,
      handler(this: Self, ctx: Ctx<Params<typeof listParams>>) {
        return this.trust.ratings.list(subjectKey("vehicle", ctx.params.id), { limit: ctx.params.limit ?? 20, cursor: ctx.params.cursor });
      },
    },

    userRatings: {
      auth: "public",
      summary: "Revealed ratings of a user (as owner and as renter), newest first, with their averages",
      params: listParams,
      handler(this: Self, ctx: Ctx<Params<typeof listParams>>) {
        return this.trust.ratings.list(subjectKey("user", ctx.params.id), { limit: ctx.params.limit ?? 20, cursor: ctx.params.cursor });
      },
    },

    driverRatings: {
      auth: "public",
      summary: "Revealed ratings of a driver, newest first, with their averages",
      params: listParams,
      handler(this: Self, ctx: Ctx<Params<typeof listParams>>) {
        return this.trust.ratings.list(subjectKey("driver", ctx.params.id), { limit: ctx.params.limit ?? 20, cursor: ctx.params.cursor });
      },
    },

    // ---- trust scores ---------------------------------------------------------------

    userTrust: {
      summary: "A user's trust score (0-100) with its components (kyc, completionRate, paymentAccuracy, disputes, ratings) and any admin override; `me` for the caller",
      params: byIdParams,
      handler(this: Self, ctx: Ctx<Params<typeof byIdParams>>) {
        const userId = ctx.params.id === "me" ? me(ctx).id : ctx.params.id;
        return this.trust.scores.view(subjectKey("user", userId), isAdmin(ctx));
      },
    },

    driverTrust: {
      summary: "A driver's trust score (0-100) with its components and any admin override (drivers have no KYC component)",
      params: byIdParams,
      handler(this: Self, ctx: Ctx<Params<typeof byIdParams>>) {
        return this.trust.scores.view(subjectKey("driver", ctx.params.id), isAdmin(ctx));
      },
    },

    // ---- admin --------------------------------------------------------------------

    raiseFlag: {
      roles: ["admin"],
      summary: "Flag a user, driver or vehicle with a reason (audited); an open flag lowers a user's or driver's trust score",
      params: raiseFlagParams,
      async handler(this: Self, ctx: Ctx<Params<typeof raiseFlagParams>>) {
        const view = await this.trust.raiseFlag(me(ctx), ctx.params);
        ctx.meta.$statusCode = 201;
        return view;
      },
    },

    listFlags: {
      roles: ["admin"],
      summary: "Flags, newest first (filters: status open|resolved, subjectType, subjectId)",
      params: listFlagsParams,
      async handler(this: Self, ctx: Ctx<Params<typeof listFlagsParams>>) {
        const page = await this.trust.flags.list({ ...ctx.params, limit: ctx.params.limit ?? 20 });
        return { items: page.items.map(toFlagView), nextCursor: page.nextCursor };
      },
    },

    resolveFlag: {
      roles: ["admin"],
      summary: "Resolve an open flag, with an optional note (audited); its subject's score no longer counts it",
      params: resolveFlagParams,
      handler(this: Self, ctx: Ctx<Params<typeof resolveFlagParams>>) {
        return this.trust.resolveFlag(me(ctx), ctx.params.id, ctx.params.note);
      },
    },

    setOverride: {
      roles: ["admin"],
      summary: "Override a user's (or, with subjectType=driver, a driver's) trust score with a reason (audited); shown as `override` beside the computed score",
      params: overrideParams,
      handler(this: Self, ctx: Ctx<Params<typeof overrideParams>>) {
        const p = ctx.params;
        return this.trust.setOverride(me(ctx), (p.subjectType ?? "user") as ScoredType, p.userId, p.score, p.reason);
      },
    },

    clearOverride: {
      roles: ["admin"],
      summary: "Remove a trust-score override (audited)",
      params: clearOverrideParams,
      async handler(this: Self, ctx: Ctx<Params<typeof clearOverrideParams>>) {
        await this.trust.clearOverride(me(ctx), (ctx.params.subjectType ?? "user") as ScoredType, ctx.params.userId);
        ctx.meta.$statusCode = 204;
        return null;
      },
    },

    recompute: {
      roles: ["admin"],
      summary: "Replay every stored fact and recount every trust score and analytics day; answers what had to change (nothing, when the incremental updates kept up)",
      timeout: 300_000,
      async handler(this: Self, ctx: Ctx<unknown>) {
        return this.trust.recompute(me(ctx));
      },
    },

    analytics: {
      roles: ["admin"],
      summary:
        "Bookings by status, completion and cancel rates, reported revenue and platform fees, driver reliability, payment accuracy and the KYC queue, for the UTC days from..to " +
        "(dates YYYY-MM-DD, both included, or ISO times; default the last 30 days; daily=true adds each day)",
      params: analyticsParams,
      handler(this: Self, ctx: Ctx<Params<typeof analyticsParams>>) {
        return this.trust.analytics(ctx.params);
      },
    },

    /** Reveals ratings whose window ended (the timer does this every TRUST_SWEEP_INTERVAL). Not routed. */
    sweep: {
      visibility: "public",
      async handler(this: Self) {
        return { revealed: await this.trust.revealDue() };
      },
    },
  },

  channels: Object.fromEntries(CONSUMED.map((type) => [type, trustFact()])),

  methods: {
    /** bookings.get as the caller (parties and admins may read a booking), for a booking the read model has not seen completed. */
    bookingLookup(this: Self, ctx: Ctx<unknown>): BookingLookup {
      return async (bookingId) => {
        if (!(this.broker as any).registry.hasService("bookings")) return null;
        try {
          const b = await ctx.call<{ id: string; vehicleId: string; renterId: string; ownerId: string; driverId?: string; status: BookingStatusV1; updatedAt: string }, { id: string }>("bookings.get", { id: bookingId });
          return { id: b.id, vehicleId: b.vehicleId, renterId: b.renterId, ownerId: b.ownerId, driverId: b.driverId ?? null, status: b.status, ...(b.status === "completed" ? { completedAt: b.updatedAt } : {}) };
        } catch (err) {
          const type = String((err as { type?: string }).type ?? "");
          if (type === "NOT_FOUND" || BOOKINGS_AWAY.has(type)) return null;
          throw err;
        }
      };
    },
  },

  async started(this: Self) {
    const cfg = config();
    this.trust = new Trust(
      this.db,
      {
        publish: async (type, data, factId) => {
          await publishFact(this.broker, type, data, { id: factId });
        },
        audit: (entry, auditId) => recordAudit(this.broker, entry, auditId),
      },
      { revealAfterMs: cfg.trust.ratingRevealAfterMs },
    );
    this.sweepTimer = setInterval(() => {
      this.trust.revealDue().catch((err) => this.logger.warn("Revealing due ratings failed; the next sweep retries:", (err as Error)?.message));
    }, cfg.trust.sweepIntervalMs);
    this.sweepTimer.unref();
  },

  async stopped(this: Self) {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
  },
});

export default TrustService;
