/**
 * auth: phone OTP and email/password login, sessions with rotating refresh
 * tokens, logout, the user's own profile and roles. Routes: gateway/routes/auth.ts.
 */
import type { Context } from "moleculer";
import { config } from "../../lib/config";
import { defineService, resources, type WithResources } from "../../lib/service";
import { defineParams, type Params } from "../../lib/validation";
import { normaliseRole, type RequestMeta, type Role } from "../../lib/auth-types";
import { badRequest, unauthenticated } from "../../lib/errors";
import { onFact, publishFact } from "../../lib/facts";
import type { KycStatusChangedV1 } from "../../lib/events";
import { maskPhone } from "../../lib/mask";
import { Auth } from "./domain/auth";
import { toAdminUser, toPublicUser, type UserRecord } from "./domain/model";
import { recordAudit } from "../../lib/audit";

const phone = { type: "string", pattern: "^\\+[1-9]\\d{6,14}$", messages: { stringPattern: "must be an E.164 phone number such as +821012345678" } } as const;
const email = { type: "email", max: 254 } as const;
const password = { type: "string", min: 10, max: 200, messages: { stringMin: "must be at least 10 characters" } } as const;
const name = { type: "string", min: 1, max: 100, trim: true } as const;
const roleInput = { type: "enum", values: ["renter", "owner", "guest", "host"] as const } as const;

const otpRequestParams = defineParams({ phone });
const otpVerifyParams = defineParams({ phone, code: { type: "string", pattern: "^\\d{6}$", messages: { stringPattern: "must be 6 digits" } } });
const registerParams = defineParams({ email, password, name, phone, role: { ...roleInput, optional: true } });
const loginParams = defineParams({ email, password: { type: "string", min: 1, max: 200 } });
const refreshParams = defineParams({ refreshToken: { type: "string", min: 10, max: 200 } });
const updateMeParams = defineParams({ name: { ...name, optional: true }, email: { ...email, optional: true } });
const addRoleParams = defineParams({ role: roleInput });
const claimsParams = defineParams({ userId: "string" });
const adminListParams = defineParams({
  role: { type: "enum", values: ["renter", "owner", "admin"] as const, optional: true },
  status: { type: "enum", values: ["active", "suspended"] as const, optional: true },
  kycStatus: { type: "enum", values: ["none", "submitted", "approved", "rejected"] as const, optional: true },
  limit: { type: "number", integer: true, min: 1, max: 100, convert: true, optional: true },
  cursor: { type: "string", pattern: "^[0-9a-f]{24}$", optional: true, messages: { stringPattern: "is not a cursor this list gave out" } },
});
const suspendParams = defineParams({ id: { type: "string", min: 1, max: 100 }, reason: { type: "string", min: 3, max: 1000, trim: true } });
const reinstateParams = defineParams({ id: { type: "string", min: 1, max: 100 }, reason: { type: "string", max: 1000, trim: true, optional: true } });

type Self = WithResources<{
  auth: Auth;
  changed(userId: string): void;
  applyKyc(data: KycStatusChangedV1): Promise<void>;
  statusChanged(ctx: Ctx<unknown>, action: "user.suspend" | "user.reinstate", before: UserRecord, after: UserRecord, reason?: string): Promise<void>;
}>;
type Ctx<P> = Context<P, RequestMeta>;

function me(ctx: Ctx<unknown>) {
  if (!ctx.meta.user) throw unauthenticated();
  return ctx.meta.user;
}

/** One consumer per kyc.* channel (onFact types `this` as the bare service: see lib/facts.ts). */
function kycFact() {
  return onFact<KycStatusChangedV1>(async function (fact) {
    await (this as unknown as Self).applyKyc(fact.data);
  });
}

function role(input: string): Role {
  const r = normaliseRole(input);
  if (!r) throw badRequest(`Unknown role "${input}"`);
  return r;
}

export default defineService<Self>({
  name: "auth",
  mixins: [resources({ db: true, kv: true })],

  actions: {
    requestOtp: {
      auth: "public",
      summary: "Send a 6-digit login code by SMS",
      params: otpRequestParams,
      async handler(this: Self, ctx: Ctx<Params<typeof otpRequestParams>>) {
        const { code, expiresIn } = await this.auth.issueOtp(ctx.params.phone, ctx.meta.ip ?? "unknown");
        try {
          await ctx.call("notifications.send", {
            key: `otp:${ctx.params.phone}:${Date.now()}:${code}`,
            channel: "sms",
            kind: "otp",
            to: ctx.params.phone,
            template: "otp",
            params: { code, minutes: Math.round(expiresIn / 60) },
          });
        } catch (err) {
          await this.auth.withdrawOtp(ctx.params.phone);
          throw err;
        }
        this.logger.info(`OTP issued for ${maskPhone(ctx.params.phone)}`);
        ctx.meta.$statusCode = 202;
        return { expiresIn };
      },
    },

    verifyOtp: {
      auth: "public",
      summary: "Exchange a login code for tokens; creates the user on first login",
      params: otpVerifyParams,
      async handler(this: Self, ctx: Ctx<Params<typeof otpVerifyParams>>) {
        const pair = await this.auth.verifyOtp(ctx.params.phone, ctx.params.code);
        if (Date.parse(pair.user.createdAt) > Date.now() - 5000) await publishFact(this.broker, "user.registered", { userId: pair.user.id, roles: pair.user.roles, via: "otp" });
        return pair;
      },
    },

    register: {
      auth: "public",
      summary: "Create an account with email and password",
      params: registerParams,
      async handler(this: Self, ctx: Ctx<Params<typeof registerParams>>) {
        const pair = await this.auth.register({ ...ctx.params, role: role(ctx.params.role ?? "renter") });
        await publishFact(this.broker, "user.registered", { userId: pair.user.id, roles: pair.user.roles, via: "password" });
        ctx.meta.$statusCode = 201;
        return pair;
      },
    },

    login: {
      auth: "public",
      summary: "Log in with email and password",
      params: loginParams,
      handler(this: Self, ctx: Ctx<Params<typeof loginParams>>) {
        return this.auth.login(ctx.params.email, ctx.params.password);
      },
    },

    refresh: {
      auth: "public",
      summary: "Rotate the refresh token; a reused token revokes its whole session",
      params: refreshParams,
      handler(this: Self, ctx: Ctx<Params<typeof refreshParams>>) {
        return this.auth.refresh(ctx.params.refreshToken);
      },
    },

    logout: {
      summary: "End this session: its access and refresh tokens stop working",
      async handler(this: Self, ctx: Ctx<unknown>) {
        await this.auth.revokeSession(me(ctx).sid, "logout");
        ctx.meta.$statusCode = 204;
        return null;
      },
    },

    me: {
      summary: "The signed-in user",
      async handler(this: Self, ctx: Ctx<unknown>) {
        return toPublicUser(await this.auth.getUser(me(ctx).id));
      },
    },

    updateMe: {
      summary: "Change the signed-in user's name or email",
      params: updateMeParams,
      async handler(this: Self, ctx: Ctx<Params<typeof updateMeParams>>) {
        const user = await this.auth.updateProfile(me(ctx).id, ctx.params);
        this.changed(user._id);
        return toPublicUser(user);
      },
    },

    addRole: {
      summary: "Take on another role (renter or owner)",
      params: addRoleParams,
      async handler(this: Self, ctx: Ctx<Params<typeof addRoleParams>>) {
        const user = await this.auth.addRole(me(ctx).id, role(ctx.params.role));
        this.changed(user._id);
        return toPublicUser(user);
      },
    },

    // ---- admin (API.md "Admin") --------------------------------------------

    adminList: {
      roles: ["admin"],
      summary: "All users, newest first (filters: role, status, kycStatus; paging with limit and cursor)",
      params: adminListParams,
      async handler(this: Self, ctx: Ctx<Params<typeof adminListParams>>) {
        const page = await this.auth.listUsers({ ...ctx.params, limit: ctx.params.limit ?? 20 });
        return { items: page.items.map(toAdminUser), nextCursor: page.nextCursor };
      },
    },

    suspend: {
      roles: ["admin"],
      summary: "Suspend a user, with a reason: every session ends at once and the user cannot log in until reinstated (audited)",
      params: suspendParams,
      async handler(this: Self, ctx: Ctx<Params<typeof suspendParams>>) {
        const { before, after } = await this.auth.suspend(ctx.params.id, ctx.params.reason, me(ctx).id);
        await this.statusChanged(ctx, "user.suspend", before, after, ctx.params.reason);
        return toAdminUser(after);
      },
    },

    reinstate: {
      roles: ["admin"],
      summary: "Lift a user's suspension: the user can log in again (audited)",
      params: reinstateParams,
      async handler(this: Self, ctx: Ctx<Params<typeof reinstateParams>>) {
        const { before, after } = await this.auth.reinstate(ctx.params.id);
        await this.statusChanged(ctx, "user.reinstate", before, after, ctx.params.reason);
        return toAdminUser(after);
      },
    },

    /** For the gateway: what a token's user may currently do. Not routed. */
    claims: {
      visibility: "public",
      params: claimsParams,
      async handler(this: Self, ctx: Ctx<Params<typeof claimsParams>>) {
        const u = await this.auth.users.findById(ctx.params.userId);
        return u ? { roles: u.roles, status: u.status, kycStatus: u.kycStatus, locale: u.locale } : null;
      },
    },
  },

  /** KYC decisions become the user's `kycStatus`, which the gateway's KYC gate reads. */
  channels: {
    "kyc.submitted": kycFact(),
    "kyc.approved": kycFact(),
    "kyc.rejected": kycFact(),
  },

  methods: {
    /** Sets the user's KYC status unless a newer one is already there; gateways then drop their cached copy. */
    async applyKyc(this: Self, data: KycStatusChangedV1) {
      const user = await this.auth.setKycStatus(data.userId, data.status, data.version);
      if (user) this.changed(user._id);
    },

    /** After a suspension or reinstatement: gateways forget the user at once; the audit log and partners hear of it. */
    async statusChanged(this: Self, ctx: Ctx<unknown>, action: "user.suspend" | "user.reinstate", before: UserRecord, after: UserRecord, reason?: string) {
      this.changed(after._id);
      const admin = me(ctx);
      await recordAudit(
        this.broker,
        { entityType: "user", entityId: after._id, action, actor: { id: admin.id, roles: admin.roles, kind: "admin" }, before: { status: before.status }, after: { status: after.status, suspension: after.suspension ?? null }, ...(reason && { reason }), at: after.updatedAt },
        `audit:${action}:${after._id}:${after.updatedAt}`,
      );
      await publishFact(this.broker, "user.updated", { userId: after._id, roles: after.roles, status: after.status, kycStatus: after.kycStatus }, { id: `user.updated:${after._id}:${after.updatedAt}` });
    },

    /** A cache hint for gateways: drop what you cached about this user. */
    changed(this: Self, userId: string) {
      this.broker.broadcast("user.changed", { userId });
    },
  },

  async started(this: Self) {
    this.auth = new Auth(this.db, this.kv, config());
  },
});
