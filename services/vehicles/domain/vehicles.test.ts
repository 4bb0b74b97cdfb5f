/**
 * The Vehicles use cases on a real NeDB store, with a fake geocoder and fact
 * sender: plates, address lookup outcomes, the facts outbox, conditional
 * updates.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { AuthUser } from "../../../lib/auth-types";
import type { Fact } from "../../../lib/events";
import { NedbDatabase } from "../../../lib/store/nedb";
import { GeocodingUnavailable, type Geocoder } from "../geocoding/geocoder";
import { cellOf } from "./geo";
import { displayPlate, normalisePlate, plateId, SEARCH_PRECISION, yearProblem } from "./model";
import { Vehicles, type VehicleInput } from "./vehicles";

const owner: AuthUser = { id: "owner-1", roles: ["renter", "owner"], sid: "s1", kycStatus: "approved" };
const other: AuthUser = { id: "owner-2", roles: ["renter", "owner"], sid: "s2", kycStatus: "approved" };
const admin: AuthUser = { id: "admin-1", roles: ["admin"], sid: "s3" };

const input = (plate: string, extra: Partial<VehicleInput> = {}): VehicleInput => ({
  licensePlate: plate, make: "Hyundai", model: "Avante", year: 2023, hourlyRate: 10_000, location: { address: "서울 중구 세종대로 110", lat: 37.5663, lng: 126.9779 }, ...extra,
});

async function errorOf(p: Promise<unknown>): Promise<any> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error("expected an error");
}

describe("plates", () => {
  test("when plates differ only in spaces and case, then they normalise to the same key", () => {
    expect(normalisePlate(" 12가 3456")).toBe(normalisePlate("12가3456"));
    expect(normalisePlate("ab 12 cd")).toBe("AB12CD");
    expect(displayPlate("  12가   3456 ")).toBe("12가 3456");
  });

  test("when the year is outside 1980..next year, then it is a problem", () => {
    const now = new Date("2026-06-01T00:00:00Z");
    expect(yearProblem(1980, now)).toBeNull();
    expect(yearProblem(2027, now)).toBeNull();
    expect(yearProblem(1979, now)?.field).toBe("year");
    expect(yearProblem(2028, now)?.message).toContain("2027");
  });
});

describe("Vehicles", () => {
  let dir: string;
  let db: NedbDatabase;
  let sent: Fact<any>[];
  let failSending: boolean;
  let geocoder: Geocoder | null;
  let clock: number;
  let vehicles: Vehicles;
  const busyNone = async (ids: string[]) => Object.fromEntries(ids.map((id) => [id, []]));

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "vehicles-domain-"));
    db = new NedbDatabase(dir);
    sent = [];
    failSending = false;
    clock = Date.parse("2026-06-01T00:00:00Z");
    geocoder = null;
    vehicles = new Vehicles(
      db,
      { geocode: (a) => (geocoder ? geocoder.geocode(a) : Promise.resolve(null)) },
      async (fact) => {
        if (failSending) throw new Error("NATS is down");
        sent.push(fact);
      },
      () => undefined,
      () => clock,
    );
  });
  afterEach(async () => {
    await db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("when a vehicle is created, then it is active, its plate is claimed and vehicle.created is sent", async () => {
    const v = await vehicles.create(owner, input(" 12가 3456", { currency: "krw", timezone: "asia/seoul" }));
    expect(v).toMatchObject({ status: "active", licensePlate: "12가 3456", plateKey: "12가3456", currency: "KRW", timezone: "Asia/Seoul", version: 1 });
    expect(v.cells).toHaveLength(SEARCH_PRECISION);
    expect(v.cells[SEARCH_PRECISION - 1]).toBe(cellOf(37.5663, 126.9779, SEARCH_PRECISION));
    expect(await vehicles.plates.findById(plateId("12가3456"))).toMatchObject({ vehicleId: v._id });
    expect(sent.map((f) => f.type)).toEqual(["vehicle.created"]);
    expect(sent[0].data).toMatchObject({ vehicleId: v._id, ownerId: owner.id });
    expect(await vehicles.vehicles.findById(v._id)).not.toHaveProperty("outbox");
  });

  test("when the same plate is listed again in another spelling, then 409 DUPLICATE; after deletion it is free", async () => {
    const first = await vehicles.create(owner, input("12가3456"));
    const err = await errorOf(vehicles.create(other, input(" 12가 3456")));
    expect(err).toMatchObject({ type: "DUPLICATE", code: 409 });
    await vehicles.remove(owner, first._id, busyNone);
    await expect(vehicles.create(other, input("12가 3456"))).resolves.toMatchObject({ ownerId: other.id });
  });

  test("when a crash left a plate claim without its vehicle, then it is taken over after a minute", async () => {
    await vehicles.plates.insert({ _id: plateId("99하9999"), vehicleId: "ghost", claimedAt: new Date(clock).toISOString() });
    expect(await errorOf(vehicles.create(owner, input("99하9999")))).toMatchObject({ type: "DUPLICATE" });
    clock += 61_000;
    const v = await vehicles.create(owner, input("99하9999"));
    expect(await vehicles.plates.findById(plateId("99하9999"))).toMatchObject({ vehicleId: v._id });
  });

  test("when the plate changes, then the new one is claimed and the old one released", async () => {
    const v = await vehicles.create(owner, input("11가1111"));
    const changed = await vehicles.update(owner, v._id, { licensePlate: "22나 2222" });
    expect(changed).toMatchObject({ licensePlate: "22나 2222", plateKey: "22나2222", version: 2 });
    expect(await vehicles.plates.findById(plateId("11가1111"))).toBeNull();
    await expect(vehicles.create(other, input("11가1111"))).resolves.toBeTruthy();
    expect(await errorOf(vehicles.update(owner, v._id, { licensePlate: "11가 1111" }))).toMatchObject({ type: "DUPLICATE" });
    expect((await vehicles.get(v._id)).plateKey).toBe("22나2222");
  });

  test("when someone else changes or deletes the vehicle, then 403 FORBIDDEN; an admin may", async () => {
    const v = await vehicles.create(owner, input("33다3333"));
    expect(await errorOf(vehicles.update(other, v._id, { hourlyRate: 1 }))).toMatchObject({ type: "FORBIDDEN", code: 403 });
    expect(await errorOf(vehicles.remove(other, v._id, busyNone))).toMatchObject({ type: "FORBIDDEN" });
    await expect(vehicles.update(admin, v._id, { status: "inactive" })).resolves.toMatchObject({ status: "inactive" });
  });

  test("when a PATCH changes nothing, then nothing is written and no fact is sent", async () => {
    const v = await vehicles.create(owner, input("44라4444", { color: "white" }));
    sent = [];
    const same = await vehicles.update(owner, v._id, { make: "Hyundai", color: "white", hourlyRate: 10_000 });
    expect(same.version).toBe(1);
    expect(sent).toEqual([]);
    const cleared = await vehicles.update(owner, v._id, { color: null, hourlyRate: 12_000 });
    expect(cleared).toMatchObject({ version: 2, hourlyRate: 12_000 });
    expect(cleared.color).toBeUndefined();
    expect(sent.map((f) => [f.type, f.data.changes])).toEqual([["vehicle.updated", ["color", "hourlyRate"]]]);
  });

  test("when bookings hold the vehicle, then deleting it is refused with 409 CONFLICT and nothing changes", async () => {
    const v = await vehicles.create(owner, input("55마5555"));
    const asked: unknown[] = [];
    const err = await errorOf(vehicles.remove(owner, v._id, async (ids, start, end) => {
      asked.push({ ids, start, end });
      return { [v._id]: [{ start: "2026-06-02T00:00:00.000Z", end: "2026-06-02T03:00:00.000Z" }] };
    }));
    expect(err).toMatchObject({ type: "CONFLICT", code: 409 });
    expect(asked).toEqual([{ ids: [v._id], start: new Date(clock).toISOString(), end: expect.stringMatching(/^20(3|4)\d-/) }]);
    expect((await vehicles.get(v._id)).status).toBe("active");
  });

  test("when a vehicle is deleted, then it is kept as deleted, hidden from get, and vehicle.deleted is sent", async () => {
    const v = await vehicles.create(owner, input("66바6666"));
    await vehicles.remove(owner, v._id, busyNone);
    expect(await errorOf(vehicles.get(v._id))).toMatchObject({ type: "NOT_FOUND" });
    expect(await vehicles.vehicles.findById(v._id)).toMatchObject({ status: "deleted", deletedAt: expect.any(String) });
    expect(sent.map((f) => f.type)).toEqual(["vehicle.created", "vehicle.deleted"]);
    expect(await errorOf(vehicles.remove(owner, v._id, busyNone))).toMatchObject({ type: "NOT_FOUND" });
  });

  test("when facts cannot be sent, then the change is kept with them and flushPending sends them later, once", async () => {
    failSending = true;
    const v = await vehicles.create(owner, input("77사7777"));
    await vehicles.update(owner, v._id, { hourlyRate: 15_000 });
    expect(sent).toEqual([]);
    const stored = (await vehicles.vehicles.findById(v._id)) as any;
    expect(stored.outbox.map((f: Fact) => f.type)).toEqual(["vehicle.created", "vehicle.updated"]);
    failSending = false;
    clock += 10_000;
    expect(await vehicles.flushPending()).toBe(1);
    expect(sent.map((f) => f.type)).toEqual(["vehicle.created", "vehicle.updated"]);
    expect(await vehicles.vehicles.findById(v._id)).not.toHaveProperty("outbox");
    expect(await vehicles.flushPending()).toBe(0);
  });

  describe("address lookup", () => {
    const noCoords = (extra: Partial<VehicleInput> = {}) => input("88아8888", { location: { address: "서울 중구 세종대로 110" }, ...extra });

    test("when no geocoder is configured and coordinates are missing, then 400 VALIDATION_ERROR on location.lat", async () => {
      const plain = new Vehicles(db, null, async () => undefined);
      const err = await errorOf(plain.create(owner, noCoords()));
      expect(err).toMatchObject({ type: "VALIDATION_ERROR", code: 400 });
      expect(err.data[0].field).toBe("location.lat");
    });

    test("when only one coordinate is given, then the other is named", async () => {
      const err = await errorOf(vehicles.create(owner, input("88아8888", { location: { address: "x", lat: 37.5 } })));
      expect(err.data).toEqual([{ field: "location.lng", message: expect.any(String) }]);
    });

    test("when the address is found, then its coordinates are used; when not, 400 on location.address", async () => {
      geocoder = { geocode: async () => ({ lat: 35.1796, lng: 129.0756, address: "부산" }) };
      const v = await vehicles.create(owner, noCoords());
      expect(v.location).toEqual({ address: "서울 중구 세종대로 110", lat: 35.1796, lng: 129.0756 });
      geocoder = { geocode: async () => null };
      const err = await errorOf(vehicles.create(owner, input("99자9999", { location: { address: "nowhere" } })));
      expect(err).toMatchObject({ type: "VALIDATION_ERROR" });
      expect(err.data[0].field).toBe("location.address");
    });

    test("when the provider is down, then 503 and no plate is left claimed", async () => {
      geocoder = { geocode: async () => Promise.reject(new GeocodingUnavailable("down", "http")) };
      const err = await errorOf(vehicles.create(owner, noCoords()));
      expect(err).toMatchObject({ type: "SERVICE_UNAVAILABLE", code: 503 });
      expect(await vehicles.plates.findById(plateId("88아8888"))).toBeNull();
    });
  });
});
