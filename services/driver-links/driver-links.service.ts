/**
 * driverLinks (folder and SERVICES name `driver-links`): one-time links sent
 * by SMS to a vehicle's driver, who reports through them whether the renter
 * paid; the JSON API and the no-JavaScript page `/d/<token>` both land in the
 * same single-use, idempotent `submit`. Routes: gateway/routes/driver-links.ts
 * and the `/d` route block of gateway/api.service.ts. The owner's re-issue
 * (`POST /v1/bookings/:id/driver-link`) is bookings' route, calling `issue`.
 */
import type { Context } from "moleculer";
import { config } from "../../lib/config";
import type { RequestMeta } from "../../lib/auth-types";
import type { DriverContact, PaymentView } from "../../lib/contracts";
import { AppError, validationError, type FieldError } from "../../lib/errors";
import { publishFact } from "../../lib/facts";
import { newId, newSecret } from "../../lib/ids";
import { defineService, resources, type WithResources } from "../../lib/service";
import { defineParams, type Params } from "../../lib/validation";
import { DriverLinks } from "./domain/links";
import type { Report } from "./domain/model";
import { utcToZonedLocal } from "./domain/zoned-time";
import { PAGE_HEADERS, pickLocale, renderForm, renderOutcome, renderProblem, type FormValues, type PageLocale } from "./page";
import { parseForm } from "./page/form";
import { countThisMinute } from "../../lib/rate-limit";

const id = { type: "string", min: 1, max: 100 } as const;
const isoTime = { type: "string", pattern: "^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,9})?)?(Z|[+-]\\d{2}:\\d{2})$", messages: { stringPattern: "must be an ISO 8601 time with an offset, such as 2026-12-01T09:00:00+09:00" } } as const;
const token = { type: "string", min: 1, max: 200 } as const;
const METHOD_VALUES = ["cash", "bank_transfer", "card", "mobile", "other"] as const;

const issueParams = defineParams({
  bookingId: id,
  paymentId: id,
  driverId: id,
  issueKey: { type: "string", min: 1, max: 200 },
  booking: {
    type: "object",
    props: {
      vehicle: { type: "object", props: { id, make: { type: "string", max: 100 }, model: { type: "string", max: 100 }, licensePlate: { type: "string", max: 30 } } },
      start: isoTime,
      end: isoTime,
      expectedAmount: { type: "number", integer: true, min: 0 },
      currency: { type: "string", pattern: "^[A-Z]{3}$" },
    },
  },
});
const revokeParams = defineParams({ bookingId: id, reason: { type: "string", max: 200, optional: true } });
const viewParams = defineParams({ token });
const submitParams = defineParams({
  token,
  paid: { type: "boolean", description: "Did the renter pay?" },
  amount: { type: "number", integer: true, min: 0, max: 1_000_000_000_000, optional: true, description: "Amount received, smallest currency unit (required when paid)" },
  method: { type: "enum", values: METHOD_VALUES, optional: true, description: "Required when paid" },
  paidAt: { ...isoTime, optional: true, description: "When it was paid (required when paid)" },
  note: { type: "string", max: 500, optional: true },
});

type Meta = RequestMeta & { acceptLanguage?: string };
type Ctx<P> = Context<P, Meta>;

type Self = WithResources<{
  links: DriverLinks;
  limit(ctx: Ctx<unknown>): Promise<void>;
  html(ctx: Ctx<unknown>, status: number, body: string, headers?: Record<string, string>): string;
  problem(ctx: Ctx<unknown>, err: unknown, locale: PageLocale): string | null;
  formPage(ctx: Ctx<unknown>, tokenValue: string, locale: PageLocale, state: FormState): Promise<string>;
}>;

interface FormState { key?: string; values?: FormValues; errors?: string[]; failure?: boolean; status?: number }

const PROBLEM_CODES = new Set(["NOT_FOUND", "LINK_USED", "LINK_EXPIRED", "RATE_LIMITED"]);

const DriverLinksService = defineService<Self>({
  name: "driverLinks",
  mixins: [resources({ db: true, kv: true, queue: false })],

  actions: {
    // ---- internal: the bookings saga ----------------------------------------

    /** IssueDriverLinkCommand -> {linkId, expiresAt}; idempotent by (bookingId, issueKey). */
    issue: {
      visibility: "public",
      params: issueParams,
      handler(this: Self, ctx: Ctx<Params<typeof issueParams>>) {
        return this.links.issue(ctx.params);
      },
    },

    /** {bookingId, reason?} -> {revoked}: compensation, idempotent. */
    revokeForBooking: {
      visibility: "public",
      params: revokeParams,
      handler(this: Self, ctx: Ctx<Params<typeof revokeParams>>) {
        return this.links.revokeForBooking(ctx.params.bookingId, ctx.params.reason);
      },
    },

    // ---- the driver (no login: the token is the credential) -----------------

    view: {
      auth: "public",
      summary: "What a driver link is about: the booking and the expected amount",
      params: viewParams,
      async handler(this: Self, ctx: Ctx<Params<typeof viewParams>>) {
        await this.limit(ctx);
        return this.links.view(ctx.params.token);
      },
    },

    submit: {
      auth: "public",
      summary: "The driver reports whether the renter paid (single use; send an Idempotency-Key header: a replay gets the first answer)",
      params: submitParams,
      async handler(this: Self, ctx: Ctx<Params<typeof submitParams>>) {
        await this.limit(ctx);
        const p = ctx.params;
        if (p.paid) {
          const missing: FieldError[] = (["amount", "method", "paidAt"] as const).filter((f) => p[f] === undefined).map((field) => ({ field, message: "is required when paid is true" }));
          if (missing.length) throw validationError(missing);
        }
        const report: Report = { paid: p.paid, amount: p.amount ?? 0, method: p.method ?? "other", paidAt: p.paidAt ?? new Date().toISOString(), ...(p.note && { note: p.note }) };
        return this.links.submit(p.token, ctx.meta.idempotencyKey ?? `auto:${newId()}`, report);
      },
    },

    /** GET /d/<token>: the HTML page. */
    page: {
      auth: "public",
      params: { token: { type: "string", max: 1000 } },
      async handler(this: Self, ctx: Ctx<{ token: string }>) {
        const locale = pickLocale(ctx.meta.acceptLanguage);
        try {
          await this.limit(ctx);
          return await this.formPage(ctx, ctx.params.token, locale, {});
        } catch (err) {
          return this.problem(ctx, err, locale) ?? this.html(ctx, 503, renderProblem("ERROR", locale));
        }
      },
    },

    /** POST /d/<token>: the form, urlencoded; its hidden idempotencyKey makes a double submit safe. */
    submitForm: {
      auth: "public",
      params: { token: { type: "string", max: 1000 } },
      async handler(this: Self, ctx: Ctx<{ token: string } & Record<string, unknown>>) {
        const locale = pickLocale(ctx.meta.acceptLanguage);
        const zone = config().displayTimezone;
        try {
          await this.limit(ctx);
          const form = parseForm(ctx.params, zone);
          if (!form.report) return await this.formPage(ctx, ctx.params.token, locale, { key: form.idempotencyKey, values: form.values, errors: form.errors, status: 400 });
          const key = form.idempotencyKey ?? `form:${newId()}`;
          try {
            const answer = await this.links.submit(ctx.params.token, key, form.report);
            return this.html(ctx, 200, renderOutcome(answer, locale));
          } catch (err) {
            const shown = this.problem(ctx, err, locale);
            if (shown !== null) return shown;
            this.logger.warn(`Driver report failed, the form is shown again: ${(err as Error).message}`);
            return await this.formPage(ctx, ctx.params.token, locale, { key, values: form.values, failure: true, status: 503 });
          }
        } catch (err) {
          return this.problem(ctx, err, locale) ?? this.html(ctx, 503, renderProblem("ERROR", locale));
        }
      },
    },
  },

  methods: {
    /** Per client IP, per minute, across gateways (the shared key-value store). Fails open if it is down. */
    async limit(this: Self, ctx: Ctx<unknown>) {
      const max = config().driverLinks.rateLimitPerMinute;
      if (max <= 0) return;
      const counted = await countThisMinute(this.kv, `driverlinks:rl:${ctx.meta.ip ?? "unknown"}`, (msg) => this.logger.warn(msg));
      if (counted && counted.count > max) {
        throw new AppError("RATE_LIMITED", "Too many driver-link requests; try again in a minute", { retryAfter: counted.retryAfter });
      }
    },

    html(this: Self, ctx: Ctx<unknown>, status: number, body: string, headers: Record<string, string> = {}) {
      ctx.meta.$statusCode = status;
      ctx.meta.$responseType = "text/html; charset=utf-8";
      ctx.meta.$responseHeaders = { ...PAGE_HEADERS, ...headers };
      return body;
    },

    /** The friendly page for an error the driver should see as such; null for anything else. */
    problem(this: Self, ctx: Ctx<unknown>, err: unknown, locale: PageLocale) {
      const e = err as { type?: string; code?: number; data?: { retryAfter?: number } };
      if (e?.type && PROBLEM_CODES.has(e.type)) {
        const headers: Record<string, string> = e.data?.retryAfter ? { "Retry-After": String(e.data.retryAfter) } : {};
        return this.html(ctx, e.code ?? 400, renderProblem(e.type, locale), headers);
      }
      if (e?.type && typeof e.code === "number" && e.code >= 400 && e.code < 500) return this.html(ctx, e.code, renderProblem("ERROR", locale));
      return null;
    },

    async formPage(this: Self, ctx: Ctx<unknown>, tokenValue: string, locale: PageLocale, state: FormState) {
      const summary = await this.links.view(tokenValue);
      const zone = config().displayTimezone;
      const html = renderForm({
        token: tokenValue,
        summary,
        idempotencyKey: state.key ?? newSecret(18),
        locale,
        zone,
        nowLocal: utcToZonedLocal(new Date(), zone),
        values: state.values,
        errors: state.errors,
        failure: state.failure,
      });
      return this.html(ctx, state.status ?? 200, html);
    },
  },

  async started(this: Self) {
    const cfg = config();
    this.links = new DriverLinks(
      this.db,
      {
        driverContact: (driverId) => this.broker.call<DriverContact, { driverId: string }>("vehicles.driverContact", { driverId }),
        sendSms: async (m) => {
          await this.broker.call("notifications.send", { ...m, channel: "sms", kind: "driver_link" });
        },
        recordReport: (cmd) => this.broker.call<PaymentView, typeof cmd>("payments.recordDriverReport", cmd),
        confirmBooking: async (bookingId, paymentId) => {
          try {
            const b = await this.broker.call<{ id: string; status: string }, { bookingId: string; paymentId: string }>("bookings.confirmPayment", { bookingId, paymentId });
            return { id: b.id, status: b.status };
          } catch (err) {
            this.logger.warn(`bookings.confirmPayment failed for ${bookingId}; the payment.paid fact will confirm it: ${(err as Error).message}`);
            return null;
          }
        },
        publish: async (type, data, factId) => {
          await publishFact(this.broker, type, data, { id: factId });
        },
      },
      { ttlMs: cfg.driverLinks.ttlMs, publicUrl: cfg.publicUrl },
    );
  },
});

export default DriverLinksService;
