/**
 * Vehicles in the distributed profile: the gateway with auth+notifications on
 * one broker, vehicles on its own broker, and a stand-in `bookings.busy` on a
 * third, over real NATS (requests, streamed photo uploads and downloads,
 * JetStream facts); vehicles' data in its own MongoDB/FerretDB database
 * (photos in GridFS); Redis for the key-value store.
 */
import fs from "node:fs";
import { randomBytes } from "node:crypto";
import type { ServiceBroker } from "moleculer";
import type { BusyMap } from "../../lib/contracts";
import type { Fact } from "../../lib/events";
import { loadConfig, setConfig, type Config } from "../../lib/config";
import { createBroker } from "../../lib/system";
import { approveKyc } from "../support/kyc";
import { Client, gatewayUrl, loginByOtp, tempDir, waitFor, type Session } from "../support/system";
import { cleanupNamespace, distributedEnv, testNamespace } from "../support/distributed";

jest.setTimeout(60_000);

const HOUR = 3_600_000;
const CITY_HALL = { lat: 37.5663, lng: 126.9779 };
const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), randomBytes(600_000), Buffer.from([0xff, 0xd9])]);

let cfg: Config;
let dataDir: string;
let brokers: ServiceBroker[] = [];
let front: ServiceBroker;
let api: Client;
let host: Session;
let renter: Session;
const busyCalls: { vehicleIds: string[]; start: string; end: string }[] = [];
const held = new Set<string>();
const facts: Fact<any>[] = [];

const kst = (ms: number) => new Date(ms + 9 * HOUR).toISOString().replace(/\.\d{3}Z$/, "+09:00");

beforeAll(async () => {
  dataDir = tempDir("carshare-vehicles-int-");
  cfg = setConfig(
    loadConfig(distributedEnv(testNamespace("veh"), dataDir)),
  );
  front = createBroker({ ...cfg, services: ["gateway", "auth", "notifications"] }, { nodeID: "veh-it-front" });
  const vehicles = createBroker({ ...cfg, services: ["vehicles"] }, { nodeID: "veh-it-vehicles" });
  const peers = createBroker({ ...cfg, services: [] }, { nodeID: "veh-it-peers" });
  peers.createService({
    name: "bookings",
    actions: {
      busy: {
        visibility: "public",
        handler(ctx: any): BusyMap {
          busyCalls.push(ctx.params);
          return Object.fromEntries(ctx.params.vehicleIds.map((id: string) => [id, held.has(id) ? [{ start: ctx.params.start, end: ctx.params.end }] : []]));
        },
      },
    },
  });
  peers.createService({
    name: "vehicleFactSpy",
    channels: { "vehicle.created": { group: "vehicle-it-spy", handler: (f: Fact<any>) => void facts.push(f) } },
  });
  brokers = [front, vehicles, peers];
  await Promise.all(brokers.map((b) => b.start()));
  await Promise.all(brokers.map((b) => b.waitForServices(["api", "auth", "notifications", "vehicles", "bookings"], 30_000)));

  api = new Client(gatewayUrl(front));
  host = await loginByOtp({ api, dataDir });
  expect((await api.post("/v1/auth/me/roles", { role: "owner" }, host.accessToken)).status).toBe(200);
  await approveKyc(front, host.user.id);
  renter = await loginByOtp({ api, dataDir });
});

afterAll(async () => {
  await Promise.all(brokers.map((b) => b.stop()));
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  // Leave nothing behind: this run's databases, streams and keys.
  await cleanupNamespace(cfg.namespace);
});

function vehicleBody(licensePlate: string, at = CITY_HALL) {
  return { licensePlate, make: "Kia", model: "EV6", year: 2024, seats: 5, fuelType: "electric", hourlyRate: 20_000, location: { address: "서울 중구 세종대로 110", ...at } };
}

test("when an owner lists a vehicle across nodes, then a renter 1 km away finds it for a free window, with one batched busy call, and not for a held one", async () => {
  const created = await api.post("/v1/vehicles", vehicleBody("12가 3456"), host.accessToken);
  expect(created.status).toBe(201);
  expect(created.body).toMatchObject({ status: "active", ownerId: host.user.id, licensePlate: "12가 3456" });
  const id = created.body.id;
  await waitFor(() => facts.find((f) => f.data?.vehicleId === id), "vehicle.created over JetStream");

  const duplicate = await api.post("/v1/vehicles", vehicleBody("12가3456"), host.accessToken);
  expect(duplicate.status).toBe(409);
  expect(duplicate.body.error.code).toBe("DUPLICATE");

  const start = Math.ceil(Date.now() / HOUR) * HOUR + 72 * HOUR;
  const window = `start=${encodeURIComponent(kst(start))}&end=${encodeURIComponent(kst(start + 2 * HOUR))}`;
  const near = { lat: CITY_HALL.lat + 1 / 111.2, lng: CITY_HALL.lng };
  busyCalls.length = 0;
  const found = await api.get(`/v1/vehicles?lat=${near.lat}&lng=${near.lng}&radiusKm=5&${window}`, renter.accessToken);
  expect(found.status).toBe(200);
  const hit = found.body.items.find((v: { id: string }) => v.id === id);
  expect(hit).toMatchObject({ distanceKm: 1, quote: { total: 40_000, platformFee: 6_000, currency: "KRW", hours: 2 } });
  expect(busyCalls).toHaveLength(1);
  expect(busyCalls[0].vehicleIds).toContain(id);

  held.add(id);
  const heldSearch = await api.get(`/v1/vehicles?lat=${near.lat}&lng=${near.lng}&radiusKm=5&${window}`, renter.accessToken);
  expect(heldSearch.body.items.map((v: { id: string }) => v.id)).not.toContain(id);
  held.delete(id);

  const busan = await api.get(`/v1/vehicles?lat=35.1796&lng=129.0756&radiusKm=20&${window}`, renter.accessToken);
  expect(busan.body.items.map((v: { id: string }) => v.id)).not.toContain(id);
});

test("when the owner uploads a photo, then it is streamed into GridFS on the vehicles node and served back byte for byte", async () => {
  const v = (await api.post("/v1/vehicles", vehicleBody("34나 7890"), host.accessToken)).body;
  const form = new FormData();
  form.append("file", new Blob([JPEG], { type: "image/jpeg" }), "car.jpg");
  const up = await api.request("POST", `/v1/vehicles/${v.id}/photos`, { raw: form, token: host.accessToken });
  expect(up.status).toBe(201);
  expect(up.body).toMatchObject({ id: expect.any(String), url: expect.stringContaining(`/v1/vehicles/${v.id}/photos/`), contentType: "image/jpeg", size: JPEG.length });

  const res = await fetch(`${api.baseUrl}/v1/vehicles/${v.id}/photos/${up.body.id}`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toBe("image/jpeg");
  expect(res.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
  expect(res.headers.get("etag")).toBe(`"${up.body.id}"`);
  const bytes = Buffer.from(await res.arrayBuffer());
  expect(bytes.length).toBe(JPEG.length);
  expect(bytes.equals(JPEG)).toBe(true);

  const notImage = new FormData();
  notImage.append("file", new Blob([Buffer.from("GIF89a not accepted")], { type: "image/jpeg" }), "x.jpg");
  expect((await api.request("POST", `/v1/vehicles/${v.id}/photos`, { raw: notImage, token: host.accessToken })).status).toBe(415);

  expect((await api.delete(`/v1/vehicles/${v.id}/photos/${up.body.id}`, host.accessToken)).status).toBe(204);
  expect((await fetch(`${api.baseUrl}/v1/vehicles/${v.id}/photos/${up.body.id}`)).status).toBe(404);
});
