/**
 * The distributed profile for real: gateway, auth and notifications as
 * separate brokers over NATS, with MongoDB (FerretDB here) and Redis; auth
 * also as its own OS process.
 */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import fs from "node:fs";
import type { ServiceBroker } from "moleculer";
import { loadConfig, setConfig, type Config } from "../../lib/config";
import { createBroker } from "../../lib/system";
import { Client, gatewayUrl, loginByOtp, newPhone, tempDir, waitFor } from "../support/system";
import { distributedEnv, requireEnv, testNamespace } from "../support/distributed";

/** Both suites' nodes: the run's infrastructure, and an OTP limit low enough to hit. */
const nodeEnv = (suffix: string, dataDir: string) => distributedEnv(testNamespace(suffix), dataDir, { OTP_PHONE_LIMIT: "2" });

async function brokerFor(cfg: Config, services: string[], nodeID: string): Promise<ServiceBroker> {
  const broker = createBroker({ ...cfg, services }, { nodeID, logger: false });
  await broker.start();
  return broker;
}

describe("gateway, auth and notifications as separate brokers", () => {
  const dataDir = tempDir();
  let cfg: Config;
  const brokers: ServiceBroker[] = [];
  let api: Client;

  beforeAll(async () => {
    cfg = setConfig(loadConfig(nodeEnv("found", dataDir)));
    expect(cfg.profile).toBe("distributed");
    brokers.push(await brokerFor(cfg, ["notifications"], "notifications-1"));
    brokers.push(await brokerFor(cfg, ["auth"], "auth-1"));
    const gw = await brokerFor(cfg, ["gateway"], "gateway-1");
    brokers.push(gw);
    await gw.waitForServices(["auth", "notifications"], 15_000);
    api = new Client(gatewayUrl(gw));
  }, 60_000);

  afterAll(async () => {
    for (const b of brokers.reverse()) await b.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test("when a user logs in by OTP, then the code travels auth -> notifications (Bull) -> outbox and the tokens work on the gateway", async () => {
    const s = await loginByOtp({ api, dataDir });
    const me = await api.get("/v1/auth/me", s.accessToken);
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ id: s.user.id, phone: s.phone, roles: ["renter"] });
  });

  test("when the user is stored, then it is in MongoDB in auth's own database", async () => {
    const s = await loginByOtp({ api, dataDir });
    const { MongoClient } = await import("mongodb");
    const client = await new MongoClient(requireEnv("MONGO_URL")).connect();
    try {
      const dbName = `${cfg.namespace}_auth`.replace(/[^A-Za-z0-9_]/g, "_");
      const user = await client.db(dbName).collection("users").findOne({ _id: s.user.id as any });
      expect(user).toMatchObject({ phone: s.phone, roles: ["renter"] });
      const otps = await client.db(dbName).collection("otps").find({}).toArray();
      for (const o of otps) expect(JSON.stringify(o)).not.toMatch(/"\d{6}"/); // codes only as hashes
    } finally {
      await client.close();
    }
  });

  test("when refresh rotates and an old token is reused, then the session dies everywhere (revocation in Redis)", async () => {
    const s = await loginByOtp({ api, dataDir });
    const next = await api.post("/v1/auth/refresh", { refreshToken: s.refreshToken });
    expect(next.status).toBe(200);
    expect((await api.post("/v1/auth/refresh", { refreshToken: s.refreshToken })).status).toBe(401);
    expect((await api.get("/v1/auth/me", next.body.accessToken)).status).toBe(401);
  });

  test("when OTPs are flooded, then the limit is shared through Redis and answers 429 with Retry-After", async () => {
    const phone = newPhone();
    expect((await api.post("/v1/auth/otp/request", { phone })).status).toBe(202);
    expect((await api.post("/v1/auth/otp/request", { phone })).status).toBe(202);
    const third = await api.post("/v1/auth/otp/request", { phone });
    expect(third.status).toBe(429);
    expect(Number(third.headers.get("retry-after"))).toBeGreaterThan(0);
  });

  test("when the gateway is asked if it is ready, then it checks NATS and Redis", async () => {
    const r = await api.get("/health/ready");
    expect(r.status).toBe(200);
    expect(r.body.checks).toMatchObject({ transporter: "ok", "api.kv": "ok" });
  });

  test("when notifications is down, then an OTP request is 503 and no code is left behind", async () => {
    await brokers[0].stop();
    try {
      const gw = brokers[2];
      await waitFor(() => !gw.registry.getServiceList({ onlyAvailable: true }).some((s: any) => s.name === "notifications"), "notifications to leave the registry");
      const phone = newPhone();
      const r = await api.post("/v1/auth/otp/request", { phone });
      expect(r.status).toBe(503);
      expect(r.body.error.code).toBe("SERVICE_UNAVAILABLE");
      const verify = await api.post("/v1/auth/otp/verify", { phone, code: "123456" });
      expect(verify.body.error.message).toMatch(/No code was requested/);
    } finally {
      // A restarted process is a new broker.
      brokers[0] = await brokerFor(cfg, ["notifications"], "notifications-2");
      await brokers[2].waitForServices(["notifications"], 15_000);
    }
  }, 60_000);
});

describe("auth as its own OS process", () => {
  const dataDir = tempDir();
  let child: ChildProcess;
  let gateway: ServiceBroker;
  let notifications: ServiceBroker;
  let api: Client;
  let logs = "";

  beforeAll(async () => {
    const e = nodeEnv("proc", dataDir);
    const cfg = setConfig(loadConfig(e));
    child = spawn(process.execPath, ["--import", "tsx", path.join(__dirname, "../../bin/carshare.ts")], {
      env: { ...process.env, ...e, SERVICES: "auth", NODE_ID: "auth-process" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout!.on("data", (d) => (logs += d));
    child.stderr!.on("data", (d) => (logs += d));
    notifications = await brokerFor(cfg, ["notifications"], "notifications-p");
    gateway = await brokerFor(cfg, ["gateway"], "gateway-p");
    await gateway.waitForServices(["auth", "notifications"], 30_000).catch((err) => {
      throw new Error(`auth process did not join: ${err.message}\n${logs}`);
    });
    api = new Client(gatewayUrl(gateway));
  }, 60_000);

  afterAll(async () => {
    child?.kill("SIGTERM");
    await gateway?.stop();
    await notifications?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test("when a user registers and logs in, then the auth process answers through the gateway", async () => {
    const email = `p${Date.now()}@example.com`;
    const reg = await api.post("/v1/auth/register", { email, password: "correct horse battery", name: "Proc", phone: newPhone() });
    expect(reg.status).toBe(201);
    const login = await api.post("/v1/auth/login", { email, password: "correct horse battery" });
    expect(login.status).toBe(200);
    expect((await api.get("/v1/auth/me", login.body.accessToken)).body.email).toBe(email);
  });

  test("when the auth process gets SIGTERM, then it leaves cleanly and the gateway answers 503 instead of hanging", async () => {
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    await waitFor(() => !gateway.registry.getServiceList({ onlyAvailable: true }).some((s: any) => s.name === "auth"), "auth to leave");
    const r = await api.post("/v1/auth/login", { email: "x@example.com", password: "whatever" });
    expect(r.status).toBe(503);
    expect(r.body.error.code).toBe("SERVICE_UNAVAILABLE");
  }, 30_000);
});
