/**
 * Test rig shortcut until a test needs the whole KYC flow: marks a user's KYC
 * approved directly in the auth service's store and tells the gateways to drop
 * what they cached about the user (the `user.changed` hint).
 */
import type { ServiceBroker } from "moleculer";
import { loginByOtp, type Client, type Session } from "./system";

export async function approveKyc(authBroker: ServiceBroker, userId: string, everyBroker: ServiceBroker[] = [authBroker]): Promise<void> {
  const auth = authBroker.getLocalService("auth") as any;
  if (!auth?.auth?.users) throw new Error("approveKyc needs the broker that runs the auth service");
  await auth.auth.users.updateOne({ _id: userId }, { $set: { kycStatus: "approved" } });
  for (const b of everyBroker) await b.broadcast("user.changed", { userId });
}

export type TestUser = Session & { phone: string; id: string };

interface Rig { api: Client; dataDir: string; broker: ServiceBroker }

/** A logged-in renter; KYC approved unless `kyc` is false. */
export async function renterUser(sys: Rig, options: { kyc?: boolean; brokers?: ServiceBroker[] } = {}): Promise<TestUser> {
  const s = await loginByOtp(sys);
  if (options.kyc !== false) await approveKyc(sys.broker, s.user.id, options.brokers);
  return { ...s, id: s.user.id };
}

/** A logged-in owner (renter and owner roles); KYC approved unless `kyc` is false. */
export async function ownerUser(sys: Rig, options: { kyc?: boolean; brokers?: ServiceBroker[] } = {}): Promise<TestUser> {
  const s = await loginByOtp(sys);
  const r = await sys.api.post("/v1/auth/me/roles", { role: "owner" }, s.accessToken);
  if (r.status !== 200) throw new Error(`adding the owner role failed: ${r.status} ${r.text}`);
  if (options.kyc !== false) await approveKyc(sys.broker, s.user.id, options.brokers);
  return { ...s, id: s.user.id };
}
