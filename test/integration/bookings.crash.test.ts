/**
 * Crash safety across processes: the bookings service runs as its own
 * process over real NATS, MongoDB/FerretDB and Redis (Bull). It is killed
 * with SIGKILL while a saga step waits for the payments service; a new
 * process resumes the saga from its stored state and finishes it, with one
 * payment and one notification per party.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import type { ServiceBroker } from "moleculer";
import { MongoClient } from "mongodb";
import { loadConfig, setConfig, type Config } from "../../lib/config";
import { createBroker } from "../../lib/system";
import { Client, gatewayUrl, loginByOtp, tempDir, waitFor } from "../support/system";
import { approveKyc, fakePeers, hours, kst, nextSlot, World } from "../../services/bookings/test/fakes";
import { cleanupNamespace, distributedEnv, requireEnv, testNamespace } from "../support/distributed";

jest.setTimeout(120_000);

const REPO = path.resolve(__dirname, "..", "..");
const namespace = testNamespace("bkcrash");
const dbPrefix = namespace.replace(/[^A-Za-z0-9_]/g, "_");
const dataDir = tempDir("carshare-crash-");
const env = distributedEnv(namespace, dataDir, { BOOKING_SAGA_BACKOFF: "200ms" });

const world = new World();
let cfg: Config;
let brokers: ServiceBroker[] = [];
let gateway: ServiceBroker;
let authNode: ServiceBroker;
const children = new Set<ChildProcess>();
let mongo: MongoClient;

/** Starts a bookings process and resolves once it is up and the gateway sees it. */
async function startBookingsProcess(nodeID: string): Promise<ChildProcess> {
  // node itself (tsx as a loader), so that SIGKILL reaches the process that runs the service.
  const child = spawn(process.execPath, ["--import", "tsx", path.join(__dirname, "bookings.node.ts")], {
    cwd: REPO,
    env: { ...process.env, ...env, NODE_ID: `${namespace}-${nodeID}`, SERVICES: "bookings" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  children.add(child);
  child.once("exit", () => children.delete(child));
  await new Promise<void>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d) => {
      out += String(d);
      if (out.includes("READY")) resolve();
    });
    child.once("exit", (code) => reject(new Error(`bookings process ${nodeID} exited with ${code} before it was ready`)));
  });
  await waitFor(() => (gateway as any).registry.nodes.get(`${namespace}-${nodeID}`)?.available && (gateway as any).registry.hasService("bookings"), `the gateway to see ${nodeID}`, 30_000);
  return child;
}

const sagaDoc = () => mongo.db(`${dbPrefix}_bookings`).collection<any>("sagas");

beforeAll(async () => {
  cfg = setConfig(loadConfig({ ...env, OTP_IP_LIMIT: "1000" }));
  const node = (services: string[], nodeID: string) => createBroker({ ...cfg, services }, { nodeID: `${namespace}-${nodeID}`, logger: false });
  gateway = node(["gateway"], "gateway");
  authNode = node(["auth"], "auth");
  const peers = node([], "peers");
  for (const schema of fakePeers(world, ["vehicles", "payments", "driverLinks", "notifications"])) peers.createService(schema);
  brokers = [gateway, authNode, peers];
  for (const b of brokers) await b.start();
  mongo = new MongoClient(requireEnv("MONGO_URL"), { serverSelectionTimeoutMS: 5000 });
  await mongo.connect();
});

afterAll(async () => {
  for (const c of children) c.kill("SIGKILL");
  world.releaseHung();
  for (const b of brokers) await b.stop().catch(() => undefined);
  fs.rmSync(dataDir, { recursive: true, force: true });
  await mongo.close();
  await cleanupNamespace(namespace);
});

test("when the bookings process is killed mid-saga, then a new process resumes it: one payment, both parties told once, saga done", async () => {
  const first = await startBookingsProcess("bookings-a");
  const api = new Client(gatewayUrl(gateway));
  const sys = { api, dataDir };
  const host = await loginByOtp(sys);
  await approveKyc(authNode, host.user.id, brokers);
  expect((await api.post("/v1/auth/me/roles", { role: "owner" }, host.accessToken)).status).toBe(200);
  const guest = await loginByOtp(sys);
  await approveKyc(authNode, guest.user.id, brokers);
  const vehicle = world.addVehicle(host.user.id);

  // The payments service takes the first request and never answers it: the step is in flight when the process dies.
  world.hangs.add("payments.createForBooking");

  const start = nextSlot();
  const b = await api.post("/v1/bookings", { vehicleId: vehicle.id, start: kst(start), end: kst(start + hours(2)) }, guest.accessToken);
  expect(b.status).toBe(201);
  const id = b.body.id as string;
  expect((await api.post(`/v1/bookings/${id}/accept`, {}, host.accessToken)).status).toBe(200);
  await waitFor(() => world.called("payments.createForBooking").length === 1, "the payment step to be in flight");

  first.kill("SIGKILL");
  await new Promise((r) => first.once("exit", r));
  expect(await sagaDoc().findOne({ _id: id })).toMatchObject({ status: "running", step: 1 });

  await startBookingsProcess("bookings-b");
  const done = await waitFor(async () => {
    const s = await sagaDoc().findOne({ _id: id });
    return s?.status === "done" && s;
  }, "the new process to finish the saga", 60_000);
  world.releaseHung();

  expect(done.paymentId).toBe(world.payments.get(id)!.id);
  expect([...world.payments.values()].filter((p) => p.bookingId === id)).toHaveLength(1);
  expect([...world.inApp.keys()].filter((k) => k.startsWith(id)).sort()).toEqual([`${id}:accepted:${guest.user.id}`, `${id}:accepted:${host.user.id}`].sort());
  const stored = await mongo.db(`${dbPrefix}_bookings`).collection<any>("bookings").findOne({ _id: id });
  expect(stored).toMatchObject({ status: "accepted", paymentId: done.paymentId, sagaPending: false });
});
