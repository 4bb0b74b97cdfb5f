/**
 * KYC in the distributed profile: the gateway, auth+notifications and kyc on
 * three brokers talking over real NATS (requests, streamed uploads and
 * downloads, JetStream facts), each service with its own MongoDB/FerretDB
 * database (documents in GridFS), Redis for the key-value store and queues.
 */
import fs from "node:fs";
import type { ServiceBroker } from "moleculer";
import { loadConfig, setConfig, type Config } from "../../lib/config";
import { createBroker } from "../../lib/system";
import { Client, gatewayUrl, loginByOtp, newPhone, tempDir, waitFor, type Answer, type Session } from "../support/system";
import { distributedEnv, testNamespace } from "../support/distributed";

jest.setTimeout(60_000);

const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe1]), Buffer.alloc(700_000, 0x42), Buffer.from([0xff, 0xd9])]);
const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(3000, 0x11)]);

let cfg: Config;
let dataDir: string;
let brokers: ServiceBroker[] = [];
let api: Client;
let admin: Session;

beforeAll(async () => {
  dataDir = tempDir("carshare-kyc-int-");
  const adminPhone = newPhone();
  cfg = setConfig(
    loadConfig(distributedEnv(testNamespace("kyc"), dataDir, { SERVICES: "gateway,auth,notifications,kyc", ADMIN_PHONES: adminPhone })),
  );
  const gateway = createBroker({ ...cfg, services: ["gateway"] }, { nodeID: "kyc-it-gateway" });
  const auth = createBroker({ ...cfg, services: ["auth", "notifications"] }, { nodeID: "kyc-it-auth" });
  const kyc = createBroker({ ...cfg, services: ["kyc"] }, { nodeID: "kyc-it-kyc" });
  brokers = [gateway, auth, kyc];
  await Promise.all(brokers.map((b) => b.start()));
  await Promise.all(brokers.map((b) => b.waitForServices(["api", "auth", "notifications", "kyc"], 30_000)));

  // An action behind the KYC gate, on another node than the gateway, and a route to it.
  auth.createService({ name: "gated", actions: { create: { roles: ["owner"], kyc: true, handler: () => ({ created: true }) } } });
  await gateway.waitForServices("gated", 15_000);
  (gateway.getLocalService("api") as any).addRoute({ path: "/test", mappingPolicy: "restrict", authentication: true, authorization: true, bodyParsers: { json: true }, aliases: { "POST /gated": "gated.create" } });

  api = new Client(gatewayUrl(gateway));
  admin = await loginByOtp({ api, dataDir }, adminPhone);
});

afterAll(async () => {
  await Promise.all(brokers.map((b) => b.stop()));
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

function upload(token: string, type: string, content: Buffer, contentType: string, filename: string): Promise<Answer> {
  const form = new FormData();
  form.append("type", type);
  form.append("file", new Blob([content], { type: contentType }), filename);
  return api.request("POST", "/v1/kyc/documents", { token, raw: form });
}

async function download(path: string, token: string) {
  const res = await fetch(api.baseUrl + path, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, contentType: res.headers.get("content-type"), bytes: Buffer.from(await res.arrayBuffer()) };
}

test("when a user uploads, submits and an admin approves across nodes, then the admin downloads the exact bytes from GridFS and the gate opens within a second", async () => {
  const owner = await loginByOtp({ api, dataDir });
  expect((await api.post("/v1/auth/me/roles", { role: "owner" }, owner.accessToken)).status).toBe(200);
  expect((await api.post("/test/gated", {}, owner.accessToken)).body.error.code).toBe("KYC_REQUIRED");

  const idFront = await upload(owner.accessToken, "id_front", JPEG, "image/jpeg", "id.jpg");
  expect(idFront.status).toBe(201);
  expect(idFront.body).toEqual({ id: expect.any(String), type: "id_front", size: JPEG.length, contentType: "image/jpeg", uploadedAt: expect.any(String) });
  const selfie = await upload(owner.accessToken, "selfie", PNG, "image/png", "selfie.png");
  expect(selfie.status).toBe(201);
  expect((await upload(owner.accessToken, "selfie", Buffer.from("MZ not an image"), "image/png", "x.png")).status).toBe(415);
  expect((await api.put("/v1/kyc/address", { line1: "1 Sejong-daero", city: "Seoul", postalCode: "04524", country: "KR" }, owner.accessToken)).status).toBe(200);
  const submitted = await api.post("/v1/kyc/submit", {}, owner.accessToken);
  expect(submitted.status).toBe(200);
  expect(submitted.body.status).toBe("submitted");

  const queue = await api.get("/v1/admin/kyc?status=submitted&limit=100", admin.accessToken);
  expect(queue.status).toBe(200);
  expect(queue.body.items.map((i: { userId: string }) => i.userId)).toContain(owner.user.id);

  const file = await download(`/v1/admin/kyc/${owner.user.id}/documents/${idFront.body.id}`, admin.accessToken);
  expect(file.status).toBe(200);
  expect(file.contentType).toBe("image/jpeg");
  expect(file.bytes.length).toBe(JPEG.length);
  expect(file.bytes.equals(JPEG)).toBe(true);

  const approved = await api.post(`/v1/admin/kyc/${owner.user.id}/approve`, {}, admin.accessToken);
  expect(approved.status).toBe(200);
  expect(approved.body.status).toBe("approved");
  const at = Date.now();
  await waitFor(async () => (await api.post("/test/gated", {}, owner.accessToken)).status === 200, "the gate to open", 1000);
  expect(Date.now() - at).toBeLessThan(1000);
  expect((await api.get("/v1/auth/me", owner.accessToken)).body.kycStatus).toBe("approved");

  const mine = await download(`/v1/kyc/documents/${selfie.body.id}`, owner.accessToken);
  expect(mine.contentType).toBe("image/png");
  expect(mine.bytes.equals(PNG)).toBe(true);
});

test("when the file is over 10 MB, then 413 across nodes and nothing is kept", async () => {
  const u = await loginByOtp({ api, dataDir });
  const big = Buffer.concat([JPEG, Buffer.alloc(10 * 1024 * 1024 + 1 - JPEG.length)]);
  const res = await upload(u.accessToken, "id_front", big, "image/jpeg", "big.jpg");
  expect(res.status).toBe(413);
  expect(res.body.error.code).toBe("PAYLOAD_TOO_LARGE");
  expect((await api.get("/v1/kyc/documents", u.accessToken)).body.items).toEqual([]);
});
