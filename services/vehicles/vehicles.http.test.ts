/**
 * Vehicles, photos, availability, drivers and search through the real
 * gateway, embedded profile. The whole system runs (the real bookings
 * service holds the time of requested bookings), with Kakao Local played by
 * a local HTTP fake. A second system without bookings has a fake
 * `bookings.busy` that records its calls, and then none at all (503).
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { randomBytes } from "node:crypto";
import type { ServiceSchema } from "moleculer";
import type { BusyMap, DriverContact } from "../../lib/contracts";
import type { Fact } from "../../lib/events";
import { newPhone, startSystem, waitFor, type TestSystem } from "../../test/support/system";
import { ownerUser, renterUser, type TestUser } from "../../test/support/kyc";

jest.setTimeout(60_000);

const HOUR = 3_600_000;
const CITY_HALL = { lat: 37.5663, lng: 126.9779 };
const BUSAN = { lat: 35.1796, lng: 129.0756 };
/** ~1 km north of City Hall. */
const ONE_KM_NORTH = { lat: CITY_HALL.lat + 1 / 111.2, lng: CITY_HALL.lng };

/** ISO with +09:00, as a Korean client sends it. */
function kst(ms: number): string {
  return new Date(ms + 9 * HOUR).toISOString().replace(/\.\d{3}Z$/, "+09:00");
}
/** A whole hour some days ahead, distinct per call. */
let slot = 0;
function nextSlot(days = 3): number {
  return Math.ceil(Date.now() / HOUR) * HOUR + days * 24 * HOUR + slot++ * 50 * HOUR;
}

let plateSeq = 1000;
const plate = () => `${10 + (plateSeq % 89)}가 ${plateSeq++}`;

function vehicleBody(extra: Record<string, unknown> = {}) {
  return {
    licensePlate: plate(), make: "Hyundai", model: "Ioniq 5", year: 2024, color: "white", fuelType: "electric", transmission: "automatic",
    seats: 5, hourlyRate: 12_000, dailyRate: 90_000, location: { address: "서울 중구 세종대로 110", ...CITY_HALL }, description: "Clean, with a child seat",
    ...extra,
  };
}

const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), randomBytes(70_000)]);
const WEBP = Buffer.concat([Buffer.from("RIFF"), Buffer.from([0x10, 0, 0, 0]), Buffer.from("WEBPVP8 "), randomBytes(500)]);

function form(bytes: Buffer, field = "file", type = "image/png", filename = "car.png"): FormData {
  const fd = new FormData();
  fd.append(field, new Blob([bytes], { type }), filename);
  return fd;
}

/** A local stand-in for Kakao Local address search. */
async function fakeKakao() {
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    const query = new URL(req.url ?? "/", "http://x").searchParams.get("query") ?? "";
    hits.push(query);
    if (req.headers.authorization !== "KakaoAK test-kakao-key") {
      res.statusCode = 401;
      return res.end("{}");
    }
    res.setHeader("Content-Type", "application/json");
    const documents = query.includes("세종대로") ? [{ x: String(ONE_KM_NORTH.lng), y: String(ONE_KM_NORTH.lat), address_name: "서울 중구 세종대로 110" }] : [];
    res.end(JSON.stringify({ meta: { total_count: documents.length }, documents }));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits, close: () => new Promise((r) => server.close(r)) };
}

function statusOf(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    http.get(url, { headers }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on("error", reject);
  });
}

function factSpy(facts: Fact<any>[]): ServiceSchema {
  return {
    name: "vehicleFactSpy",
    channels: Object.fromEntries(
      ["vehicle.created", "vehicle.updated", "vehicle.deleted", "driver.assigned"].map((t) => [t, { handler: (f: Fact<any>) => void facts.push(f) }]),
    ),
  };
}

describe("vehicles through the gateway (whole system)", () => {
  let sys: TestSystem;
  let kakao: Awaited<ReturnType<typeof fakeKakao>>;
  let host: TestUser;
  let otherHost: TestUser;
  let guest: TestUser;
  const facts: Fact<any>[] = [];

  beforeAll(async () => {
    kakao = await fakeKakao();
    sys = await startSystem({ KAKAO_REST_KEY: "test-kakao-key", KAKAO_BASE_URL: kakao.url }, { extraServices: [factSpy(facts)] });
    [host, otherHost, guest] = await Promise.all([ownerUser(sys), ownerUser(sys), renterUser(sys)]);
  });
  afterAll(async () => {
    await sys?.stop();
    await kakao?.close();
  });

  const create = (u: TestUser, extra: Record<string, unknown> = {}) => sys.api.post("/v1/vehicles", vehicleBody(extra), u.accessToken);

  describe("listing a vehicle", () => {
    test("when the owner's KYC is not approved, then 403 KYC_REQUIRED; a renter gets 403 FORBIDDEN", async () => {
      const unverified = await ownerUser(sys, { kyc: false });
      const res = await create(unverified);
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe("KYC_REQUIRED");
      const asRenter = await create(guest);
      expect(asRenter.status).toBe(403);
      expect(asRenter.body.error.code).toBe("FORBIDDEN");
      expect((await sys.api.post("/v1/vehicles", vehicleBody())).status).toBe(401);
    });

    test("when an approved owner lists a vehicle, then 201 active with every field, readable by anyone, and vehicle.created is published", async () => {
      const res = await create(host, { licensePlate: "  34나 5678 ", currency: "krw" });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({
        id: expect.any(String), ownerId: host.id, driverId: null, status: "active", licensePlate: "34나 5678", make: "Hyundai", model: "Ioniq 5", year: 2024,
        color: "white", fuelType: "electric", transmission: "automatic", seats: 5, hourlyRate: 12_000, dailyRate: 90_000, currency: "KRW", timezone: "Asia/Seoul",
        location: { address: "서울 중구 세종대로 110", ...CITY_HALL }, description: "Clean, with a child seat", photos: [], createdAt: expect.any(String),
      });
      expect(res.headers.get("location")).toBe(`${sys.cfg.publicUrl}/v1/vehicles/${res.body.id}`);
      expect(res.body).not.toHaveProperty("cells");
      expect(res.body).not.toHaveProperty("plateKey");
      const got = await sys.api.get(`/v1/vehicles/${res.body.id}`);
      expect(got.status).toBe(200);
      expect(got.body).toEqual(res.body);
      const fact = await waitFor(() => facts.find((f) => f.type === "vehicle.created" && f.data.vehicleId === res.body.id), "vehicle.created");
      expect(fact).toMatchObject({ version: 1, data: { ownerId: host.id, make: "Hyundai", location: CITY_HALL } });
      expect(await sys.broker.call("vehicles.get", { id: res.body.id })).toMatchObject({ id: res.body.id, hourlyRate: 12_000 });
    });

    test("when the plate is written with other spaces or case, then 409 DUPLICATE", async () => {
      expect((await create(host, { licensePlate: "12가3456" })).status).toBe(201);
      const again = await create(otherHost, { licensePlate: " 12가 3456" });
      expect(again.status).toBe(409);
      expect(again.body.error.code).toBe("DUPLICATE");
      expect((await create(host, { licensePlate: "ab 1234" })).status).toBe(201);
      expect((await create(host, { licensePlate: "AB1234" })).body.error.code).toBe("DUPLICATE");
    });

    test("when fields are out of range, then 400 VALIDATION_ERROR names each of them", async () => {
      const res = await create(host, {
        year: 1979, hourlyRate: 0, dailyRate: 1.5, fuelType: "steam", transmission: "cvt", seats: 16, currency: "KR", location: { address: "x", lat: 91, lng: 200 },
      });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe("VALIDATION_ERROR");
      const fields = res.body.error.details.map((d: { field: string }) => d.field).sort();
      expect(fields).toEqual(["currency", "dailyRate", "fuelType", "hourlyRate", "location.lat", "location.lng", "seats", "transmission", "year"]);
      const later = await create(host, { year: new Date().getUTCFullYear() + 2 });
      expect(later.status).toBe(400);
      expect(later.body.error.details).toEqual([{ field: "year", message: expect.stringContaining(String(new Date().getUTCFullYear() + 1)) }]);
      const zone = await create(host, { timezone: "Mars/Olympus" });
      expect(zone.body.error.details).toEqual([{ field: "timezone", message: expect.any(String) }]);
      const missing = await sys.api.post("/v1/vehicles", { make: "Kia" }, host.accessToken);
      expect(missing.body.error.details.map((d: { field: string }) => d.field)).toEqual(expect.arrayContaining(["licensePlate", "model", "year", "hourlyRate", "location"]));
    });

    test("when the address comes without coordinates, then Kakao finds them; an unknown address is 400 on location.address", async () => {
      const res = await create(host, { location: { address: "서울 중구 세종대로 110" } });
      expect(res.status).toBe(201);
      expect(res.body.location).toEqual({ address: "서울 중구 세종대로 110", ...ONE_KM_NORTH });
      expect(kakao.hits).toContain("서울 중구 세종대로 110");
      const unknown = await create(host, { location: { address: "어디에도 없는 길 1" } });
      expect(unknown.status).toBe(400);
      expect(unknown.body.error.details[0].field).toBe("location.address");
    });

    test("when my vehicles are listed, then they come newest first in pages, without deleted ones", async () => {
      const lister = await ownerUser(sys);
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) ids.push((await create(lister)).body.id);
      await sys.api.delete(`/v1/vehicles/${ids[0]}`, lister.accessToken);
      const first = await sys.api.get("/v1/owners/me/vehicles?limit=1", lister.accessToken);
      expect(first.status).toBe(200);
      expect(first.body.items.map((v: { id: string }) => v.id)).toEqual([ids[2]]);
      const second = await sys.api.get(`/v1/owners/me/vehicles?limit=1&cursor=${first.body.nextCursor}`, lister.accessToken);
      expect(second.body).toEqual({ items: [expect.objectContaining({ id: ids[1] })], nextCursor: null });
      expect((await sys.api.get("/v1/owners/me/vehicles", guest.accessToken)).status).toBe(403);
    });
  });

  describe("changing and deleting", () => {
    test("when a renter or another owner changes or deletes it, then 403 FORBIDDEN and nothing changes", async () => {
      const v = (await create(host)).body;
      for (const u of [guest, otherHost]) {
        const patch = await sys.api.patch(`/v1/vehicles/${v.id}`, { hourlyRate: 1 }, u.accessToken);
        expect(patch.status).toBe(403);
        expect(patch.body.error.code).toBe("FORBIDDEN");
        expect((await sys.api.delete(`/v1/vehicles/${v.id}`, u.accessToken)).status).toBe(403);
        expect((await sys.api.put(`/v1/vehicles/${v.id}/availability`, { weekly: [] }, u.accessToken)).status).toBe(403);
        expect((await sys.api.request("POST", `/v1/vehicles/${v.id}/photos`, { raw: form(PNG), token: u.accessToken })).status).toBe(403);
      }
      expect((await sys.api.get(`/v1/vehicles/${v.id}`)).body.hourlyRate).toBe(12_000);
    });

    test("when the owner patches fields, then they change, null clears, and vehicle.updated names the changes", async () => {
      const v = (await create(host)).body;
      const res = await sys.api.patch(`/v1/vehicles/${v.id}`, { hourlyRate: 15_000, color: null, location: { address: "부산", ...BUSAN }, status: "inactive" }, host.accessToken);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ hourlyRate: 15_000, color: null, location: { address: "부산", ...BUSAN }, status: "inactive" });
      const fact = await waitFor(() => facts.find((f) => f.type === "vehicle.updated" && f.data.vehicleId === v.id), "vehicle.updated");
      expect(fact.data.changes.sort()).toEqual(["color", "hourlyRate", "location", "status"]);
      const bad = await sys.api.patch(`/v1/vehicles/${v.id}`, { seats: 0, status: "deleted" }, host.accessToken);
      expect(bad.status).toBe(400);
    });

    test("when bookings hold the vehicle, then delete is 409 CONFLICT; once cancelled, delete is 204, the vehicle is gone and its plate free", async () => {
      const v = (await create(host)).body;
      const start = nextSlot();
      const booking = await sys.api.post("/v1/bookings", { vehicleId: v.id, start: kst(start), end: kst(start + 2 * HOUR) }, guest.accessToken);
      expect(booking.status).toBe(201);
      const refused = await sys.api.delete(`/v1/vehicles/${v.id}`, host.accessToken);
      expect(refused.status).toBe(409);
      expect(refused.body.error.code).toBe("CONFLICT");
      expect((await sys.api.post(`/v1/bookings/${booking.body.id}/cancel`, {}, guest.accessToken)).status).toBe(200);
      const deleted = await sys.api.delete(`/v1/vehicles/${v.id}`, host.accessToken);
      expect(deleted.status).toBe(204);
      expect((await sys.api.get(`/v1/vehicles/${v.id}`)).status).toBe(404);
      await waitFor(() => facts.find((f) => f.type === "vehicle.deleted" && f.data.vehicleId === v.id), "vehicle.deleted");
      expect((await create(otherHost, { licensePlate: v.licensePlate })).status).toBe(201);
    });
  });

  describe("photos", () => {
    test("when the owner uploads a PNG, then 201 {id, url} and the bytes come back exactly, cacheable for good", async () => {
      const v = (await create(host)).body;
      const up = await sys.api.request("POST", `/v1/vehicles/${v.id}/photos`, { raw: form(PNG), token: host.accessToken });
      expect(up.status).toBe(201);
      expect(up.headers.get("location")).toBe(up.body.url);
      expect(up.body).toMatchObject({ id: expect.any(String), url: `${sys.cfg.publicUrl}/v1/vehicles/${v.id}/photos/${up.body.id}`, contentType: "image/png", size: PNG.length });
      const res = await fetch(`${sys.url}/v1/vehicles/${v.id}/photos/${up.body.id}`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("image/png");
      expect(res.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
      const etag = res.headers.get("etag");
      expect(etag).toBe(`"${up.body.id}"`);
      expect(Buffer.from(await res.arrayBuffer()).equals(PNG)).toBe(true);
      // (fetch adds Cache-Control: no-cache to conditional requests, so ask as a browser cache would, with node:http)
      expect(await statusOf(`${sys.url}/v1/vehicles/${v.id}/photos/${up.body.id}`, { "If-None-Match": etag! })).toBe(304);
      expect((await sys.api.get(`/v1/vehicles/${v.id}`)).body.photos).toEqual([{ id: up.body.id, url: up.body.url, contentType: "image/png", size: PNG.length }]);

      const webp = await sys.api.request("POST", `/v1/vehicles/${v.id}/photos`, { raw: form(WEBP, "file", "application/octet-stream", "x.bin"), token: host.accessToken });
      expect(webp.status).toBe(201);
      const got = await fetch(`${sys.url}/v1/vehicles/${v.id}/photos/${webp.body.id}`);
      expect(got.headers.get("content-type")).toBe("image/webp");
      expect(Buffer.from(await got.arrayBuffer()).equals(WEBP)).toBe(true);

      expect((await sys.api.delete(`/v1/vehicles/${v.id}/photos/${up.body.id}`, host.accessToken)).status).toBe(204);
      expect((await fetch(`${sys.url}/v1/vehicles/${v.id}/photos/${up.body.id}`)).status).toBe(404);
      expect((await sys.api.delete(`/v1/vehicles/${v.id}/photos/${up.body.id}`, host.accessToken)).status).toBe(404);
    });

    test("when the upload is not an image, then 415; when it is over 10 MB, then 413; when the part is missing, then 400", async () => {
      const v = (await create(host)).body;
      const text = await sys.api.request("POST", `/v1/vehicles/${v.id}/photos`, { raw: form(Buffer.from("%PDF-1.7 not a photo"), "file", "image/png"), token: host.accessToken });
      expect(text.status).toBe(415);
      expect(text.body.error.code).toBe("UNSUPPORTED_MEDIA_TYPE");
      const big = Buffer.concat([PNG.subarray(0, 8), Buffer.alloc(10 * 1024 * 1024)]);
      const tooBig = await sys.api.request("POST", `/v1/vehicles/${v.id}/photos`, { raw: form(big), token: host.accessToken });
      expect(tooBig.status).toBe(413);
      expect(tooBig.body.error.code).toBe("PAYLOAD_TOO_LARGE");
      const wrongPart = await sys.api.request("POST", `/v1/vehicles/${v.id}/photos`, { raw: form(PNG, "photo"), token: host.accessToken });
      expect(wrongPart.status).toBe(400);
      expect((await sys.api.get(`/v1/vehicles/${v.id}`)).body.photos).toEqual([]);
    });
  });

  describe("drivers", () => {
    test("when an owner lists a driver and assigns it, then only the owner sees the phone and driver.assigned is published", async () => {
      const phone = newPhone();
      const d = await sys.api.post("/v1/drivers", { name: "Kim Driver", phone }, host.accessToken);
      expect(d.status).toBe(201);
      expect(d.body).toMatchObject({ id: expect.any(String), ownerId: host.id, name: "Kim Driver", phone });
      expect((await sys.api.post("/v1/drivers", { name: "Again", phone }, host.accessToken)).body.error.code).toBe("DUPLICATE");
      expect((await sys.api.post("/v1/drivers", { name: "Bad", phone: "010-1234-5678" }, host.accessToken)).status).toBe(400);

      const list = await sys.api.get("/v1/drivers", host.accessToken);
      expect(list.body.items.map((x: { id: string }) => x.id)).toContain(d.body.id);
      expect((await sys.api.get("/v1/drivers", otherHost.accessToken)).body.items.map((x: { id: string }) => x.id)).not.toContain(d.body.id);
      expect((await sys.api.get(`/v1/drivers/${d.body.id}`, host.accessToken)).body.phone).toBe(phone);
      expect((await sys.api.get(`/v1/drivers/${d.body.id}`, otherHost.accessToken)).status).toBe(403);

      const v = (await create(host)).body;
      const assigned = await sys.api.put(`/v1/vehicles/${v.id}/driver`, { driverId: d.body.id }, host.accessToken);
      expect(assigned.status).toBe(200);
      expect(assigned.body.driverId).toBe(d.body.id);
      const fact = await waitFor(() => facts.find((f) => f.type === "driver.assigned" && f.data.vehicleId === v.id), "driver.assigned");
      expect(fact.data).toEqual({ vehicleId: v.id, ownerId: host.id, driverId: d.body.id, previousDriverId: null });
      expect(JSON.stringify(fact)).not.toContain(phone);

      const publicView = await sys.api.get(`/v1/vehicles/${v.id}`);
      expect(publicView.body.driverId).toBe(d.body.id);
      expect(publicView.text).not.toContain(phone);
      const contact = await sys.broker.call<DriverContact, { driverId: string }>("vehicles.driverContact", { driverId: d.body.id });
      expect(contact).toEqual({ id: d.body.id, ownerId: host.id, name: "Kim Driver", phone });

      const removed = await sys.api.delete(`/v1/vehicles/${v.id}/driver`, host.accessToken);
      expect(removed.status).toBe(200);
      expect(removed.body.driverId).toBeNull();
    });

    test("when the driver belongs to another owner, then assigning it is 403; an unknown driver is 404", async () => {
      const theirs = (await sys.api.post("/v1/drivers", { name: "Lee", phone: newPhone() }, otherHost.accessToken)).body;
      const v = (await create(host)).body;
      const res = await sys.api.put(`/v1/vehicles/${v.id}/driver`, { driverId: theirs.id }, host.accessToken);
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe("FORBIDDEN");
      expect((await sys.api.put(`/v1/vehicles/${v.id}/driver`, { driverId: "0".repeat(24) }, host.accessToken)).status).toBe(404);
      expect((await sys.api.post("/v1/drivers", { name: "X", phone: newPhone() }, guest.accessToken)).status).toBe(403);
    });
  });

  describe("availability", () => {
    test("when rules are invalid, then 400 VALIDATION_ERROR lists each problem", async () => {
      const v = (await create(host)).body;
      const res = await sys.api.put(`/v1/vehicles/${v.id}/availability`, { weekly: [{ day: 7, start: "9:00", end: "18:00" }], blocks: [{ start: "2026-12-01T10:00:00+09:00", end: "2026-12-01T09:00:00+09:00" }] }, host.accessToken);
      expect(res.status).toBe(400);
      expect(res.body.error.details.map((d: { field: string }) => d.field)).toEqual(["weekly[0].day", "weekly[0].start", "blocks[0].end"]);
    });

    test("when a weekday window, a closed date and a booking are set, then the free intervals are what is left, in UTC", async () => {
      const v = (await create(host)).body;
      // Weekdays 09:00-18:00 Seoul; choose a Wednesday 3+ weeks ahead.
      const day = new Date(Date.now() + 21 * 24 * HOUR);
      while (day.getUTCDay() !== 3) day.setUTCDate(day.getUTCDate() + 1);
      const date = day.toISOString().slice(0, 10);
      const next = new Date(day.getTime() + 24 * HOUR).toISOString().slice(0, 10);
      const rules = { weekly: [1, 2, 3, 4, 5].map((d) => ({ day: d, start: "09:00", end: "18:00" })), exceptions: [{ date: next, closed: true }], blocks: [] };
      const put = await sys.api.put(`/v1/vehicles/${v.id}/availability`, rules, host.accessToken);
      expect(put.status).toBe(200);
      expect(put.body).toMatchObject({ vehicleId: v.id, timezone: "Asia/Seoul", weekly: rules.weekly, exceptions: rules.exceptions });

      const start = Date.parse(`${date}T12:00:00+09:00`);
      const booking = await sys.api.post("/v1/bookings", { vehicleId: v.id, start: kst(start), end: kst(start + 2 * HOUR) }, guest.accessToken);
      expect(booking.status).toBe(201);

      const res = await sys.api.get(`/v1/vehicles/${v.id}/availability?from=${encodeURIComponent(`${date}T00:00:00+09:00`)}&to=${encodeURIComponent(`${next}T23:59:00+09:00`)}`);
      expect(res.status).toBe(200);
      expect(res.body.free).toEqual([
        { start: `${date}T00:00:00.000Z`, end: `${date}T03:00:00.000Z` },
        { start: `${date}T05:00:00.000Z`, end: `${date}T09:00:00.000Z` },
      ]);
      expect((await sys.api.get(`/v1/vehicles/${v.id}/availability?from=2026-12-02T00:00:00%2B09:00&to=2026-12-01T00:00:00%2B09:00`)).status).toBe(400);
      expect((await sys.api.get(`/v1/vehicles/${v.id}/availability?from=yesterday`)).status).toBe(400);
    });
  });

  test("when the OpenAPI document is read, then every vehicles route is in it with its access rules and parameters", async () => {
    const doc = (await sys.api.get("/v1/openapi.json")).body;
    expect(doc.paths["/v1/vehicles"].post).toMatchObject({ operationId: "vehicles.create", description: "Requires roles: owner, approved KYC." });
    expect(doc.paths["/v1/vehicles"].get.parameters.map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(["lat", "lng", "radiusKm", "start", "end", "cursor"]));
    expect(doc.paths["/v1/vehicles"].get.security).toBeUndefined();
    expect(doc.paths["/v1/vehicles/{id}/photos"].post.requestBody.content).toHaveProperty("multipart/form-data");
    for (const p of ["/v1/vehicles/{id}", "/v1/vehicles/{id}/photos/{photoId}", "/v1/vehicles/{id}/availability", "/v1/vehicles/{id}/driver", "/v1/drivers", "/v1/drivers/{id}", "/v1/owners/me/vehicles"]) {
      expect(doc.paths).toHaveProperty([p]);
    }
  });

  describe("search", () => {
    let jeju: string;
    const JEJU = { lat: 33.4996, lng: 126.5312 };
    const near = { lat: JEJU.lat + 1 / 111.2, lng: JEJU.lng }; // 1 km north of the car

    beforeAll(async () => {
      const res = await create(host, { location: { address: "제주시", ...JEJU }, hourlyRate: 10_000, make: "Kia", model: "Ray", seats: 4, fuelType: "gasoline" });
      jeju = res.body.id;
    });

    const q = (params: Record<string, string | number | undefined>) =>
      sys.api.get(`/v1/vehicles?${new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)]))}`, guest.accessToken);

    test("when a renter searches 1 km away for a free window, then it is found with its distance and a quote", async () => {
      const start = nextSlot();
      const res = await q({ lat: near.lat, lng: near.lng, radiusKm: 5, start: kst(start), end: kst(start + 2.5 * HOUR) });
      expect(res.status).toBe(200);
      expect(res.body.nextCursor).toBeNull();
      expect(res.body.items).toHaveLength(1);
      expect(res.body.items[0]).toMatchObject({ id: jeju, make: "Kia", distanceKm: 1, quote: { total: 30_000, platformFee: 4_500, currency: "KRW", hours: 3 } });
    });

    test("when the renter searches in Busan, then the car is not there", async () => {
      const res = await q({ lat: BUSAN.lat, lng: BUSAN.lng, radiusKm: 50 });
      expect(res.status).toBe(200);
      expect(res.body.items.map((v: { id: string }) => v.id)).not.toContain(jeju);
    });

    test("when the window is held by a booking, then it is not offered; another window is", async () => {
      const start = nextSlot();
      const booked = await sys.api.post("/v1/bookings", { vehicleId: jeju, start: kst(start), end: kst(start + 3 * HOUR) }, guest.accessToken);
      expect(booked.status).toBe(201);
      const overlapping = await q({ lat: near.lat, lng: near.lng, start: kst(start + HOUR), end: kst(start + 5 * HOUR) });
      expect(overlapping.body.items).toEqual([]);
      const after = await q({ lat: near.lat, lng: near.lng, start: kst(start + 3 * HOUR), end: kst(start + 5 * HOUR) });
      expect(after.body.items.map((v: { id: string }) => v.id)).toEqual([jeju]);
    });

    test("when filters do not match, then the car is left out", async () => {
      const base = { lat: near.lat, lng: near.lng };
      expect((await q({ ...base, make: "KIA", minSeats: 4, maxHourlyRate: 10_000, fuelType: "gasoline", q: "ray" })).body.items).toHaveLength(1);
      for (const f of [{ make: "Hyundai" }, { minSeats: 5 }, { maxHourlyRate: 9_999 }, { fuelType: "electric" }, { transmission: "manual" }, { q: "tesla" }, { radiusKm: 0.5 }]) {
        expect((await q({ ...base, ...f })).body.items).toEqual([]);
      }
    });

    test("when query parameters are bad, then 400 VALIDATION_ERROR", async () => {
      const bad = [
        { lat: 37.5 },
        { lat: 37.5, lng: 127, radiusKm: 51 },
        { lat: 37.5, lng: 127, radiusKm: 0 },
        { lat: "north", lng: 127 },
        { lat: 37.5, lng: 127, start: "2026-12-01T10:00:00+09:00", end: "2026-12-01T10:00:00+09:00" },
        { lat: 37.5, lng: 127, limit: 101 },
      ];
      for (const params of bad) {
        const res = await q(params);
        expect([params, res.status, res.body.error?.code]).toEqual([params, 400, "VALIDATION_ERROR"]);
      }
    });

    test("when the vehicle's rules close it for the window, then it is not offered", async () => {
      const v = (await create(host, { location: { address: "울릉도", lat: 37.4845, lng: 130.9057 } })).body;
      await sys.api.put(`/v1/vehicles/${v.id}/availability`, { weekly: [{ day: 6, start: "10:00", end: "16:00" }] }, host.accessToken);
      const saturday = new Date(nextSlot(10));
      while (new Date(saturday.getTime() + 9 * HOUR).getUTCDay() !== 6) saturday.setTime(saturday.getTime() + 24 * HOUR);
      const date = new Date(saturday.getTime() + 9 * HOUR).toISOString().slice(0, 10);
      const at = { lat: 37.4845, lng: 130.9057 };
      const open = await q({ ...at, start: `${date}T11:00:00+09:00`, end: `${date}T13:00:00+09:00` });
      expect(open.body.items.map((x: { id: string }) => x.id)).toEqual([v.id]);
      const closed = await q({ ...at, start: `${date}T15:00:00+09:00`, end: `${date}T17:00:00+09:00` });
      expect(closed.body.items).toEqual([]);
    });
  });
});

describe("search and bookings.busy (fake bookings, then none)", () => {
  let sys: TestSystem;
  let host: TestUser;
  const calls: { vehicleIds: string[]; start: string; end: string }[] = [];
  let held = new Set<string>();
  const fakeBookings: ServiceSchema = {
    name: "bookings",
    actions: {
      busy: {
        visibility: "public",
        handler(ctx: any): BusyMap {
          calls.push(ctx.params);
          return Object.fromEntries(ctx.params.vehicleIds.map((id: string) => [id, held.has(id) ? [{ start: ctx.params.start, end: ctx.params.end }] : []]));
        },
      },
    },
  };
  const DAEJEON = { lat: 36.3504, lng: 127.3845 };

  beforeAll(async () => {
    sys = await startSystem({ SERVICES: "gateway,auth,notifications,vehicles" }, { extraServices: [fakeBookings] });
    host = await ownerUser(sys);
  });
  afterAll(() => sys?.stop());

  test("when a window is searched, then bookings is asked once for all candidates and a held vehicle is not offered", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await sys.api.post("/v1/vehicles", vehicleBody({ location: { address: "대전", lat: DAEJEON.lat + i * 0.002, lng: DAEJEON.lng } }), host.accessToken);
      expect(res.status).toBe(201);
      ids.push(res.body.id);
    }
    held = new Set([ids[1]]);
    calls.length = 0;
    const start = nextSlot();
    const res = await sys.api.get(`/v1/vehicles?lat=${DAEJEON.lat}&lng=${DAEJEON.lng}&start=${encodeURIComponent(kst(start))}&end=${encodeURIComponent(kst(start + HOUR))}`);
    expect(res.status).toBe(200);
    expect(res.body.items.map((v: { id: string }) => v.id)).toEqual([ids[0], ids[2], ids[3], ids[4]]);
    expect(res.body.items.map((v: { distanceKm: number }) => v.distanceKm)).toEqual([0, 0.44, 0.67, 0.89]);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toEqual({ vehicleIds: ids, start: new Date(start).toISOString(), end: new Date(start + HOUR).toISOString() });
  });

  test("when bookings is not running, then a window search, the free time and a delete are 503; a search without window still works", async () => {
    const v = (await sys.api.post("/v1/vehicles", vehicleBody({ location: { address: "대전", ...DAEJEON } }), host.accessToken)).body;
    await sys.broker.destroyService(sys.broker.getLocalService("bookings")!);
    try {
      const start = nextSlot();
      const windowed = await sys.api.get(`/v1/vehicles?lat=${DAEJEON.lat}&lng=${DAEJEON.lng}&start=${encodeURIComponent(kst(start))}&end=${encodeURIComponent(kst(start + HOUR))}`);
      expect(windowed.status).toBe(503);
      expect(windowed.body.error.code).toBe("SERVICE_UNAVAILABLE");
      expect((await sys.api.get(`/v1/vehicles/${v.id}/availability`)).status).toBe(503);
      expect((await sys.api.delete(`/v1/vehicles/${v.id}`, host.accessToken)).status).toBe(503);
      expect((await sys.api.get(`/v1/vehicles/${v.id}`)).body.status).toBe("active");
      const plain = await sys.api.get(`/v1/vehicles?lat=${DAEJEON.lat}&lng=${DAEJEON.lng}`);
      expect(plain.status).toBe(200);
      expect(plain.body.items.map((x: { id: string }) => x.id)).toContain(v.id);
    } finally {
      sys.broker.createService(fakeBookings);
    }
  });

  test("when no Kakao key is configured and coordinates are missing, then 400 VALIDATION_ERROR on location.lat", async () => {
    const res = await sys.api.post("/v1/vehicles", vehicleBody({ location: { address: "서울 중구 세종대로 110" } }), host.accessToken);
    expect(res.status).toBe(400);
    expect(res.body.error.details[0].field).toBe("location.lat");
  });
});
