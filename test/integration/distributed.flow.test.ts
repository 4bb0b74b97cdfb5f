/**
 * Issue 6, "Prove it": the distributed deployment for real. Every service is
 * its own OS process (`node --import tsx bin/carshare.ts`, SERVICES=<one>),
 * two gateways and two bookings processes, over the run's NATS (JetStream),
 * Redis and MongoDB/FerretDB; the tests speak only HTTP to the gateways and
 * read the development SMS outbox the processes share (DATA_DIR).
 *
 * 1. The whole story: OTP login, KYC through the API, a car with a driver,
 *    search, book, accept, the driver's SMS link, cash, pickup, return, rating.
 * 2. Scale-out: 30 overlapping requests over both gateways and both bookings
 *    processes give one booking; its saga runs once.
 * 3. Faults: a bookings process killed mid-saga; Redis restarted; NATS restarted.
 *    Redis and NATS are the machine's own servers (test/infra/services.ts), so
 *    this file stops and starts them, and always starts them again. It refuses to
 *    touch servers it did not find on 127.0.0.1 (TEST_INFRA_*_SOURCE from run-tests.ts).
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { MongoClient } from "mongodb";
import { ALL_SERVICES } from "../../lib/config";
import { SERVICE_FACTORIES } from "../../lib/system";
import { LOCAL_NATS, LOCAL_REDIS, NATS_BIN, NATS_START, REDIS_START, portAcceptsConnections, probeNats, probeRedis } from "../infra/services";
import { Cluster, type Proc } from "../support/cluster";
import { cleanupNamespace, distributedEnv, requireEnv as env, testNamespace } from "../support/distributed";
import { verifyThroughApi } from "../support/kyc";
import { loginByOtp, newPhone, outbox, tempDir, waitFor, type Client, type Session } from "../support/system";

jest.setTimeout(120_000);

const HOUR = 3_600_000;
const namespace = testNamespace("dflow");
const dbPrefix = namespace.replace(/[^A-Za-z0-9_]/g, "_");
const dataDir = tempDir("carshare-dflow-");
const adminPhone = newPhone();
/** Trust (ratings) is the newest service: the rating step runs once it is registered to run. */
const TRUST_RUNS = (ALL_SERVICES as readonly string[]).includes("trust") && "trust" in SERVICE_FACTORIES;

// PORT and HEALTH_PORT are the cluster's to choose, per process.
const cluster = new Cluster(distributedEnv(namespace, dataDir, { ADMIN_PHONES: adminPhone, OTP_PHONE_LIMIT: "50", OTP_IP_LIMIT: "100000" }));
let gw1: Client;
let gw2: Client;
let mongo: MongoClient;

/** Every service once, plus a second gateway and a second bookings process. */
const PROCESSES = [...Object.keys(SERVICE_FACTORIES), "gateway", "bookings"];

beforeAll(async () => {
  fs.mkdirSync(path.join(dataDir, "outbox"), { recursive: true });
  mongo = await new MongoClient(env("MONGO_URL"), { serverSelectionTimeoutMS: 5000 }).connect();
  await cluster.explain(async () => {
    for (const s of PROCESSES) await cluster.start(s);
    await cluster.waitReady(90_000);
  });
  [gw1, gw2] = cluster.gateways();
}, 120_000);

afterAll(async () => {
  await cluster.stopAll();
  fs.rmSync(dataDir, { recursive: true, force: true });
  await mongo?.close();
  // Leave nothing behind; bounded, as a server that failed to come back must not hang the run.
  await Promise.race([cleanupNamespace(namespace), new Promise<void>((r) => setTimeout(r, 20_000).unref())]).catch(() => undefined);
}, 60_000);

// ---------------------------------------------------------------------------------------------
// People, cars, windows

const sys = (api: Client) => ({ api, dataDir });
let adminSession: Promise<Session> | undefined;
const admin = () => (adminSession ??= loginByOtp(sys(gw1), adminPhone));

async function verifiedUser(api: Client, owner = false): Promise<Session & { phone: string }> {
  const s = await loginByOtp(sys(api));
  if (owner) {
    const r = await api.post("/v1/auth/me/roles", { role: "owner" }, s.accessToken);
    expect(r.status).toBe(200);
  }
  await verifyThroughApi(api, s, await admin(), 10_000);
  return s;
}

let ownerSession: Promise<Session> | undefined;
const owner = () => (ownerSession ??= verifiedUser(gw1, true));

/** A new car near Seoul City Hall with a new driver; resolves with both ids and the driver's phone. */
async function carWithDriver(api: Client, o: Session): Promise<{ vehicleId: string; driverId: string; driverPhone: string }> {
  const plate = `${10 + Math.floor(Math.random() * 89)}가 ${1000 + Math.floor(Math.random() * 8999)}`;
  const car = { licensePlate: plate, make: "Hyundai", model: "Ioniq 5", year: 2023, seats: 5, hourlyRate: 12_000, fuelType: "electric", transmission: "automatic", location: { address: "Seoul City Hall", lat: 37.5663, lng: 126.9779 } };
  const vehicle = await api.post("/v1/vehicles", car, o.accessToken);
  expect({ status: vehicle.status, body: vehicle.body }).toMatchObject({ status: 201 });
  const driverPhone = newPhone();
  const driver = await api.post("/v1/drivers", { name: "Choi", phone: driverPhone }, o.accessToken);
  expect(driver.status).toBe(201);
  expect((await api.put(`/v1/vehicles/${vehicle.body.id}/driver`, { driverId: driver.body.id }, o.accessToken)).status).toBe(200);
  return { vehicleId: vehicle.body.id, driverId: driver.body.id, driverPhone };
}

/** A window starting at `startHour` KST `days` ahead, as a user would type it. */
function window(days: number, startHour: number, lengthHours: number) {
  const day = new Date(Date.now() + days * 24 * HOUR).toISOString().slice(0, 10);
  const start = new Date(`${day}T${String(startHour).padStart(2, "0")}:00:00+09:00`);
  return { start: start.toISOString().replace(".000Z", "Z"), end: new Date(start.getTime() + lengthHours * HOUR).toISOString().replace(".000Z", "Z") };
}

const smsTo = (phone: string) => outbox(dataDir).filter((m) => m.to === phone);
const linkToken = (body: string) => /\/d\/([A-Za-z0-9_-]{43,})/.exec(body)?.[1];

/** The driver got exactly one SMS (waiting for it, then a little longer for a duplicate) with a link. */
async function exactlyOneDriverSms(phone: string, timeoutMs = 30_000): Promise<string> {
  await waitFor(() => smsTo(phone).length > 0, `the driver's SMS to ${phone}`, timeoutMs);
  await new Promise((r) => setTimeout(r, 1500));
  const msgs = smsTo(phone);
  expect(msgs).toHaveLength(1);
  const token = linkToken(msgs[0].body);
  expect(token).toBeDefined();
  return token!;
}

async function paymentsOf(api: Client, o: Session, bookingId: string): Promise<any[]> {
  const r = await api.get(`/v1/payments?bookingId=${bookingId}`, o.accessToken);
  expect(r.status).toBe(200);
  return r.body.items;
}

/** How many bookings.create requests a process's Moleculer metrics counted. */
async function createsHandled(p: Proc): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${p.port}/metrics`)).text();
  return text
    .split("\n")
    .filter((l) => l.startsWith("moleculer_request_total{") && l.includes('action="bookings.create"'))
    .reduce((sum, l) => sum + Number(l.split(" ").pop()), 0);
}

// ---------------------------------------------------------------------------------------------
// 1. The whole story

test("when everything runs as separate processes, then the whole story works through the gateway: login, KYC, car with driver, search, book, accept, driver link, cash, pickup, return, rating", () =>
  cluster.explain(async () => {
    const api = gw1;
    // Owner: OTP login (code from the shared outbox), owner role, KYC through the API; the admin approves.
    const o = await loginByOtp(sys(api));
    expect((await api.post("/v1/auth/me/roles", { role: "owner" }, o.accessToken)).status).toBe(200);
    const car = { licensePlate: "77가 1234", make: "Kia", model: "EV6", year: 2024, seats: 5, hourlyRate: 12_000, fuelType: "electric", transmission: "automatic", location: { address: "Seoul City Hall", lat: 37.5663, lng: 126.9779 } };
    const refused = await api.post("/v1/vehicles", car, o.accessToken);
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe("KYC_REQUIRED");
    await verifyThroughApi(api, o, await admin(), 10_000);

    // A car with a driver.
    const vehicle = await api.post("/v1/vehicles", car, o.accessToken);
    expect(vehicle.status).toBe(201);
    const driverPhone = newPhone();
    const driver = await api.post("/v1/drivers", { name: "Kim", phone: driverPhone }, o.accessToken);
    expect(driver.status).toBe(201);
    expect((await api.put(`/v1/vehicles/${vehicle.body.id}/driver`, { driverId: driver.body.id }, o.accessToken)).status).toBe(200);

    // The renter, verified, finds it with a quote and books it.
    const renter = await verifiedUser(api);
    const w = window(3, 10, 5);
    const found = await api.get(`/v1/vehicles?lat=37.5700&lng=126.9820&radiusKm=2&start=${encodeURIComponent(w.start)}&end=${encodeURIComponent(w.end)}`);
    expect(found.status).toBe(200);
    expect(found.body.items.find((v: any) => v.id === vehicle.body.id)).toMatchObject({ quote: { total: 60_000, platformFee: 9_000, currency: "KRW" } });
    const booking = await api.post("/v1/bookings", { vehicleId: vehicle.body.id, ...w }, renter.accessToken);
    expect(booking.status).toBe(201);
    expect(booking.body).toMatchObject({ status: "requested", renterId: renter.user.id, ownerId: o.user.id, price: { total: 60_000 } });
    const id = booking.body.id as string;

    // The owner accepts; the saga (bookings -> payments, driver-links, notifications) texts the driver a link.
    const accepted = await api.post(`/v1/bookings/${id}/accept`, {}, o.accessToken);
    expect(accepted.status).toBe(200);
    expect(accepted.body.status).toBe("accepted");
    const token = await exactlyOneDriverSms(driverPhone);

    // The driver opens the link (through the other gateway) and reports the cash.
    expect((await gw2.get(`/v1/driver-links/${token}`)).body.booking).toMatchObject({ id, expectedAmount: 60_000, currency: "KRW" });
    const paid = await gw2.post(`/v1/driver-links/${token}/payment`, { paid: true, amount: 60_000, method: "cash", paidAt: new Date().toISOString() }, undefined, { "idempotency-key": `cash-${id}` });
    expect(paid.status).toBe(200);
    expect(paid.body.payment).toMatchObject({ status: "paid", amount: 60_000, discrepancy: false });
    expect(paid.body.booking).toMatchObject({ id, status: "confirmed" });
    expect((await api.get(`/v1/bookings/${id}`, renter.accessToken)).body.status).toBe("confirmed");
    expect(await paymentsOf(api, o, id)).toEqual([expect.objectContaining({ status: "paid", source: "driver_link", method: "cash", amount: 60_000 })]);

    // Pickup and return.
    expect((await api.post(`/v1/bookings/${id}/pickup`, {}, o.accessToken)).body.status).toBe("active");
    expect((await api.post(`/v1/bookings/${id}/return`, {}, o.accessToken)).body.status).toBe("completed");
    const timeline = await api.get(`/v1/bookings/${id}/timeline`, renter.accessToken);
    expect(timeline.body.items.map((t: any) => t.status)).toEqual(["requested", "accepted", "confirmed", "active", "completed"]);

    // The renter rates the car (the trust process; enabled as soon as trust is registered in lib/system.ts).
    if (TRUST_RUNS) {
      const rating = await api.post(`/v1/bookings/${id}/ratings`, { target: "vehicle", score: 5 }, renter.accessToken);
      expect({ status: rating.status, body: rating.body }).toMatchObject({ status: 201 });
    } else {
      expect(cluster.running("trust")).toHaveLength(0); // nothing to rate with yet: see TRUST_RUNS
    }
  }));

// ---------------------------------------------------------------------------------------------
// 2. Scale-out

test("when 30 overlapping requests race over two gateways and two bookings processes, then one is booked, 29 get BOOKING_CONFLICT, and its saga runs once", () =>
  cluster.explain(async () => {
    const o = await owner();
    const { vehicleId, driverPhone } = await carWithDriver(gw1, o);
    const renters = await Promise.all([verifiedUser(gw1), verifiedUser(gw2), verifiedUser(gw1)]);
    const bookings = cluster.running("bookings");
    expect(bookings).toHaveLength(2);
    const createsBefore = await Promise.all(bookings.map(createsHandled));

    const base = Date.parse(window(5, 9, 1).start);
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) => {
        const start = base + (i % 4) * 0.5 * HOUR; // 3-hour windows within 1.5 h of each other: every pair overlaps
        const body = { vehicleId, start: new Date(start).toISOString(), end: new Date(start + 3 * HOUR).toISOString() };
        return (i % 2 ? gw2 : gw1).post("/v1/bookings", body, renters[i % 3].accessToken);
      }),
    );
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(answers.filter((a) => a.status === 409 && a.body.error?.code === "BOOKING_CONFLICT")).toHaveLength(29);
    // Both bookings processes took part.
    const handled = (await Promise.all(bookings.map(createsHandled))).map((n, i) => n - createsBefore[i]);
    expect(handled.reduce((a, b) => a + b, 0)).toBe(30);
    expect(handled.every((n) => n > 0)).toBe(true);

    const winner = answers.find((a) => a.status === 201)!.body;
    const renter = renters.find((r) => r.user.id === winner.renterId)!;
    const accepted = await gw2.post(`/v1/bookings/${winner.id}/accept`, {}, o.accessToken);
    expect(accepted.status).toBe(200);
    await exactlyOneDriverSms(driverPhone);
    expect(await paymentsOf(gw1, o, winner.id)).toHaveLength(1);
    expect(await paymentsOf(gw2, o, winner.id)).toHaveLength(1);
    // Both gateways answer, and agree.
    for (const api of [gw1, gw2]) {
      const b = await api.get(`/v1/bookings/${winner.id}`, renter.accessToken);
      expect(b.status).toBe(200);
      expect(b.body.status).toBe("accepted");
      expect((await api.get("/health/ready")).status).toBe(200);
    }
  }));

// ---------------------------------------------------------------------------------------------
// 3. Faults

test("when every bookings process is killed (SIGKILL) right after an accept, then a new bookings process finishes the saga: one payment, one driver SMS", () =>
  cluster.explain(async () => {
    const o = await owner();
    const { vehicleId, driverPhone } = await carWithDriver(gw1, o);
    const renter = await verifiedUser(gw1);
    const b = await gw1.post("/v1/bookings", { vehicleId, ...window(7, 14, 2) }, renter.accessToken);
    expect(b.status).toBe(201);
    const id = b.body.id as string;

    const accepted = await gw1.post(`/v1/bookings/${id}/accept`, {}, o.accessToken);
    expect(accepted.status).toBe(200);
    await Promise.all(cluster.running("bookings").map((p) => cluster.kill(p)));
    const sagas = mongo.db(`${dbPrefix}_bookings`).collection<any>("sagas");
    const atKill = await sagas.findOne({ _id: id });

    await cluster.start("bookings");
    await cluster.waitReady(60_000);
    const done = await waitFor(async () => {
      const s = await sagas.findOne({ _id: id });
      return s?.status === "done" && s;
    }, `the saga of ${id} to finish (it was ${atKill?.status ?? "not stored"} at step ${atKill?.step ?? "?"} when the processes died)`, 60_000);
    await exactlyOneDriverSms(driverPhone);
    const payments = await paymentsOf(gw1, o, id);
    expect(payments).toHaveLength(1);
    expect(done.paymentId).toBe(payments[0].id);
    expect(await mongo.db(`${dbPrefix}_bookings`).collection<any>("bookings").findOne({ _id: id })).toMatchObject({ status: "accepted", sagaPending: false });
  }));

/** The servers this file may stop and start: the machine's own, as test/infra/services.ts found or started them. */
function requireLocal(kind: "nats" | "redis"): void {
  const url = new URL(env(kind === "nats" ? "NATS_URL" : "REDIS_URL"));
  const local = kind === "nats" ? LOCAL_NATS : LOCAL_REDIS;
  const source = process.env[kind === "nats" ? "TEST_INFRA_NATS_SOURCE" : "TEST_INFRA_REDIS_SOURCE"];
  const isLocal = url.hostname === local.host && Number(url.port) === local.port && (source === "local" || source === "env");
  if (!isLocal) {
    throw new Error(
      `This test restarts ${kind} and only does so for the machine's own server on ${local.host}:${local.port}; ` +
        `this run uses ${url.host} (source: ${source ?? "unknown"}). Run it with the local servers (unset ${kind.toUpperCase()}_URL, no Docker engine).`,
    );
  }
}

function run(cmd: string, args: readonly string[]): void {
  const r = spawnSync(cmd, [...args], { encoding: "utf8", timeout: 20_000 });
  if (r.error || r.status !== 0) throw new Error(`\`${cmd} ${args.join(" ")}\` failed (exit ${r.status ?? "?"}${r.error ? `, ${r.error.message}` : ""}): ${(r.stderr || r.stdout || "").trim()}`);
}

async function startRedis(): Promise<void> {
  if (!(await probeRedis(LOCAL_REDIS.host, LOCAL_REDIS.port))) return;
  run(REDIS_START[0], REDIS_START[1]);
  await waitFor(async () => (await probeRedis(LOCAL_REDIS.host, LOCAL_REDIS.port)) === null, "Redis to answer PING after its restart", 15_000);
}

async function startNats(): Promise<void> {
  if (!(await probeNats(LOCAL_NATS.host, LOCAL_NATS.port))) return;
  run(NATS_START[0], NATS_START[1]);
  await waitFor(async () => (await probeNats(LOCAL_NATS.host, LOCAL_NATS.port)) === null, "NATS (JetStream) to answer after its restart", 15_000);
}

/** Polls a gateway's readiness until `accept` says yes; resolves with that answer. */
async function readiness(api: Client, accept: (r: { status: number; body: any }) => boolean, what: string, timeoutMs: number) {
  let last: { status: number; body: any } | undefined;
  try {
    return await waitFor(async () => {
      const r = await api.get("/health/ready").catch((e: Error) => ({ status: 0, body: e.message }));
      last = { status: r.status, body: r.body };
      return accept(last) && last;
    }, what, timeoutMs);
  } catch (err) {
    throw new Error(`${(err as Error).message}; last answer: ${JSON.stringify(last)}`);
  }
}

test("when Redis restarts, then the gateway is not ready (503, naming Redis) while it is down, and ready with working logins after", () =>
  cluster.explain(async () => {
    requireLocal("redis");
    for (const bin of ["redis-server", "redis-cli"]) {
      if (spawnSync("sh", ["-c", `command -v ${bin}`]).status !== 0) throw new Error(`${bin} is not installed: this test restarts the local Redis and needs it (apt-get install redis-server)`);
    }
    try {
      run("redis-cli", ["-h", LOCAL_REDIS.host, "-p", String(LOCAL_REDIS.port), "shutdown", "nosave"]);
      await waitFor(async () => !(await portAcceptsConnections(LOCAL_REDIS.host, LOCAL_REDIS.port)), "Redis to stop", 10_000);
      for (const api of [gw1, gw2]) {
        const down = await readiness(api, (r) => r.status === 503, "503 from /health/ready while Redis is down", 15_000);
        expect(down.body.status).toBe("unavailable");
        expect(down.body.checks["api.kv"]).toBeDefined();
        expect(down.body.checks["api.kv"]).not.toBe("ok");
        expect(down.body.checks.transporter).toBe("ok");
      }
    } finally {
      await startRedis();
    }
    for (const api of [gw1, gw2]) await readiness(api, (r) => r.status === 200, "200 from /health/ready after Redis is back", 30_000);
    await cluster.waitReady(60_000); // every process: its queue and key-value store reconnected
    const s = await loginByOtp(sys(gw2));
    expect((await gw1.get("/v1/auth/me", s.accessToken)).body.phone).toBe(s.phone);
  }));

test("when NATS restarts, then the gateway is not ready (503, transporter) while it is down, and after it every process reconnects: login, search, book, accept and the driver's SMS work", () =>
  cluster.explain(async () => {
    requireLocal("nats");
    if (!fs.existsSync(NATS_BIN)) throw new Error(`${NATS_BIN} is not installed: this test restarts the local NATS`);
    const o = await owner();
    const { vehicleId, driverPhone } = await carWithDriver(gw1, o);
    const renter = await verifiedUser(gw1);
    try {
      run("start-stop-daemon", ["--stop", "--oknodo", "--retry", "10", "--exec", NATS_BIN]);
      await waitFor(async () => !(await portAcceptsConnections(LOCAL_NATS.host, LOCAL_NATS.port)), "NATS to stop", 15_000);
      for (const api of [gw1, gw2]) {
        const down = await readiness(api, (r) => r.status === 503, "503 from /health/ready while NATS is down", 15_000);
        expect(down.body.checks.transporter).toBe("disconnected");
      }
    } finally {
      await startNats();
    }
    for (const api of [gw1, gw2]) await readiness(api, (r) => r.status === 200, "200 from /health/ready after NATS is back", 30_000);
    await cluster.waitReady(60_000); // every process reconnected and sees every other one again

    const s = await loginByOtp(sys(gw2));
    expect(s.accessToken).toBeTruthy();
    const w = window(9, 11, 2);
    const found = await gw2.get(`/v1/vehicles?lat=37.5700&lng=126.9820&radiusKm=2&start=${encodeURIComponent(w.start)}&end=${encodeURIComponent(w.end)}`);
    expect(found.status).toBe(200);
    expect(found.body.items.map((v: any) => v.id)).toContain(vehicleId);
    const b = await gw2.post("/v1/bookings", { vehicleId, ...w }, renter.accessToken);
    expect(b.status).toBe(201);
    expect((await gw1.post(`/v1/bookings/${b.body.id}/accept`, {}, o.accessToken)).status).toBe(200);
    await exactlyOneDriverSms(driverPhone);
    expect(await paymentsOf(gw2, o, b.body.id)).toHaveLength(1);
  }));
