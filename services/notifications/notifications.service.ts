/**
 * notifications: delivers messages by SMS, push and in-app, and keeps each
 * user's in-app inbox. `send` only records and queues the message and returns
 * at once; a queue worker per channel delivers it with retries and backoff,
 * and a message that keeps failing stays in the queue's dead letters. The
 * idempotency key makes a repeated request deliver once.
 *
 * Booking and payment facts become in-app notifications (and pushes) for the
 * renter and owner they concern, in the user's locale (from auth.claims).
 * Routes: gateway/routes/notifications.ts.
 */
import type { Context } from "moleculer";
import type { RequestMeta } from "../../lib/auth-types";
import { badRequest, DuplicateKeyError, unauthenticated, validationError } from "../../lib/errors";
import { bookingNoticeKey, factNotificationKey, type Fact } from "../../lib/events";
import { onFact } from "../../lib/facts";
import { defineService, resources, type WithResources } from "../../lib/service";
import { smsProvider, type SmsProvider } from "../../lib/sms";
import type { Collection } from "../../lib/store";
import { defineParams, type Params } from "../../lib/validation";
import { messagesForFact, NOTIFIED_FACTS } from "./domain/fact-messages";
import { Inbox, toInboxView } from "./domain/inbox";
import { pushProvider, type PushProvider } from "./push";
import { hasTemplate, render, renderTitle, type Locale, type TemplateParams } from "./templates";

type Channel = "sms" | "push" | "in_app";
const CHANNELS = ["sms", "push", "in_app"] as const satisfies readonly Channel[];

interface Delivery {
  _id: string; // idempotency key
  channel: Channel;
  kind: string;
  /** sms: the phone; the body is rendered when queued. */
  to?: string;
  body?: string;
  /** push and in_app: the user; rendered at delivery, in the user's locale. */
  userId?: string;
  template: string;
  params: TemplateParams;
  locale?: Locale;
  data?: Record<string, string>;
  status: "queued" | "sent" | "skipped";
  attempts: number;
  /** push: devices already sent to (a retry skips them). */
  sentTo?: string[];
  note?: string;
  createdAt: string;
  sentAt?: string;
}

type NewDelivery = Omit<Delivery, "status" | "attempts" | "createdAt">;

const JOB = { attempts: 6, backoffMs: 1000 };

const sendParams = defineParams({
  key: { type: "string", min: 1, max: 300 },
  channel: { type: "enum", values: CHANNELS },
  kind: { type: "string", min: 1, max: 50 },
  to: { type: "string", pattern: "^\\+[1-9]\\d{6,14}$", optional: true },
  userId: { type: "string", min: 1, max: 100, optional: true },
  template: { type: "string", min: 1 },
  params: { type: "object", optional: true },
  data: { type: "object", optional: true },
  locale: { type: "enum", values: ["ko", "en"] as const, optional: true },
});
const listParams = defineParams({
  limit: { type: "number", integer: true, min: 1, max: 100, convert: true, optional: true },
  cursor: { type: "string", min: 1, max: 100, optional: true },
  unread: { type: "boolean", convert: true, optional: true },
});
const readParams = defineParams({ id: { type: "string", min: 1, max: 100 } });
const deviceParams = defineParams({
  pushToken: { type: "string", min: 8, max: 4096, trim: true },
  platform: { type: "enum", values: ["ios", "android", "web"] as const },
});

type Self = WithResources<{
  sms: SmsProvider;
  push: PushProvider;
  inbox: Inbox;
  deliveries(): Collection<Delivery>;
  enqueue(d: NewDelivery): Promise<{ key: string; queued: boolean }>;
  localeOf(userId: string, given?: Locale): Promise<Locale>;
  deliverSms(key: string): Promise<void>;
  deliverInApp(key: string): Promise<void>;
  deliverPush(key: string): Promise<void>;
  notifyAboutFact(fact: Fact<unknown>): Promise<void>;
}>;
type Ctx<P> = Context<P, RequestMeta>;

function me(ctx: Ctx<unknown>) {
  if (!ctx.meta.user) throw unauthenticated();
  return ctx.meta.user;
}

/** onFact types `this` as the bare service (see lib/facts.ts). */
const onNotifiedFact = onFact(async function (fact: Fact<unknown>) {
  await (this as unknown as Self).notifyAboutFact(fact);
});

const NotificationsService = defineService<Self>({
  name: "notifications",
  mixins: [resources()],

  actions: {
    /** Queue a message for delivery; idempotent by `key`. sms needs `to`; push and in_app need `userId`. */
    send: {
      visibility: "public",
      params: sendParams,
      async handler(this: Self, ctx: Context<Params<typeof sendParams>>) {
        const { key, channel, kind, to, userId, template, locale } = ctx.params;
        if (!hasTemplate(template)) throw badRequest(`Unknown template "${template}"`);
        const params = (ctx.params.params ?? {}) as TemplateParams;
        if (channel === "sms") {
          if (!to) throw validationError([{ field: "to", message: "is required for SMS" }]);
          return this.enqueue({ _id: key, channel, kind, to, template, params, body: render(template, locale ?? "ko", params) });
        }
        if (!userId) throw validationError([{ field: "userId", message: `is required for ${channel}` }]);
        return this.enqueue({ _id: key, channel, kind, userId, template, params, ...(locale && { locale }), data: (ctx.params.data ?? {}) as Record<string, string> });
      },
    },

    /** Dead letters per channel: deliveries that failed for good (for operators; not routed). */
    deadLetters: {
      visibility: "public",
      async handler(this: Self) {
        const out: Record<string, unknown[]> = {};
        for (const c of CHANNELS) out[c] = await this.queue.failed(c);
        return out;
      },
    },

    list: {
      summary: "The caller's in-app notifications, newest first (`unread=true` for unread only)",
      params: listParams,
      handler(this: Self, ctx: Ctx<Params<typeof listParams>>) {
        return this.inbox.list(me(ctx).id, { limit: ctx.params.limit ?? 20, cursor: ctx.params.cursor, unread: ctx.params.unread });
      },
    },

    markRead: {
      summary: "Mark one of the caller's notifications read",
      params: readParams,
      async handler(this: Self, ctx: Ctx<Params<typeof readParams>>) {
        return toInboxView(await this.inbox.markRead(me(ctx).id, ctx.params.id));
      },
    },

    registerDevice: {
      summary: "Register this device's push token for the caller (a token moves to whoever registers it last)",
      params: deviceParams,
      async handler(this: Self, ctx: Ctx<Params<typeof deviceParams>>) {
        const d = await this.inbox.registerDevice(me(ctx).id, ctx.params.pushToken, ctx.params.platform);
        return { id: d._id, platform: d.platform, createdAt: d.createdAt, updatedAt: d.updatedAt };
      },
    },
  },

  channels: Object.fromEntries(NOTIFIED_FACTS.map((type) => [type, onNotifiedFact])),

  methods: {
    deliveries(this: Self) {
      return this.db.collection<Delivery>("deliveries");
    },

    async enqueue(this: Self, d: NewDelivery) {
      try {
        await this.deliveries().insert({ ...d, status: "queued", attempts: 0, createdAt: new Date().toISOString() });
      } catch (err) {
        if (!(err instanceof DuplicateKeyError)) throw err;
        return { key: d._id, queued: false };
      }
      try {
        await this.queue.add(d.channel, { key: d._id }, { jobId: d._id, ...JOB });
      } catch (err) {
        // Nothing half-written: without a queued job the record must not claim the key.
        await this.deliveries().deleteOne({ _id: d._id, status: "queued" });
        throw err;
      }
      return { key: d._id, queued: true };
    },

    /** The user's locale from auth; Korean when auth cannot say. */
    async localeOf(this: Self, userId: string, given?: Locale): Promise<Locale> {
      if (given) return given;
      try {
        const claims = (await this.broker.call("auth.claims", { userId }, { timeout: 3000 })) as { locale?: string } | null;
        return claims?.locale === "en" ? "en" : "ko";
      } catch (err) {
        this.logger.debug(`locale of ${userId} unknown, using ko: ${(err as Error).message}`);
        return "ko";
      }
    },

    async deliverSms(this: Self, key: string) {
      const d = await this.deliveries().updateOne({ _id: key, status: "queued" }, { $inc: { attempts: 1 } });
      if (!d) return; // already sent (a repeated job), or unknown
      await this.sms.send({ to: d.to!, body: d.body ?? render(d.template, d.locale ?? "ko", d.params), kind: d.kind });
      await this.deliveries().updateOne({ _id: key }, { $set: { status: "sent", sentAt: new Date().toISOString() } });
    },

    async deliverInApp(this: Self, key: string) {
      const d = await this.deliveries().updateOne({ _id: key, status: "queued" }, { $inc: { attempts: 1 } });
      if (!d) return;
      const locale = await this.localeOf(d.userId!, d.locale);
      await this.inbox.add({ key, userId: d.userId!, kind: d.kind, title: renderTitle(d.template, locale, d.params), body: render(d.template, locale, d.params), data: d.data ?? {} });
      await this.deliveries().updateOne({ _id: key }, { $set: { status: "sent", sentAt: new Date().toISOString() } });
    },

    async deliverPush(this: Self, key: string) {
      const d = await this.deliveries().updateOne({ _id: key, status: "queued" }, { $inc: { attempts: 1 } });
      if (!d) return;
      const devices = await this.inbox.devicesOf(d.userId!);
      if (!devices.length) {
        await this.deliveries().updateOne({ _id: key }, { $set: { status: "skipped", note: "no devices", sentAt: new Date().toISOString() } });
        return;
      }
      const locale = await this.localeOf(d.userId!, d.locale);
      const title = renderTitle(d.template, locale, d.params);
      const body = render(d.template, locale, d.params);
      for (const device of devices) {
        if (d.sentTo?.includes(device._id)) continue;
        await this.push.send({ token: device.pushToken, platform: device.platform, title, body, data: d.data, kind: d.kind });
        await this.deliveries().updateOne({ _id: key }, { $push: { sentTo: device._id } });
      }
      await this.deliveries().updateOne({ _id: key }, { $set: { status: "sent", sentAt: new Date().toISOString() } });
    },

    async notifyAboutFact(this: Self, fact: Fact<unknown>) {
      for (const m of messagesForFact(fact)) {
        for (const channel of ["in_app", "push"] as const) {
          const bookingId = fact.type.startsWith("booking.") ? (fact.data as { bookingId?: string })?.bookingId : undefined;
          const key = bookingId ? bookingNoticeKey(bookingId, fact.type.slice("booking.".length), m.userId, channel) : factNotificationKey(fact.id, m.userId, channel);
          await this.enqueue({ _id: key, channel, kind: m.kind, userId: m.userId, template: m.template, params: m.params, data: m.data });
        }
      }
    },
  },

  created(this: Self) {
    this.sms = smsProvider((line) => this.logger.info(line));
    this.push = pushProvider((line) => this.logger.info(line));
  },

  async started(this: Self) {
    this.inbox = new Inbox(this.db);
    this.queue.process<{ key: string }>("sms", (job) => this.deliverSms(job.key), 4);
    this.queue.process<{ key: string }>("in_app", (job) => this.deliverInApp(job.key), 4);
    this.queue.process<{ key: string }>("push", (job) => this.deliverPush(job.key), 4);
    // Re-queue what a crash left undelivered (the embedded queue lives in memory).
    for (const d of await this.deliveries().find({ status: "queued" })) {
      await this.queue.add(d.channel ?? "sms", { key: d._id }, { jobId: d._id, ...JOB });
    }
  },
});

export default NotificationsService;
