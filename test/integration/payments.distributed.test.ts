/**
 * The driver-link submit path in the distributed profile: payments on one
 * broker, driver links (with the gateway, auth and notifications) on another,
 * talking over real NATS (requests and JetStream facts), with Redis (queues,
 * rate limits) and MongoDB/FerretDB (each service its own database).
 * No skipping: missing infrastructure fails the test.
 */
import fs from "node:fs";
import type { ServiceBroker } from "moleculer";
import { loadConfig, setConfig, type Config } from "../../lib/config";
import { createBroker } from "../../lib/system";
import { Client, gatewayUrl, loginByOtp, newPhone, tempDir, waitFor, type Session } from "../support/system";
import { factsOf, linkedBooking, peerFakes, peerState, type PeerState } from "../support/payments";
import { cleanupNamespace, distributedEnv, testNamespace } from "../support/distributed";

jest.setTimeout(120_000);

describe("driver-link submit across brokers (NATS, Redis, MongoDB)", () => {
  const namespace = testNamespace("pay");
  const adminPhone = newPhone();
  let cfg: Config;
  let dataDir: string;
  let edge: ServiceBroker;
  let pay: ServiceBroker;
  let api: Client;
  let state: PeerState;
  let owner: Session;
  let renter: Session;
  let admin: Session;

  beforeAll(async () => {
    dataDir = tempDir("carshare-dist-");
    cfg = setConfig(
      loadConfig(distributedEnv(namespace, dataDir, { ADMIN_PHONES: adminPhone, PUBLIC_URL: "https://carshare.example" })),
    );
    state = peerState();
    pay = createBroker({ ...cfg, services: ["payments"] }, { nodeID: `${namespace}-payments`, logger: false });
    edge = createBroker({ ...cfg, services: ["gateway", "auth", "notifications", "driver-links"] }, { nodeID: `${namespace}-edge`, logger: false });
    for (const s of peerFakes(state)) edge.createService(s);
    await Promise.all([pay.start(), edge.start()]);
    await Promise.all([edge.waitForServices(["payments"], 20_000), pay.waitForServices(["notifications"], 20_000)]);
    api = new Client(gatewayUrl(edge));
    const sys = { api, dataDir };
    [owner, renter, admin] = await Promise.all([loginByOtp(sys), loginByOtp(sys), loginByOtp(sys, adminPhone)]);
  });

  afterAll(async () => {
    await Promise.allSettled([edge?.stop(), pay?.stop()]);
    // Leave nothing behind: databases, streams and keys of this namespace.
    await cleanupNamespace(namespace);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it("when the driver reports through the gateway on one broker, then payments on the other records it, publishes payment.paid and the owner is notified", async () => {
    expect(pay.getLocalService("payments")).toBeTruthy();
    expect(edge.getLocalService("payments")).toBeFalsy();

    const b = await linkedBooking(edge, dataDir, state, { renterId: renter.user.id, ownerId: owner.user.id, amount: 72_000 });
    expect(b.sms.body).toContain(`https://carshare.example/d/${b.token}`);

    const summary = await api.get(`/v1/driver-links/${b.token}`);
    expect(summary.status).toBe(200);
    expect(summary.body.booking).toMatchObject({ id: b.bookingId, expectedAmount: 72_000, currency: "KRW" });

    const body = { paid: true, amount: 72_000, method: "cash", paidAt: "2026-02-01T18:00:00+09:00" };
    const first = await api.post(`/v1/driver-links/${b.token}/payment`, body, undefined, { "idempotency-key": "dist-key-1" });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ payment: { id: b.payment.id, status: "paid", reportedAmount: 72_000, discrepancy: false, paidAt: "2026-02-01T09:00:00.000Z" }, booking: { id: b.bookingId, status: "confirmed" } });

    const replay = await api.post(`/v1/driver-links/${b.token}/payment`, { ...body, amount: 1 }, undefined, { "idempotency-key": "dist-key-1" });
    expect(replay.status).toBe(200);
    expect(replay.body).toEqual(first.body);
    const other = await api.post(`/v1/driver-links/${b.token}/payment`, body, undefined, { "idempotency-key": "dist-key-2" });
    expect(other.status).toBe(410);
    expect(other.body.error.code).toBe("LINK_USED");

    // The fact crossed JetStream to the (fake) bookings consumer on the other broker.
    const [paid] = await factsOf(state, "payment.paid", 1, (f) => f.data.paymentId === b.payment.id);
    expect(paid.data).toMatchObject({ bookingId: b.bookingId, paymentId: b.payment.id, via: "driver_link" });
    expect(state.confirmed).toContainEqual({ bookingId: b.bookingId, paymentId: b.payment.id });

    // Stored by payments in its own MongoDB database; parties read it through the gateway.
    const seen = await api.get(`/v1/payments/${b.payment.id}`, owner.accessToken);
    expect(seen.status).toBe(200);
    expect(seen.body).toMatchObject({ status: "paid", method: "cash", reportedAmount: 72_000 });

    // The owner's in-app notification, from the fact consumed by notifications (queued on Redis).
    const note = await waitFor(async () => (await api.get("/v1/notifications", owner.accessToken)).body.items?.find((n: any) => n.kind === "payment.paid" && n.data.paymentId === b.payment.id), "the owner's payment notification", 30_000);
    expect(note.body).toContain("₩72,000");

    // The audit chain survived the round trip through MongoDB: it verifies.
    const audit = await api.get(`/v1/admin/audit?entityType=payment&entityId=${b.payment.id}`, admin.accessToken);
    expect(audit.body.items.map((e: any) => e.action)).toEqual(["payment.driver_paid", "payment.create"]);
    const verify = await api.get("/v1/admin/audit/verify", admin.accessToken);
    expect(verify.body).toEqual({ ok: true, checked: 2 });
  });

  it("when two reports with different keys race across the wire, then exactly one wins", async () => {
    const b = await linkedBooking(edge, dataDir, state, { renterId: renter.user.id, ownerId: owner.user.id });
    const answers = await Promise.all([1, 2, 3].map((i) => api.post(`/v1/driver-links/${b.token}/payment`, { paid: true, amount: 55_000, method: "card", paidAt: "2026-02-01T18:00:00+09:00" }, undefined, { "idempotency-key": `race-${i}` })));
    expect(answers.map((a) => a.status).sort()).toEqual([200, 410, 410]);
    const payment = await api.get(`/v1/payments/${b.payment.id}`, renter.accessToken);
    expect(payment.body).toMatchObject({ status: "paid", method: "card" });
  });
});
