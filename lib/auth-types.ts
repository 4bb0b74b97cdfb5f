/** What the gateway resolves from an access token and hands to services in `ctx.meta`. */
export const ROLES = ["renter", "owner", "admin"] as const;
export type Role = (typeof ROLES)[number];

/** Seed synonyms accepted on input. */
export const ROLE_SYNONYMS: Record<string, Role> = { guest: "renter", host: "owner" };

export type KycStatus = "none" | "submitted" | "approved" | "rejected";

export interface AuthUser {
  id: string;
  roles: Role[];
  /** Session id (the refresh-token family); revoking it ends the session. */
  sid: string;
  kycStatus?: KycStatus;
}

export interface RequestMeta {
  user?: AuthUser;
  requestId?: string;
  ip?: string;
  /** Set by actions to shape the HTTP answer. */
  $statusCode?: number;
  $responseHeaders?: Record<string, string>;
  $responseType?: string;
  idempotencyKey?: string;
}

export function normaliseRole(role: string): Role | undefined {
  const r = ROLE_SYNONYMS[role] ?? role;
  return (ROLES as readonly string[]).includes(r) ? (r as Role) : undefined;
}
