/**
 * kyc: identity verification. Users upload documents (streamed into the
 * service's own file store), give an address and, for companies, a business
 * registration, then submit; admins review, approve or reject. Decisions are
 * facts (`kyc.*`) that auth applies to the user's `kycStatus`, which the
 * gateway's KYC gate reads. Routes: gateway/routes/kyc.ts.
 */
import type { Context } from "moleculer";
import { defineService, resources, type WithResources } from "../../lib/service";
import { defineParams, type Params } from "../../lib/validation";
import type { RequestMeta } from "../../lib/auth-types";
import { unauthenticated, validationError } from "../../lib/errors";
import { sendFact } from "../../lib/facts";
import { recordAudit, type AuditEntryV1 } from "../../lib/audit";
import { Kyc, type Publisher } from "./domain/kyc";
import { DOCUMENT_KINDS, toAdminView, toDocumentView, toStatusView, type DocumentKind } from "./domain/model";
import { EXTENSION } from "./domain/upload-guard";

const text = (max: number) => ({ type: "string", min: 1, max, trim: true }) as const;
const id = { type: "string", min: 1, max: 100 } as const;
const paging = {
  limit: { type: "number", integer: true, convert: true, min: 1, optional: true },
  cursor: { type: "string", max: 500, optional: true },
  offset: { type: "number", integer: true, convert: true, min: 0, optional: true },
} as const;

const addressParams = defineParams({
  line1: text(200),
  line2: { type: "string", max: 200, trim: true, optional: true },
  city: text(100),
  postalCode: { type: "string", min: 3, max: 12, trim: true, pattern: "^[A-Za-z0-9][A-Za-z0-9 -]*$", messages: { stringPattern: "must be a postal code such as 06236" } },
  country: text(60),
});
const corporateParams = defineParams({
  companyName: text(200),
  businessRegistrationNumber: { type: "string", min: 10, max: 14, trim: true },
  taxId: { type: "string", max: 50, trim: true, optional: true },
});
const docParams = defineParams({ docId: id });
const historyParams = defineParams({ ...paging });
const listParams = defineParams({
  status: { type: "enum", values: ["none", "submitted", "approved", "rejected"] as const, optional: true },
  corporate: { type: "boolean", convert: true, optional: true },
  from: { type: "string", max: 40, optional: true, description: "status changed at or after (ISO 8601)" },
  to: { type: "string", max: 40, optional: true, description: "status changed before (ISO 8601)" },
  ...paging,
});
const userParams = defineParams({ userId: id });
const userDocParams = defineParams({ userId: id, docId: id });
const rejectParams = defineParams({ userId: id, reason: text(500) });

type Self = WithResources<{ kyc: Kyc; sweeper?: NodeJS.Timeout; sendDocument(ctx: Ctx<unknown>, userId: string, docId: string): Promise<NodeJS.ReadableStream> }>;
type Ctx<P> = Context<P, RequestMeta & { $location?: string }>;
/** What moleculer-web's `multipart:` alias hands over with the file stream. */
type UploadMeta = RequestMeta & { $multipart?: Record<string, unknown>; filename?: string; mimetype?: string; $location?: string };

function me(ctx: Context<unknown, RequestMeta>) {
  if (!ctx.meta.user) throw unauthenticated();
  return ctx.meta.user;
}

function isStream(x: unknown): x is NodeJS.ReadableStream {
  return typeof (x as NodeJS.ReadableStream | undefined)?.pipe === "function" && typeof (x as NodeJS.ReadableStream).on === "function";
}

function documentKind(value: unknown): DocumentKind {
  if (typeof value === "string" && (DOCUMENT_KINDS as readonly string[]).includes(value)) return value as DocumentKind;
  throw validationError([{ field: "type", message: `${value === undefined || value === "" ? "is required" : "is not a document type"}: one of ${DOCUMENT_KINDS.join(", ")}, sent before the file` }]);
}

function isoTime(value: string | undefined, field: string): string | undefined {
  if (value === undefined) return undefined;
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw validationError([{ field, message: "must be an ISO 8601 time such as 2026-12-01T09:00:00+09:00" }]);
  return new Date(t).toISOString();
}

export default defineService<Self>({
  name: "kyc",
  mixins: [resources({ db: true })],

  actions: {
    uploadDocument: {
      timeout: 120_000, // a 10 MB upload over a slow phone link
      summary: "Upload a KYC document: multipart with the `type` field (id_front, id_back, selfie, driver_license, business_registration) before the `file` part; JPEG, PNG or PDF, at most 10 MB",
      async handler(this: Self, ctx: Context<unknown, UploadMeta>) {
        const user = me(ctx);
        const content = ctx.params;
        if (!isStream(content)) throw validationError([{ field: "file", message: "is required" }]);
        content.on("error", () => undefined); // a stream error is reported by the upload itself
        let type: DocumentKind;
        try {
          type = documentKind(ctx.meta.$multipart?.type);
        } catch (err) {
          content.resume();
          throw err;
        }
        const doc = await this.kyc.uploadDocument(user.id, type, content, { filename: ctx.meta.filename });
        ctx.meta.$statusCode = 201;
        ctx.meta.$location = `/v1/kyc/documents/${doc._id}`;
        return toDocumentView(doc);
      },
    },

    documents: {
      summary: "All my uploaded KYC documents, newest first, with the replaced ones (`current: false`)",
      params: historyParams,
      async handler(this: Self, ctx: Ctx<Params<typeof historyParams>>) {
        const userId = me(ctx).id;
        const [profile, list] = await Promise.all([this.kyc.view(userId), this.kyc.history(userId, ctx.params)]);
        return { items: list.items.map((d) => ({ ...toDocumentView(d), current: profile.documents[d.type]?.id === d._id })), nextCursor: list.nextCursor };
      },
    },

    myDocument: {
      summary: "Download one of my KYC documents (the exact bytes uploaded)",
      params: docParams,
      handler(this: Self, ctx: Ctx<Params<typeof docParams>>) {
        return this.sendDocument(ctx, me(ctx).id, ctx.params.docId);
      },
    },

    setAddress: {
      summary: "Set my address for KYC",
      params: addressParams,
      async handler(this: Self, ctx: Ctx<Params<typeof addressParams>>) {
        return toStatusView(await this.kyc.setAddress(me(ctx).id, ctx.params));
      },
    },

    setCorporate: {
      summary: "Set my company's details for KYC (Korean business registration number with its check digit)",
      params: corporateParams,
      async handler(this: Self, ctx: Ctx<Params<typeof corporateParams>>) {
        return toStatusView(await this.kyc.setCorporate(me(ctx).id, ctx.params));
      },
    },

    submit: {
      summary: "Submit my KYC for review (needs id_front, selfie and an address)",
      async handler(this: Self, ctx: Ctx<unknown>) {
        return toStatusView(await this.kyc.submit(me(ctx).id));
      },
    },

    status: {
      summary: "My KYC status, with the reason of a rejection and what is still missing",
      async handler(this: Self, ctx: Ctx<unknown>) {
        return toStatusView(await this.kyc.view(me(ctx).id));
      },
    },

    adminList: {
      roles: ["admin"],
      summary: "KYC review queue, oldest status change first (filters: status, corporate, from, to)",
      params: listParams,
      async handler(this: Self, ctx: Ctx<Params<typeof listParams>>) {
        const p = ctx.params;
        const list = await this.kyc.list({ status: p.status, corporate: p.corporate, from: isoTime(p.from, "from"), to: isoTime(p.to, "to") }, p);
        return { items: list.items.map(toAdminView), nextCursor: list.nextCursor };
      },
    },

    adminGet: {
      roles: ["admin"],
      summary: "One user's KYC, with every document ever uploaded",
      params: userParams,
      async handler(this: Self, ctx: Ctx<Params<typeof userParams>>) {
        const p = await this.kyc.get(ctx.params.userId);
        const history = await this.kyc.history(p._id, { limit: 100 });
        return { ...toAdminView(p), history: history.items.map((d) => ({ ...toDocumentView(d), current: p.documents[d.type]?.id === d._id })) };
      },
    },

    adminDocument: {
      roles: ["admin"],
      summary: "Download a user's KYC document (the exact bytes uploaded)",
      params: userDocParams,
      handler(this: Self, ctx: Ctx<Params<typeof userDocParams>>) {
        return this.sendDocument(ctx, ctx.params.userId, ctx.params.docId);
      },
    },

    approve: {
      roles: ["admin"],
      summary: "Approve a submitted KYC",
      params: userParams,
      async handler(this: Self, ctx: Ctx<Params<typeof userParams>>) {
        return toAdminView(await this.kyc.decide(ctx.params.userId, me(ctx), "approved"));
      },
    },

    reject: {
      roles: ["admin"],
      summary: "Reject a submitted KYC with a reason the user sees",
      params: rejectParams,
      async handler(this: Self, ctx: Ctx<Params<typeof rejectParams>>) {
        return toAdminView(await this.kyc.decide(ctx.params.userId, me(ctx), "rejected", ctx.params.reason));
      },
    },
  },

  methods: {
    /** Answers with the file itself: its type, length, and a safe download name. */
    async sendDocument(this: Self, ctx: Ctx<unknown>, userId: string, docId: string) {
      const { doc, stream } = await this.kyc.openDocument(userId, docId);
      ctx.meta.$responseType = doc.contentType;
      ctx.meta.$responseHeaders = {
        "Content-Length": String(doc.size),
        "Content-Disposition": `attachment; filename="${doc.type}-${doc._id}.${EXTENSION[doc.contentType]}"`,
        "Cache-Control": "private, no-store",
      };
      return stream;
    },
  },

  async started(this: Self) {
    const publish: Publisher = async (entry) => {
      if (entry.type === "audit.recorded") await recordAudit(this.broker, entry.data as unknown as AuditEntryV1, entry.id);
      else await sendFact(this.broker, { id: entry.id, type: entry.type, version: 1, occurredAt: entry.occurredAt, data: entry.data });
    };
    this.kyc = new Kyc(this.db, publish, (msg) => this.logger.warn(msg));
    this.sweeper = setInterval(() => {
      this.kyc.flushPending().catch((err) => this.logger.warn("Re-sending KYC facts failed:", (err as Error)?.message));
    }, 10_000);
    this.sweeper.unref();
  },

  async stopped(this: Self) {
    if (this.sweeper) clearInterval(this.sweeper);
  },
});
