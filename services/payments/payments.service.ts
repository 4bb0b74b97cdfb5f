/**
 * payments: the payment record of each booking (created by the bookings saga,
 * reported by drivers through their links, overridden by admins), owners'
 * settlement summaries, and the hash-chained audit log of every payment change
 * and admin action (its own and, through `audit.recorded` facts, other
 * services'). Routes: gateway/routes/payments.ts and admin-payments.ts.
 * Online (Toss) payments come with a later issue.
 */
import type { Context } from "moleculer";
import type { AuditEntryV1 } from "../../lib/audit";
import type { RequestMeta } from "../../lib/auth-types";
import { badRequest, unauthenticated } from "../../lib/errors";
import type { Fact } from "../../lib/events";
import { onFact, publishFact } from "../../lib/facts";
import { defineService, resources, type WithResources } from "../../lib/service";
import { defineParams, type Params } from "../../lib/validation";
import { AuditLog } from "./domain/audit-log";
import { PAYMENT_METHODS, PAYMENT_STATUSES, toView } from "./domain/model";
import { Payments } from "./domain/payments";

const id = { type: "string", min: 1, max: 100 } as const;
const money = { type: "number", integer: true, min: 0, max: 1_000_000_000_000, convert: false } as const;
const currency = { type: "string", pattern: "^[A-Z]{3}$" } as const;
const isoTime = { type: "string", pattern: "^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,9})?)?(Z|[+-]\\d{2}:\\d{2})$", messages: { stringPattern: "must be an ISO 8601 time with an offset, such as 2026-12-01T09:00:00+09:00" } } as const;
const limit = { type: "number", integer: true, min: 1, max: 100, convert: true, optional: true } as const;
const cursor = { type: "string", min: 1, max: 100, optional: true } as const;
const status = { type: "enum", values: PAYMENT_STATUSES } as const;

const createParams = defineParams({
  bookingId: id,
  renterId: id,
  ownerId: id,
  driverId: { type: "string", min: 1, max: 100, optional: true, nullable: true },
  amount: money,
  platformFee: money,
  hostAmount: money,
  currency,
  source: { type: "enum", values: ["driver_link", "online"] as const },
});
const voidParams = defineParams({ bookingId: id, reason: { type: "string", min: 1, max: 500 } });
const reportParams = defineParams({
  paymentId: id,
  linkId: id,
  paid: "boolean",
  amount: money,
  method: { type: "enum", values: PAYMENT_METHODS },
  paidAt: isoTime,
  note: { type: "string", max: 1000, optional: true },
});
const getParams = defineParams({ id });
const listParams = defineParams({ bookingId: { ...id, optional: true }, status: { ...status, optional: true }, limit, cursor });
const adminListParams = defineParams({ bookingId: { ...id, optional: true }, ownerId: { ...id, optional: true }, renterId: { ...id, optional: true }, status: { ...status, optional: true }, limit, cursor });
const overrideParams = defineParams({ id, status, reason: { type: "string", min: 3, max: 1000, trim: true } });
const settlementParams = defineParams({ from: { ...isoTime, optional: true }, to: { ...isoTime, optional: true }, ownerId: { ...id, optional: true } });
const auditParams = defineParams({ entityType: { type: "string", min: 1, max: 50, optional: true }, entityId: { ...id, optional: true }, action: { type: "string", min: 1, max: 100, optional: true }, limit, cursor: { type: "string", pattern: "^\\d{1,15}$", optional: true } });

type Self = WithResources<{ payments: Payments; audit: AuditLog }>;
type Ctx<P> = Context<P, RequestMeta>;

function me(ctx: Ctx<unknown>) {
  if (!ctx.meta.user) throw unauthenticated();
  return ctx.meta.user;
}

function startOfMonthUtc(now = new Date()): string {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)).toISOString();
}

const PaymentsService = defineService<Self>({
  name: "payments",
  mixins: [resources({ db: true, kv: false, queue: false })],

  actions: {
    // ---- internal: the bookings saga and driver links ------------------------

    /** CreatePaymentCommand -> PaymentView; idempotent by bookingId. */
    createForBooking: {
      visibility: "public",
      params: createParams,
      async handler(this: Self, ctx: Ctx<Params<typeof createParams>>) {
        const p = ctx.params;
        if (p.platformFee + p.hostAmount !== p.amount) throw badRequest("platformFee + hostAmount must equal amount");
        return toView(await this.payments.createForBooking({ ...p, driverId: p.driverId ?? null }));
      },
    },

    /** {bookingId, reason} -> PaymentView | null; pending -> voided, paid stays paid. Idempotent. */
    voidForBooking: {
      visibility: "public",
      params: voidParams,
      async handler(this: Self, ctx: Ctx<Params<typeof voidParams>>) {
        const p = await this.payments.voidForBooking(ctx.params.bookingId, ctx.params.reason);
        return p ? toView(p) : null;
      },
    },

    /** DriverReportCommand -> PaymentView; idempotent by linkId. */
    recordDriverReport: {
      visibility: "public",
      params: reportParams,
      async handler(this: Self, ctx: Ctx<Params<typeof reportParams>>) {
        return toView(await this.payments.recordDriverReport(ctx.params));
      },
    },

    // ---- parties ------------------------------------------------------------

    list: {
      summary: "Payments of the caller's bookings (as renter or owner), or of one booking",
      params: listParams,
      async handler(this: Self, ctx: Ctx<Params<typeof listParams>>) {
        const page = await this.payments.listFor(me(ctx), { ...ctx.params, limit: ctx.params.limit ?? 20 });
        return { items: page.items.map(toView), nextCursor: page.nextCursor };
      },
    },

    get: {
      summary: "One payment (its renter, owner or driver, and admins)",
      params: getParams,
      async handler(this: Self, ctx: Ctx<Params<typeof getParams>>) {
        return toView(await this.payments.getFor(me(ctx), ctx.params.id));
      },
    },

    settlements: {
      roles: ["owner"],
      summary: "What the owner is owed for payments marked paid in [from, to): totals per currency (default: this month)",
      params: settlementParams,
      async handler(this: Self, ctx: Ctx<Params<typeof settlementParams>>) {
        const user = me(ctx);
        if (ctx.params.ownerId && ctx.params.ownerId !== user.id && !user.roles.includes("admin")) throw badRequest("ownerId is for admins; owners see their own settlement");
        const to = new Date(ctx.params.to ?? Date.now()).toISOString();
        const from = ctx.params.from ? new Date(ctx.params.from).toISOString() : startOfMonthUtc();
        if (from >= to) throw badRequest("from must be before to");
        return this.payments.settlement(ctx.params.ownerId ?? user.id, from, to);
      },
    },

    // ---- admin ----------------------------------------------------------------

    adminList: {
      roles: ["admin"],
      summary: "All payments, filtered and paged (admin)",
      params: adminListParams,
      async handler(this: Self, ctx: Ctx<Params<typeof adminListParams>>) {
        const page = await this.payments.listAll({ ...ctx.params, limit: ctx.params.limit ?? 20 });
        return { items: page.items.map(toView), nextCursor: page.nextCursor };
      },
    },

    override: {
      roles: ["admin"],
      summary: "Set a payment's status by hand, with a reason (admin; audited with before and after)",
      params: overrideParams,
      async handler(this: Self, ctx: Ctx<Params<typeof overrideParams>>) {
        return toView(await this.payments.override(ctx.params.id, ctx.params.status, ctx.params.reason, me(ctx)));
      },
    },

    audit: {
      roles: ["admin"],
      summary: "The append-only audit log, newest first: payment changes and admin actions with actor, before, after and time",
      params: auditParams,
      handler(this: Self, ctx: Ctx<Params<typeof auditParams>>) {
        const { limit: n, cursor: c, ...filter } = ctx.params;
        return this.audit.list(filter, n ?? 20, c);
      },
    },

    verifyAudit: {
      roles: ["admin"],
      summary: "Checks the audit log's hash chain end to end: {ok, checked, brokenAt?}",
      handler(this: Self) {
        return this.audit.verify();
      },
    },
  },

  channels: {
    /** Other services' audit entries join the same chain, once per fact. */
    "audit.recorded": onFact<AuditEntryV1>(async function (fact: Fact<AuditEntryV1>) {
      const e = fact.data;
      await (this as unknown as Self).audit.append({ ...e, key: `fact:${fact.id}`, at: e.at ?? fact.occurredAt });
    }),
  },

  async started(this: Self) {
    this.audit = new AuditLog(this.db);
    this.payments = new Payments(this.db, this.audit, {
      publish: async (type, data, factId) => {
        await publishFact(this.broker, type, data, { id: factId });
      },
      notify: async (message) => {
        // Best effort: the fact published next reaches the notifications service durably, with the same key.
        try {
          await this.broker.call("notifications.send", message);
        } catch (err) {
          this.logger.warn(`Could not notify ${message.userId} directly (the fact will): ${(err as Error).message}`);
        }
      },
    });
  },
});

export default PaymentsService;
