/** The auth service's stored records and the user as the API shows it. */
import type { KycStatus, Role } from "../../../lib/auth-types";

export interface UserRecord {
  _id: string;
  phone?: string;
  email?: string;
  name?: string;
  roles: Role[];
  status: "active" | "suspended";
  kycStatus: KycStatus;
  locale: "ko" | "en";
  passwordHash?: string;
  /** Set while suspended by an admin (API.md "Admin"). */
  suspension?: { at: string; reason: string; by: string };
  createdAt: string;
  updatedAt: string;
}

/** One login name (phone or email) per record; the `_id` makes it unique on every store. */
export interface IdentityRecord { _id: string; userId: string; createdAt: string }

export interface OtpRecord { _id: string; codeHash: string; expiresAt: string; attempts: number; createdAt: string }

/** A login session: the family of refresh tokens issued from one login. */
export interface SessionRecord { _id: string; userId: string; createdAt: string; expiresAt: string; revokedAt?: string; revokedReason?: string }

export interface RefreshTokenRecord { _id: string; sid: string; userId: string; expiresAt: string; createdAt: string; usedAt?: string }

export interface PublicUser {
  id: string;
  phone: string | null;
  email: string | null;
  name: string | null;
  roles: Role[];
  status: UserRecord["status"];
  kycStatus: KycStatus;
  createdAt: string;
}

export function toPublicUser(u: UserRecord): PublicUser {
  return { id: u._id, phone: u.phone ?? null, email: u.email ?? null, name: u.name ?? null, roles: u.roles, status: u.status, kycStatus: u.kycStatus, createdAt: u.createdAt };
}

/** The user as admins see it: the public user, when it last changed, and why it is suspended. */
export type AdminUser = PublicUser & { updatedAt: string; suspension: UserRecord["suspension"] | null };

export function toAdminUser(u: UserRecord): AdminUser {
  return { ...toPublicUser(u), updatedAt: u.updatedAt, suspension: u.suspension ?? null };
}

export const phoneIdentity = (phone: string) => `phone:${phone}`;
export const emailIdentity = (email: string) => `email:${email.trim().toLowerCase()}`;
