/**
 * No overlap, ever (ARCHITECTURE.md): two bookings-service instances, a
 * gateway, auth + notifications and a fake vehicles service, each its own
 * broker, over real NATS, MongoDB/FerretDB and Redis. 50 concurrent
 * overlapping requests through the gateway: exactly one is booked.
 */
import fs from "node:fs";
import type { ServiceBroker } from "moleculer";
import { loadConfig, setConfig, type Config } from "../../lib/config";
import { createBroker } from "../../lib/system";
import { Client, gatewayUrl, loginByOtp, tempDir, waitFor } from "../support/system";
import { approveKyc, fakePeers, hours, kst, nextSlot, World } from "../../services/bookings/test/fakes";
import { HOLDING } from "../../services/bookings/domain/model";
import { cleanupNamespace, distributedEnv, testNamespace } from "../support/distributed";

jest.setTimeout(120_000);

const namespace = testNamespace("bkrace");
const dataDir = tempDir("carshare-race-");
const world = new World();
let cfg: Config;
let gateway: ServiceBroker;
let authNode: ServiceBroker;
let bookingNodes: ServiceBroker[];
let vehiclesNode: ServiceBroker;
let all: ServiceBroker[] = [];
let api: Client;

beforeAll(async () => {
  cfg = setConfig(
    loadConfig(distributedEnv(namespace, dataDir, { OTP_IP_LIMIT: "1000" })),
  );
  const node = (services: string[], nodeID: string) => createBroker({ ...cfg, services }, { nodeID: `${namespace}-${nodeID}`, logger: false });
  gateway = node(["gateway"], "gateway");
  authNode = node(["auth", "notifications"], "auth");
  bookingNodes = [node(["bookings"], "bookings-1"), node(["bookings"], "bookings-2")];
  vehiclesNode = node([], "vehicles");
  for (const schema of fakePeers(world, ["vehicles"])) vehiclesNode.createService(schema);
  all = [gateway, authNode, ...bookingNodes, vehiclesNode];
  // All at once, as pods start: the two bookings instances race to create their shared durable
  // JetStream consumers (lib/channels.ts makes the loser bind to the winner's).
  await Promise.all(all.map((b) => b.start()));
  await gateway.waitForServices(["auth", "notifications", "bookings", "vehicles"], 30_000);
  // Both bookings instances must be known to the gateway, or the race would run against one.
  await waitFor(() => (gateway as any).registry.getActionEndpoints("bookings.create")?.endpoints.length === 2, "two bookings instances", 30_000);
  api = new Client(gatewayUrl(gateway));
});

afterAll(async () => {
  for (const b of all) await b.stop().catch(() => undefined);
  fs.rmSync(dataDir, { recursive: true, force: true });
  // Leave nothing behind: this test's databases, queues and streams.
  await cleanupNamespace(namespace);
});

test("when 50 overlapping requests for one vehicle race through two bookings instances, then exactly one 201, 49 BOOKING_CONFLICT, one holding booking stored", async () => {
  const sys = { api, dataDir };
  const renters = await Promise.all(Array.from({ length: 5 }, () => loginByOtp(sys)));
  for (const r of renters) await approveKyc(authNode, r.user.id, all);
  const vehicle = world.addVehicle("owner-of-the-car");
  const base = nextSlot();

  const creates = bookingNodes.map((b) => jest.spyOn((b.getLocalService("bookings") as any).bookings, "create"));
  const answers = await Promise.all(
    Array.from({ length: 50 }, (_, i) => {
      const start = base + (i % 5) * hours(0.5); // all 3-hour windows within 2 h of each other: every pair overlaps
      return api.post("/v1/bookings", { vehicleId: vehicle.id, start: kst(start), end: kst(start + hours(3)) }, renters[i % 5].accessToken);
    }),
  );

  const statuses = answers.map((a) => a.status);
  expect(statuses.filter((s) => s === 201)).toHaveLength(1);
  expect(answers.filter((a) => a.status === 409 && a.body.error.code === "BOOKING_CONFLICT")).toHaveLength(49);
  // Both instances took part in the race.
  expect(creates.map((c) => c.mock.calls.length).every((n) => n > 0)).toBe(true);
  expect(creates[0].mock.calls.length + creates[1].mock.calls.length).toBe(50);

  const svc = bookingNodes[0].getLocalService("bookings") as any;
  const stored = await svc.bookings.records.find({ vehicleId: vehicle.id });
  expect(stored.filter((b: any) => HOLDING.includes(b.status))).toHaveLength(1);
  expect(stored).toHaveLength(1);
  const winner = answers.find((a) => a.status === 201)!.body;
  expect(stored[0]._id).toBe(winner.id);
  expect((await svc.bookings.calendars.holds(vehicle.id)).map((h: any) => h.bookingId)).toEqual([winner.id]);

  // And the winner is readable through the other instance too.
  const otherSvc = bookingNodes[1].getLocalService("bookings") as any;
  expect((await otherSvc.bookings.get(winner.id)).status).toBe("requested");
});
