/**
 * Auth use cases: phone OTP, email and password, sessions with rotating
 * refresh tokens. Every state change is a single conditional write:
 * unique identities by `_id`, OTP attempts counted with a guarded `$inc`,
 * a refresh token consumed by `usedAt` being absent.
 */
import type { Collection, Database, Filter } from "../../../lib/store";
import type { Kv } from "../../../lib/kv";
import type { Config } from "../../../lib/config";
import type { KycStatus, Role } from "../../../lib/auth-types";
import { AppError, DuplicateKeyError, badRequest, duplicate, invalidState, notFound, unauthenticated } from "../../../lib/errors";
import { newId, newSecret, sha256, safeEqual } from "../../../lib/ids";
import { keyedHash, revokedSessionKey, signAccessToken } from "../../../lib/tokens";
import { hashPassword, verifyPassword } from "./passwords";
import { emailIdentity, phoneIdentity, toPublicUser, type IdentityRecord, type OtpRecord, type PublicUser, type RefreshTokenRecord, type SessionRecord, type UserRecord } from "./model";
import { randomInt } from "node:crypto";

export interface TokenPair { accessToken: string; refreshToken: string; expiresIn: number; tokenType: "Bearer"; user: PublicUser }

export class Auth {
  readonly users: Collection<UserRecord>;
  private readonly identities: Collection<IdentityRecord>;
  private readonly otps: Collection<OtpRecord>;
  private readonly sessions: Collection<SessionRecord>;
  private readonly refreshTokens: Collection<RefreshTokenRecord>;

  constructor(db: Database, private readonly kv: Kv, private readonly cfg: Config) {
    this.users = db.collection<UserRecord>("users", [{ fields: { createdAt: -1 } }]);
    this.identities = db.collection<IdentityRecord>("identities");
    this.otps = db.collection<OtpRecord>("otps");
    this.sessions = db.collection<SessionRecord>("sessions", [{ fields: { userId: 1 } }]);
    this.refreshTokens = db.collection<RefreshTokenRecord>("refresh_tokens", [{ fields: { sid: 1 } }]);
  }

  // ---- OTP -------------------------------------------------------------

  /** Checks the per-IP and per-phone limits, then stores a fresh code (replacing any older one). */
  async issueOtp(phone: string, ip: string): Promise<{ code: string; expiresIn: number }> {
    await this.limit(`otp:ip:${ip}`, this.cfg.otp.ipLimit, 3_600_000, "Too many codes requested from this address");
    await this.limit(`otp:phone:${phone}`, this.cfg.otp.phoneLimit, 600_000, "Too many codes requested for this phone");
    const code = String(randomInt(0, 1_000_000)).padStart(6, "0");
    const now = Date.now();
    const record = { codeHash: keyedHash(`${phone}:${code}`), expiresAt: new Date(now + this.cfg.otp.ttlMs).toISOString(), attempts: 0, createdAt: new Date(now).toISOString() };
    await this.otps.upsert({ _id: phone }, { $set: record }, { _id: phone, ...record });
    return { code, expiresIn: Math.floor(this.cfg.otp.ttlMs / 1000) };
  }

  /** Removes a code whose message could not be queued, so nothing half-done remains. */
  async withdrawOtp(phone: string) {
    await this.otps.deleteOne({ _id: phone });
  }

  async verifyOtp(phone: string, code: string): Promise<TokenPair> {
    const max = this.cfg.otp.maxAttempts;
    const counted = await this.otps.updateOne({ _id: phone, attempts: { $lt: max } }, { $inc: { attempts: 1 } });
    if (!counted) {
      const exists = await this.otps.findById(phone);
      throw new AppError("OTP_INVALID", exists ? "Too many wrong codes; request a new one" : "No code was requested for this phone, or it was used");
    }
    if (counted.expiresAt <= new Date().toISOString()) {
      await this.otps.deleteOne({ _id: phone, codeHash: counted.codeHash });
      throw new AppError("OTP_EXPIRED", "The code has expired; request a new one");
    }
    if (!safeEqual(counted.codeHash, keyedHash(`${phone}:${code}`))) {
      throw new AppError("OTP_INVALID", "The code is wrong", { attemptsLeft: Math.max(0, max - counted.attempts) });
    }
    // Consume: only one of two concurrent right answers wins.
    if (!(await this.otps.deleteOne({ _id: phone, codeHash: counted.codeHash }))) throw new AppError("OTP_INVALID", "The code was already used");
    const user = await this.userForPhone(phone);
    return this.startSession(user);
  }

  private async userForPhone(phone: string): Promise<UserRecord> {
    const admin = this.cfg.adminPhones.includes(phone);
    const identity = await this.identities.findById(phoneIdentity(phone));
    if (identity) {
      const user = await this.users.findById(identity.userId);
      if (!user) throw notFound("The user");
      if (admin && !user.roles.includes("admin")) return (await this.setRoles(user._id, [...user.roles, "admin"]))!;
      return user;
    }
    const roles: Role[] = admin ? ["renter", "admin"] : ["renter"];
    return this.createUser({ phone, roles }, [phoneIdentity(phone)], "otp");
  }

  // ---- passwords -------------------------------------------------------

  async register(input: { email: string; password: string; name: string; phone: string; role: Role }): Promise<TokenPair> {
    const roles: Role[] = input.role === "owner" ? ["renter", "owner"] : ["renter"];
    if (this.cfg.adminPhones.includes(input.phone)) roles.push("admin");
    const user = await this.createUser(
      { email: input.email.trim().toLowerCase(), phone: input.phone, name: input.name, roles, passwordHash: await hashPassword(input.password) },
      [emailIdentity(input.email), phoneIdentity(input.phone)],
      "password",
    );
    return this.startSession(user);
  }

  async login(email: string, password: string): Promise<TokenPair> {
    const identity = await this.identities.findById(emailIdentity(email));
    const user = identity ? await this.users.findById(identity.userId) : null;
    const ok = await verifyPassword(password, user?.passwordHash);
    if (!user || !ok) throw new AppError("INVALID_CREDENTIALS", "The email or password is wrong");
    if (user.status !== "active") throw new AppError("FORBIDDEN", "This account is suspended");
    return this.startSession(user);
  }

  /** Claims the identities first (unique `_id`), then writes the user; undoes the claims on failure. */
  private async createUser(fields: Partial<UserRecord>, identityIds: string[], _via: "otp" | "password"): Promise<UserRecord> {
    const now = new Date().toISOString();
    const user: UserRecord = { _id: newId(), roles: ["renter"], status: "active", kycStatus: "none", locale: "ko", createdAt: now, updatedAt: now, ...fields };
    const claimed: string[] = [];
    try {
      for (const id of identityIds) {
        await this.identities.insert({ _id: id, userId: user._id, createdAt: now });
        claimed.push(id);
      }
      await this.users.insert(user);
      return user;
    } catch (err) {
      await Promise.all(claimed.map((id) => this.identities.deleteOne({ _id: id, userId: user._id })));
      if (err instanceof DuplicateKeyError) {
        const which = identityIds[claimed.length]?.split(":")[0] ?? "account";
        // A phone login racing with itself: the other request created the user.
        if (_via === "otp" && which === "phone") {
          const winner = await this.identities.findById(identityIds[0]);
          const existing = winner && (await this.users.findById(winner.userId));
          if (existing) return existing;
        }
        throw duplicate(`An account with this ${which} already exists`, { field: which });
      }
      throw err;
    }
  }

  // ---- sessions --------------------------------------------------------

  private async startSession(user: UserRecord): Promise<TokenPair> {
    if (user.status !== "active") throw new AppError("FORBIDDEN", "This account is suspended");
    const now = Date.now();
    const session: SessionRecord = { _id: newId(), userId: user._id, createdAt: new Date(now).toISOString(), expiresAt: new Date(now + this.cfg.jwt.refreshTtlMs).toISOString() };
    await this.sessions.insert(session);
    return this.issueTokens(user, session._id);
  }

  private async issueTokens(user: UserRecord, sid: string): Promise<TokenPair> {
    const refreshToken = newSecret(32);
    const now = Date.now();
    await this.refreshTokens.insert({ _id: sha256(refreshToken), sid, userId: user._id, createdAt: new Date(now).toISOString(), expiresAt: new Date(now + this.cfg.jwt.refreshTtlMs).toISOString() });
    const { token, expiresIn } = signAccessToken({ sub: user._id, sid, roles: user.roles });
    return { accessToken: token, refreshToken, expiresIn, tokenType: "Bearer", user: toPublicUser(user) };
  }

  /** Rotation: each refresh token works once; a second use revokes the whole session. */
  async refresh(refreshToken: string): Promise<TokenPair> {
    const hash = sha256(refreshToken);
    const now = new Date().toISOString();
    const consumed = await this.refreshTokens.updateOne({ _id: hash, usedAt: { $exists: false } }, { $set: { usedAt: now } });
    if (!consumed) {
      const known = await this.refreshTokens.findById(hash);
      if (known) {
        await this.revokeSession(known.sid, "refresh token reused");
        throw unauthenticated("This refresh token was already used; the session has been revoked for safety");
      }
      throw unauthenticated("The refresh token is not valid");
    }
    if (consumed.expiresAt <= now) throw unauthenticated("The refresh token has expired; log in again");
    const session = await this.sessions.findById(consumed.sid);
    if (!session || session.revokedAt || session.expiresAt <= now) throw unauthenticated("The session has ended; log in again");
    const user = await this.users.findById(consumed.userId);
    if (!user) throw unauthenticated("The account no longer exists");
    return this.issueTokens(user, session._id);
  }

  async revokeSession(sid: string, reason: string) {
    await this.sessions.updateOne({ _id: sid, revokedAt: { $exists: false } }, { $set: { revokedAt: new Date().toISOString(), revokedReason: reason } });
    // Access tokens of the session stop working at once, until they would have expired anyway.
    await this.kv.set(revokedSessionKey(sid), reason, this.cfg.jwt.accessTtlMs);
  }

  // ---- the user --------------------------------------------------------

  async getUser(id: string): Promise<UserRecord> {
    const user = await this.users.findById(id);
    if (!user) throw notFound("The user");
    return user;
  }

  async updateProfile(id: string, changes: { name?: string; email?: string }): Promise<UserRecord> {
    const user = await this.getUser(id);
    const set: Partial<UserRecord> = { updatedAt: new Date().toISOString() };
    if (changes.name !== undefined) set.name = changes.name;
    const newEmail = changes.email?.trim().toLowerCase();
    if (newEmail && newEmail !== user.email) {
      try {
        await this.identities.insert({ _id: emailIdentity(newEmail), userId: id, createdAt: set.updatedAt! });
      } catch (err) {
        if (err instanceof DuplicateKeyError) throw duplicate("An account with this email already exists", { field: "email" });
        throw err;
      }
      set.email = newEmail;
    }
    const updated = await this.users.updateOne({ _id: id }, { $set: set });
    if (newEmail && user.email && newEmail !== user.email) await this.identities.deleteOne({ _id: emailIdentity(user.email), userId: id });
    return updated!;
  }

  async addRole(id: string, role: Role): Promise<UserRecord> {
    if (role === "admin") throw new AppError("FORBIDDEN", "The admin role is given by operators only");
    const user = await this.getUser(id);
    if (user.roles.includes(role)) return user;
    return (await this.setRoles(id, [...user.roles, role]))!;
  }

  /**
   * Applies a KYC status fact once and in order: `version` is the KYC's own
   * change counter, and an older or repeated fact matches nothing (null).
   */
  setKycStatus(id: string, kycStatus: KycStatus, version: number): Promise<UserRecord | null> {
    return this.users.updateOne(
      { _id: id, $or: [{ kycVersion: { $exists: false } }, { kycVersion: { $lt: version } }] },
      { $set: { kycStatus, kycVersion: version, updatedAt: new Date().toISOString() } },
    );
  }

  // ---- admin -----------------------------------------------------------

  /** Every user, newest first, filtered by role, status and KYC status; the cursor is the last id seen. */
  async listUsers(q: { role?: Role; status?: UserRecord["status"]; kycStatus?: KycStatus; limit: number; cursor?: string }): Promise<{ items: UserRecord[]; nextCursor: string | null }> {
    const filter: Filter = {};
    if (q.role) filter.roles = q.role; // an array field: matches users holding the role
    if (q.status) filter.status = q.status;
    if (q.kycStatus) filter.kycStatus = q.kycStatus;
    if (q.cursor) filter._id = { $lt: q.cursor };
    const rows = await this.users.find(filter, { sort: { _id: -1 }, limit: q.limit + 1 });
    const items = rows.slice(0, q.limit);
    return { items, nextCursor: rows.length > q.limit ? items[items.length - 1]._id : null };
  }

  /**
   * active -> suspended (one conditional update), then every session of the
   * user is revoked, so its tokens stop working at once. Repeating it on a
   * suspended user revokes again (repairs a crash in between) and answers 409.
   */
  async suspend(id: string, reason: string, by: string): Promise<{ before: UserRecord; after: UserRecord }> {
    if (id === by) throw badRequest("You cannot suspend yourself");
    const before = await this.getUser(id);
    const at = new Date().toISOString();
    const after = await this.users.updateOne({ _id: id, status: "active" }, { $set: { status: "suspended", suspension: { at, reason, by }, updatedAt: at } });
    await this.revokeAllSessions(id, "suspended");
    if (!after) throw invalidState("The user is already suspended", { status: "suspended" });
    return { before, after };
  }

  /** suspended -> active; the user logs in again (the old sessions stay ended). */
  async reinstate(id: string): Promise<{ before: UserRecord; after: UserRecord }> {
    const before = await this.getUser(id);
    const after = await this.users.updateOne({ _id: id, status: "suspended" }, { $set: { status: "active", updatedAt: new Date().toISOString() }, $unset: { suspension: true } });
    if (!after) throw invalidState("The user is not suspended", { status: before.status });
    return { before, after };
  }

  /** Ends every open session of a user; returns how many. */
  async revokeAllSessions(userId: string, reason: string): Promise<number> {
    const open = await this.sessions.find({ userId, revokedAt: { $exists: false } });
    for (const s of open) await this.revokeSession(s._id, reason);
    return open.length;
  }

  private setRoles(id: string, roles: Role[]) {
    return this.users.updateOne({ _id: id }, { $set: { roles: [...new Set(roles)], updatedAt: new Date().toISOString() } });
  }

  // ---- limits ----------------------------------------------------------

  private async limit(key: string, max: number, windowMs: number, message: string) {
    const { count, resetInMs } = await this.kv.hit(key, windowMs);
    if (count > max) throw new AppError("RATE_LIMITED", message, { retryAfter: Math.max(1, Math.ceil(resetInMs / 1000)) });
  }
}
