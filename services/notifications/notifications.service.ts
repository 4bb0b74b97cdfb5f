/**
 * notifications: delivers messages (SMS now; push and in-app come with the
 * bookings issue). `send` only records and queues the message and returns at
 * once; a queue worker delivers it with retries and backoff, and a message
 * that keeps failing stays in the queue's dead letters. The idempotency key
 * makes a repeated request deliver once.
 */
import type { Context } from "moleculer";
import { defineService, resources, type WithResources } from "../../lib/service";
import { defineParams, type Params } from "../../lib/validation";
import { smsProvider, type SmsProvider } from "../../lib/sms";
import { hasTemplate, render, type Locale } from "./templates";
import { badRequest, DuplicateKeyError } from "../../lib/errors";

interface Delivery {
  _id: string; // idempotency key
  channel: "sms";
  kind: string;
  to: string;
  body: string;
  status: "queued" | "sent";
  attempts: number;
  createdAt: string;
  sentAt?: string;
}

const sendParams = defineParams({
  key: { type: "string", min: 1, max: 200 },
  channel: { type: "enum", values: ["sms"] as const },
  kind: { type: "string", min: 1, max: 50 },
  to: { type: "string", pattern: "^\\+[1-9]\\d{6,14}$" },
  template: { type: "string", min: 1 },
  params: { type: "object", optional: true },
  locale: { type: "enum", values: ["ko", "en"] as const, optional: true },
});

type Self = WithResources<{ sms: SmsProvider; deliveries(): import("../../lib/store").Collection<Delivery> }>;

const NotificationsService = defineService<Self>({
  name: "notifications",
  mixins: [resources()],

  actions: {
    /** Queue a message for delivery; idempotent by `key`. */
    send: {
      visibility: "public",
      params: sendParams,
      async handler(this: Self, ctx: Context<Params<typeof sendParams>>) {
        const { key, kind, to, template } = ctx.params;
        if (!hasTemplate(template)) throw badRequest(`Unknown template "${template}"`);
        const body = render(template, (ctx.params.locale ?? "ko") as Locale, (ctx.params.params ?? {}) as Record<string, string | number>);
        try {
          await this.deliveries().insert({ _id: key, channel: "sms", kind, to, body, status: "queued", attempts: 0, createdAt: new Date().toISOString() });
        } catch (err) {
          if (!(err instanceof DuplicateKeyError)) throw err;
          return { key, queued: false };
        }
        try {
          await this.queue.add("sms", { key }, { jobId: key, attempts: 6, backoffMs: 1000 });
        } catch (err) {
          // Nothing half-written: without a queued job the record must not claim the key.
          await this.deliveries().deleteOne({ _id: key, status: "queued" });
          throw err;
        }
        return { key, queued: true };
      },
    },
  },

  methods: {
    deliveries(this: Self) {
      return this.db.collection<Delivery>("deliveries");
    },

    async deliverSms(this: Self, key: string) {
      const d = await this.deliveries().updateOne({ _id: key, status: "queued" }, { $inc: { attempts: 1 } });
      if (!d) return; // already sent (a repeated job), or unknown
      await this.sms.send({ to: d.to, body: d.body, kind: d.kind });
      await this.deliveries().updateOne({ _id: key }, { $set: { status: "sent", sentAt: new Date().toISOString() } });
    },
  },

  created(this: Self) {
    this.sms = smsProvider((line) => this.logger.info(line));
  },

  async started(this: Self) {
    this.queue.process<{ key: string }>("sms", (job) => this.deliverSms(job.key), 4);
    // Re-queue what a crash left undelivered (the embedded queue lives in memory).
    for (const d of await this.deliveries().find({ status: "queued" })) {
      await this.queue.add("sms", { key: d._id }, { jobId: d._id, attempts: 6, backoffMs: 1000 });
    }
  },
});

export default NotificationsService;
