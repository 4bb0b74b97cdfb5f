/**
 * Resolves an access token to the caller: signature and expiry locally, session
 * revocation from the key-value store, and the user's current roles, status and
 * KYC state from a small cache that auth's `user.changed` hints invalidate.
 * A cache miss costs one call to auth; a hit costs none.
 */
import type { ServiceBroker } from "moleculer";
import type { AuthUser, KycStatus, Role } from "../lib/auth-types";
import { AppError, unauthenticated } from "../lib/errors";
import type { Kv } from "../lib/kv";
import { revokedSessionKey, verifyAccessToken } from "../lib/tokens";

interface UserState { roles: Role[]; status: string; kycStatus: KycStatus }

const TTL_MS = 30_000;
const MAX_ENTRIES = 50_000;

export class UserResolver {
  private readonly cache = new Map<string, { state: UserState; until: number }>();

  constructor(private readonly broker: ServiceBroker, private readonly kv: () => Kv) {}

  forget(userId: string) {
    this.cache.delete(userId);
  }

  async resolve(authorization: string | undefined): Promise<AuthUser | undefined> {
    if (!authorization) return undefined;
    const m = /^Bearer\s+(\S+)$/i.exec(authorization);
    if (!m) throw unauthenticated("The Authorization header must be `Bearer <accessToken>`");
    const claims = verifyAccessToken(m[1]);
    if (await this.kv().get(revokedSessionKey(claims.sid))) throw unauthenticated("This session has ended; log in again");
    const state = await this.state(claims.sub);
    if (!state) throw unauthenticated("The account no longer exists");
    if (state.status !== "active") throw new AppError("UNAUTHENTICATED", "This account is suspended");
    return { id: claims.sub, sid: claims.sid, roles: state.roles, kycStatus: state.kycStatus };
  }

  private async state(userId: string): Promise<UserState | null> {
    const hit = this.cache.get(userId);
    if (hit && hit.until > Date.now()) return hit.state;
    const state = (await this.broker.call("auth.claims", { userId })) as UserState | null;
    if (state) {
      if (this.cache.size >= MAX_ENTRIES) this.cache.delete(this.cache.keys().next().value as string);
      this.cache.set(userId, { state, until: Date.now() + TTL_MS });
    }
    return state;
  }
}
