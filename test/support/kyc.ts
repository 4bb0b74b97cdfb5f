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

const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(2048, 1), Buffer.from([0xff, 0xd9])]);
const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(1024, 2)]);

async function uploadDocument(api: Client, token: string, type: string, bytes: Buffer, name: string) {
  const form = new FormData();
  form.append("type", type);
  form.append("file", new Blob([bytes]), name);
  const r = await api.request("POST", "/v1/kyc/documents", { raw: form, token });
  if (r.status !== 201) throw new Error(`upload of ${type} failed: ${r.status} ${r.text}`);
}

/**
 * The whole KYC path a person takes, through the API only: ID and selfie,
 * address, submit; then the admin approves. Resolves once auth applied it.
 */
export async function verifyThroughApi(api: Client, user: Session, admin: Session, withinMs = 5000): Promise<void> {
  await uploadDocument(api, user.accessToken, "id_front", JPEG, "id.jpg");
  await uploadDocument(api, user.accessToken, "selfie", PNG, "me.png");
  const steps = [
    await api.put("/v1/kyc/address", { line1: "110 Sejong-daero", city: "Seoul", postalCode: "04524", country: "KR" }, user.accessToken),
    await api.post("/v1/kyc/submit", {}, user.accessToken),
    await api.post(`/v1/admin/kyc/${user.user.id}/approve`, {}, admin.accessToken),
  ];
  for (const r of steps) if (r.status !== 200) throw new Error(`KYC step failed: ${r.status} ${r.text}`);
  const until = Date.now() + withinMs;
  while ((await api.get("/v1/auth/me", user.accessToken)).body.kycStatus !== "approved") {
    if (Date.now() > until) throw new Error(`KYC approval did not take effect within ${withinMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
