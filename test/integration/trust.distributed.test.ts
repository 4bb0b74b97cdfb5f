/**
 * Trust in the distributed profile: the trust service alone on its own
 * broker; the gateway, auth, notifications and payments (the audit log) on
 * another; facts over NATS JetStream, requests over NATS, each service its
 * own MongoDB/FerretDB database, Redis for the key-value store. Then trust is
 * restarted: its state is in MongoDB, and a recompute agrees with it.
 * No skipping: missing infrastructure fails the test.
 */
import fs from "node:fs";
import type { ServiceBroker } from "moleculer";
import { loadConfig, setConfig, type Config } from "../../lib/config";
import type { Fact } from "../../lib/events";
import { sendFact } from "../../lib/facts";
import { createBroker } from "../../lib/system";
import { bookingFacts, kycFact, reportFacts } from "../../services/trust/test/facts";
import { Client, gatewayUrl, loginByOtp, newPhone, tempDir, waitFor, type Session } from "../support/system";
import { cleanupNamespace, distributedEnv, testNamespace } from "../support/distributed";

jest.setTimeout(120_000);

describe("trust on its own broker (NATS, Redis, MongoDB)", () => {
  const namespace = testNamespace("trust");
  const adminPhone = newPhone();
  let cfg: Config;
  let dataDir: string;
  let edge: ServiceBroker;
  let trustNode: ServiceBroker;
  let api: Client;
  let admin: Session;
  let owner: Session;
  let renter: Session;
  let stranger: Session;

  const startTrust = async (n: number) => {
    const b = createBroker({ ...cfg, services: ["trust"] }, { nodeID: `${namespace}-trust-${n}`, logger: false });
    await b.start();
    await edge.waitForServices(["trust"], 30_000);
    return b;
  };

  beforeAll(async () => {
    dataDir = tempDir("carshare-trust-dist-");
    cfg = setConfig(
      loadConfig(distributedEnv(namespace, dataDir, { ADMIN_PHONES: adminPhone })),
    );
    edge = createBroker({ ...cfg, services: ["gateway", "auth", "notifications", "payments"] }, { nodeID: `${namespace}-edge`, logger: false });
    await edge.start();
    trustNode = await startTrust(1);
    await trustNode.waitForServices(["payments", "auth"], 30_000);
    api = new Client(gatewayUrl(edge));
    const sys = { api, dataDir };
    [admin, owner, renter, stranger] = await Promise.all([loginByOtp(sys, adminPhone), loginByOtp(sys), loginByOtp(sys), loginByOtp(sys)]);
  });

  afterAll(async () => {
    await Promise.allSettled([edge?.stop(), trustNode?.stop()]);
    // Leave nothing behind: databases, streams and keys of this namespace.
    await cleanupNamespace(namespace);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  /** Publishes facts from the edge broker, as bookings, payments and KYC would from theirs. */
  const publish = async (facts: Fact<any>[]) => {
    for (const f of facts) await sendFact(edge, f);
  };
  const trustOf = async (path: string, token = stranger.accessToken) => (await api.get(path, token)).body;

  it("when a trip's facts cross JetStream, then ratings, trust and analytics on the trust node answer through the gateway; repeats count once; a restart keeps it all", async () => {
    expect(trustNode.getLocalService("trust")).toBeTruthy();
    expect(edge.getLocalService("trust")).toBeFalsy();
    const today = new Date().toISOString().slice(0, 10);
    const story = { bookingId: `dist-${Date.now().toString(36)}`, vehicleId: "veh-dist", renterId: renter.user.id, ownerId: owner.user.id, driverId: "drv-dist", path: ["requested", "accepted", "confirmed", "active", "completed"] as const, at: Date.now() - 10 * 60_000, total: 90_000 };
    const pay = { paymentId: `pay-${story.bookingId}`, bookingId: story.bookingId, renterId: renter.user.id, ownerId: owner.user.id, driverId: "drv-dist", amount: 90_000 };
    const facts = [kycFact(owner.user.id, "submitted", 1, Date.now() - 3_600_000), kycFact(owner.user.id, "approved", 2), ...bookingFacts({ ...story, path: [...story.path] }), ...reportFacts(pay, "lnk-dist", { paid: true })];

    await publish(facts);
    const ownerTrust = await waitFor(async () => {
      const t = await trustOf(`/v1/users/${owner.user.id}/trust`);
      return t.components?.completionRate.completed === 1 && t.components.kyc.status === "approved" && t;
    }, "the owner's trust from the facts", 30_000);
    expect(ownerTrust.score).toBeGreaterThan(80);
    await waitFor(async () => (await trustOf(`/v1/drivers/drv-dist/trust`)).components?.paymentAccuracy.reports === 1, "the driver's report", 30_000);

    // The same facts again (same ids): nothing counts twice.
    await publish(facts);
    await new Promise((r) => setTimeout(r, 1000));

    // Ratings through the gateway, served by the other node, stored in its MongoDB database.
    const rate = (s: Session, body: unknown) => api.post(`/v1/bookings/${story.bookingId}/ratings`, body, s.accessToken);
    expect((await rate(renter, { target: "vehicle", score: 4, comment: "Good" })).status).toBe(201);
    expect((await rate(renter, { target: "vehicle", score: 4 })).status).toBe(409);
    expect((await rate(stranger, { target: "vehicle", score: 4 })).status).toBe(403);
    expect((await rate(renter, { target: "vehicle", score: 9 })).status).toBe(400);
    expect((await api.get(`/v1/vehicles/veh-dist/ratings`)).body.items).toEqual([]);
    expect((await rate(owner, { target: "renter", score: 5 })).status).toBe(201);
    const list = await api.get(`/v1/vehicles/veh-dist/ratings`);
    expect(list.body.items).toEqual([expect.objectContaining({ score: 4, comment: "Good", revealed: true })]);

    const analytics = await api.get(`/v1/admin/analytics?from=${today}&to=${today}`, admin.accessToken);
    expect(analytics.status).toBe(200);
    expect(analytics.body.bookings.byStatus.completed).toBe(1);
    expect(analytics.body.revenue).toEqual([expect.objectContaining({ currency: "KRW", payments: 1, gross: 90_000, platformFee: 13_500 })]);
    expect(analytics.body.kyc).toMatchObject({ approved: 1, reviewed: 1, queue: 0 });
    expect((await api.get(`/v1/admin/analytics`, owner.accessToken)).status).toBe(403);
    expect((await trustOf(`/v1/users/${owner.user.id}/trust`)).components.completionRate.completed).toBe(1);

    // A flag from the trust node lands in the audit log kept by payments on the edge node.
    const flag = await api.post("/v1/admin/flags", { subjectType: "user", subjectId: renter.user.id, reason: "Smoking in the car" }, admin.accessToken);
    expect(flag.status).toBe(201);
    expect((await trustOf(`/v1/users/${renter.user.id}/trust`)).components.disputes.openFlags).toBe(1);
    await waitFor(async () => (await api.get(`/v1/admin/audit?entityType=flag&entityId=${flag.body.id}`, admin.accessToken)).body.items?.length === 1, "the flag's audit entry", 30_000);

    // Restart trust: its state lives in MongoDB; a recompute from the stored facts changes nothing.
    const seen = await trustOf(`/v1/users/${owner.user.id}/trust`);
    await trustNode.stop();
    trustNode = await startTrust(2);
    expect(await trustOf(`/v1/users/${owner.user.id}/trust`)).toEqual(seen);
    expect((await api.get(`/v1/vehicles/veh-dist/ratings`)).body.items).toHaveLength(1);
    const recompute = await api.post("/v1/admin/trust/recompute", {}, admin.accessToken);
    expect(recompute.status).toBe(200);
    expect(recompute.body).toMatchObject({ facts: facts.length, changed: { subjects: [], days: [] } });
  });
});
