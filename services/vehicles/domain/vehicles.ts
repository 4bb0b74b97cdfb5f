/**
 * Vehicles: listing, changing and retiring a vehicle, its photos, its
 * availability rules and its driver. Persistence is the store port; every
 * change is one update conditional on the vehicle's `version` (re-read and
 * re-applied a few times when someone else changed it meanwhile).
 *
 * Plates are unique among live vehicles through a plate document whose `_id`
 * is the normalised plate (FerretDB has no partial indexes): it is claimed
 * before the vehicle is written and released when the vehicle is deleted or
 * changes plate. A claim left behind by a crash is taken over once its
 * vehicle is gone.
 *
 * Facts (`vehicle.*`, `driver.assigned`) are written in the same update as
 * the change (`outbox`), sent right after, and re-sent by `flushPending` when
 * sending failed: a change is never stored without its facts following.
 */
import type { AuthUser } from "../../../lib/auth-types";
import type { BusyMap } from "../../../lib/contracts";
import { conflict, duplicate, forbidden, notFound, unavailable, validationError, DuplicateKeyError, type FieldError } from "../../../lib/errors";
import type { Fact } from "../../../lib/events";
import { makeFact } from "../../../lib/facts";
import { newId } from "../../../lib/ids";
import type { Collection, Database, FileStore } from "../../../lib/store";
import { freeIntervals, validateRules, parseInstant, type Block, type DateException, type WeeklyWindow } from "./availability";
import type { Interval } from "./intervals";
import { GeocodingUnavailable, type Geocoder } from "../geocoding/geocoder";
import {
  canonicalTimeZone, cellsOf, displayPlate, MAX_PHOTOS, normalisePlate, plateId, plateProblem, yearProblem,
  type DriverRecord, type FuelType, type PhotoRef, type PlateRecord, type StoredRules, type Transmission, type VehicleRecord,
} from "./model";
import { EXTENSION, photoGuard, photoTooLarge, uploadError } from "./photos";
import { pageOf, type Page, type PageQuery } from "./paging";

export interface LocationInput { address: string; lat?: number; lng?: number }

export interface VehicleInput {
  licensePlate: string;
  make: string;
  model: string;
  year: number;
  color?: string;
  fuelType?: FuelType;
  transmission?: Transmission;
  seats?: number;
  hourlyRate: number;
  dailyRate?: number;
  currency?: string;
  location: LocationInput;
  description?: string;
  timezone?: string;
}

/** A PATCH: what is given changes; `null` clears an optional field. */
export interface VehiclePatch {
  licensePlate?: string;
  make?: string;
  model?: string;
  year?: number;
  color?: string | null;
  fuelType?: FuelType | null;
  transmission?: Transmission | null;
  seats?: number | null;
  hourlyRate?: number;
  dailyRate?: number | null;
  currency?: string;
  location?: LocationInput;
  description?: string | null;
  timezone?: string;
  status?: "active" | "inactive";
}

/** Sends one fact; must be safe to repeat with the same fact id. */
export type Send = (fact: Fact<unknown>) => Promise<void>;
export type BusyLookup = (vehicleIds: string[], start: string, end: string) => Promise<BusyMap>;

export const DEFAULT_CURRENCY = "KRW";
export const DEFAULT_TIMEZONE = "Asia/Seoul";
/** "Open bookings" when deleting: anything holding the vehicle from now on. */
const OPEN_BOOKINGS_HORIZON_MS = 10 * 366 * 86_400_000;
/** A plate claim without its vehicle is left alone this long (its create may still be running). */
const ORPHAN_CLAIM_MS = 60_000;
const TRIES = 5;

type Plan = { set: Record<string, unknown>; unset?: string[]; changes: string[]; facts?: (version: number) => Fact<unknown>[] } | null;
type Stored = VehicleRecord & { outbox?: Fact<unknown>[]; pending?: true };

const dupPlate = () => duplicate("A vehicle with this license plate is already listed", { field: "licensePlate" });

export class Vehicles {
  readonly vehicles: Collection<Stored>;
  readonly plates: Collection<PlateRecord>;
  readonly photos: FileStore;

  constructor(
    db: Database,
    private readonly geocoder: Geocoder | null,
    private readonly send: Send,
    private readonly log: (msg: string) => void = () => undefined,
    private readonly now: () => number = Date.now,
  ) {
    // `pending` marks the few vehicles whose facts are still to be sent (an indexed equality, never a scan).
    this.vehicles = db.collection<Stored>("vehicles", [{ fields: { cells: 1 } }, { fields: { ownerId: 1 } }, { fields: { pending: 1 } }]);
    this.plates = db.collection<PlateRecord>("plates");
    this.photos = db.files("photos");
  }

  // ---- reading ----------------------------------------------------------------

  /** A live (not deleted) vehicle. */
  async get(id: string): Promise<VehicleRecord> {
    const v = await this.vehicles.findById(id);
    if (!v || v.status === "deleted") throw notFound("The vehicle");
    return v;
  }

  /** A live vehicle that `user` owns (admins may act on any). */
  async getOwned(user: AuthUser, id: string): Promise<VehicleRecord> {
    const v = await this.get(id);
    if (v.ownerId !== user.id && !user.roles.includes("admin")) throw forbidden("This vehicle belongs to another owner");
    return v;
  }

  listOwned(ownerId: string, page: PageQuery): Promise<Page<VehicleRecord>> {
    return pageOf(this.vehicles, { ownerId, status: { $ne: "deleted" } }, page);
  }

  // ---- create, change, delete -------------------------------------------------

  async create(owner: AuthUser, input: VehicleInput): Promise<VehicleRecord> {
    const timezone = this.checkFields(input) ?? DEFAULT_TIMEZONE;
    const location = await this.locate(input.location);
    const now = new Date(this.now()).toISOString();
    const plateKey = normalisePlate(input.licensePlate);
    const record: Stored = {
      _id: newId(),
      ownerId: owner.id,
      driverId: null,
      status: "active",
      licensePlate: displayPlate(input.licensePlate),
      plateKey,
      make: input.make,
      makeKey: input.make.toLowerCase(),
      model: input.model,
      year: input.year,
      hourlyRate: input.hourlyRate,
      currency: (input.currency ?? DEFAULT_CURRENCY).toUpperCase(),
      timezone,
      location,
      cells: cellsOf(location.lat, location.lng),
      photos: [],
      version: 1,
      createdAt: now,
      updatedAt: now,
    };
    if (input.color !== undefined) record.color = input.color;
    if (input.fuelType !== undefined) record.fuelType = input.fuelType;
    if (input.transmission !== undefined) record.transmission = input.transmission;
    if (input.seats !== undefined) record.seats = input.seats;
    if (input.dailyRate !== undefined) record.dailyRate = input.dailyRate;
    if (input.description !== undefined) record.description = input.description;

    record.outbox = [makeFact("vehicle.created", {
      vehicleId: record._id, ownerId: record.ownerId, status: "active", make: record.make, model: record.model, year: record.year,
      hourlyRate: record.hourlyRate, currency: record.currency, location: { lat: location.lat, lng: location.lng },
    })];
    record.pending = true;

    await this.claimPlate(plateKey, record._id);
    try {
      await this.vehicles.insert(record);
    } catch (err) {
      await this.releasePlate(plateKey, record._id).catch(() => undefined);
      throw err;
    }
    await this.flushQuietly(record);
    return record;
  }

  async update(user: AuthUser, id: string, patch: VehiclePatch): Promise<VehicleRecord> {
    const timezone = this.checkFields(patch);
    const location = patch.location ? await this.locate(patch.location) : undefined;
    const newKey = patch.licensePlate !== undefined ? normalisePlate(patch.licensePlate) : undefined;
    let claimed = false;
    if (newKey !== undefined && (await this.getOwned(user, id)).plateKey !== newKey) {
      await this.claimPlate(newKey, id);
      claimed = true;
    }
    let result: { before: VehicleRecord; after: VehicleRecord; changes: string[] };
    try {
      result = await this.mutate(user, id, (v) => planPatch(v, patch, { timezone, location, plateKey: newKey }));
    } catch (err) {
      if (claimed) await this.releasePlate(newKey!, id).catch(() => undefined);
      throw err;
    }
    const { before, after } = result;
    if (claimed && after.plateKey !== newKey) await this.releasePlate(newKey!, id).catch(() => undefined);
    if (before.plateKey !== after.plateKey) await this.releasePlate(before.plateKey, id).catch(() => undefined);
    return after;
  }

  /** Soft delete: refused while bookings hold the vehicle; the record stays (status "deleted"), the plate is freed. */
  async remove(user: AuthUser, id: string, busyLookup: BusyLookup): Promise<void> {
    for (let attempt = 0; attempt < TRIES; attempt++) {
      const v = await this.getOwned(user, id);
      const now = this.now();
      const busy = await busyLookup([id], new Date(now).toISOString(), new Date(now + OPEN_BOOKINGS_HORIZON_MS).toISOString());
      const open = busy[id] ?? [];
      if (open.length) throw conflict("The vehicle has open bookings; they must end or be cancelled before it can be deleted", { openBookings: open.length });
      const at = new Date(this.now()).toISOString();
      const outbox = [...((v as Stored).outbox ?? []), makeFact("vehicle.deleted", { vehicleId: id, ownerId: v.ownerId, deletedAt: at })];
      const deleted = await this.vehicles.updateOne(
        { _id: id, version: v.version },
        { $set: { status: "deleted", deletedAt: at, updatedAt: at, outbox, pending: true }, $inc: { version: 1 } },
      );
      if (!deleted) continue;
      await this.releasePlate(v.plateKey, id).catch(() => undefined);
      await this.flushQuietly(deleted);
      return;
    }
    throw conflict("The vehicle kept changing meanwhile; try again");
  }

  // ---- availability -------------------------------------------------------------

  async setAvailability(user: AuthUser, id: string, input: Record<string, unknown>): Promise<VehicleRecord> {
    const given = { weekly: input.weekly, exceptions: input.exceptions, blocks: input.blocks };
    const problems = validateRules(given);
    if (problems.length) throw validationError(problems);
    const rules = cleanRules(given as StoredRules);
    return (await this.mutate(user, id, () => ({ set: { availability: rules }, changes: ["availability"] }))).after;
  }

  /** Free time in [from, to): the rules in the vehicle's zone, minus blocks and holding bookings. */
  async freeTime(id: string, fromMs: number, toMs: number, busyLookup: BusyLookup): Promise<{ vehicle: VehicleRecord; free: Interval[] }> {
    const vehicle = await this.get(id);
    const busy = await busyLookup([id], new Date(fromMs).toISOString(), new Date(toMs).toISOString());
    const held = (busy[id] ?? []).map((b) => ({ start: Date.parse(b.start), end: Date.parse(b.end) }));
    return { vehicle, free: freeIntervals({ ...vehicle.availability, timezone: vehicle.timezone }, fromMs, toMs, held) };
  }

  // ---- driver -------------------------------------------------------------------

  /** Sets (or with null, removes) the vehicle's driver, who must be one of the vehicle owner's drivers. */
  async assignDriver(user: AuthUser, id: string, driver: DriverRecord | null): Promise<VehicleRecord> {
    const { after } = await this.mutate(user, id, (v) => {
      if (driver && driver.ownerId !== v.ownerId) throw forbidden("This driver belongs to another owner");
      const driverId = driver?._id ?? null;
      if (v.driverId === driverId) return null;
      return {
        set: { driverId },
        changes: ["driverId"],
        facts: (version) => [
          makeFact("driver.assigned", { vehicleId: id, ownerId: v.ownerId, driverId, previousDriverId: v.driverId ?? null }),
          updatedFact(v, ["driverId"], version),
        ],
      };
    });
    return after;
  }

  // ---- photos -------------------------------------------------------------------

  /** Streams the upload into the file store after checking it is an image of at most 10 MB. */
  async addPhoto(user: AuthUser, id: string, content: NodeJS.ReadableStream): Promise<{ vehicle: VehicleRecord; photo: PhotoRef }> {
    try {
      const v = await this.getOwned(user, id);
      if (v.photos.length >= MAX_PHOTOS) throw tooManyPhotos();
    } catch (err) {
      content.resume(); // read and drop the rest, so the client gets its answer
      throw err;
    }
    const guard = photoGuard();
    guard.on("error", () => undefined); // reported through `detected` and the store's put
    content.on("error", (err) => guard.destroy(uploadError(err)));
    content.pipe(guard);
    let info;
    try {
      const contentType = await guard.detected;
      info = await this.photos.put(guard, { contentType, filename: `photo.${EXTENSION[contentType]}`, metadata: { vehicleId: id } });
    } catch (err) {
      content.unpipe(guard);
      content.resume();
      throw uploadError(err);
    }
    const photo: PhotoRef = { id: info.id, contentType: guard.contentType!, size: info.size, createdAt: info.createdAt };
    try {
      // busboy marks a file it cut at its size limit: never keep a cut photo.
      if ((content as { truncated?: boolean }).truncated) throw photoTooLarge();
      const { after } = await this.mutate(user, id, (v) => {
        if (v.photos.length >= MAX_PHOTOS) throw tooManyPhotos();
        return { set: { photos: [...v.photos, photo] }, changes: ["photos"] };
      });
      return { vehicle: after, photo };
    } catch (err) {
      await this.photos.delete(info.id).catch(() => undefined);
      throw err;
    }
  }

  async openPhoto(id: string, photoId: string): Promise<{ photo: PhotoRef; stream: NodeJS.ReadableStream }> {
    const v = await this.get(id);
    const photo = v.photos.find((p) => p.id === photoId);
    const file = photo ? await this.photos.get(photoId) : null;
    if (!photo || !file) throw notFound("The photo");
    return { photo, stream: file.stream };
  }

  async removePhoto(user: AuthUser, id: string, photoId: string): Promise<void> {
    await this.mutate(user, id, (v) => {
      if (!v.photos.some((p) => p.id === photoId)) throw notFound("The photo");
      return { set: { photos: v.photos.filter((p) => p.id !== photoId) }, changes: ["photos"] };
    });
    await this.photos.delete(photoId).catch(() => undefined);
  }

  // ---- helpers --------------------------------------------------------------------

  /**
   * Re-reads and applies `plan` conditionally on the version read (a few times
   * if the vehicle changed meanwhile), with its facts in the same update.
   */
  private async mutate(user: AuthUser, id: string, plan: (v: VehicleRecord) => Plan): Promise<{ before: VehicleRecord; after: VehicleRecord; changes: string[] }> {
    for (let attempt = 0; attempt < TRIES; attempt++) {
      const before: Stored = await this.getOwned(user, id);
      const p = plan(before);
      if (!p || !p.changes.length) return { before, after: before, changes: [] };
      const version = before.version + 1;
      const facts = p.facts ? p.facts(version) : [updatedFact(before, p.changes, version, p.set.status as VehicleRecord["status"] | undefined)];
      const unset = Object.fromEntries((p.unset ?? []).map((k) => [k, true as const]));
      const after = await this.vehicles.updateOne(
        { _id: id, version: before.version, status: { $ne: "deleted" } },
        { $set: { ...p.set, version, updatedAt: new Date(this.now()).toISOString(), outbox: [...(before.outbox ?? []), ...facts], pending: true }, $unset: unset },
      );
      if (after) {
        await this.flushQuietly(after);
        return { before, after, changes: p.changes };
      }
    }
    throw conflict("The vehicle kept changing meanwhile; try again");
  }

  /** Sends the vehicle's stored facts, then clears them (unless it changed meanwhile: its newer update carries them). */
  private async flush(v: Stored): Promise<void> {
    for (const fact of v.outbox ?? []) await this.send(fact);
    await this.vehicles.updateOne({ _id: v._id, version: v.version }, { $unset: { outbox: true, pending: true } });
  }

  private async flushQuietly(v: Stored): Promise<void> {
    try {
      await this.flush(v);
    } catch (err) {
      // The change is stored with its facts: flushPending sends them shortly.
      this.log(`Facts of vehicle ${v._id} not sent yet, will retry: ${(err as Error)?.message}`);
    }
  }

  /** Sends what a failed send left behind (any instance may: fact ids make a repeat harmless). */
  async flushPending(olderThanMs = 5_000, max = 50): Promise<number> {
    const before = new Date(this.now() - olderThanMs).toISOString();
    const pending = (await this.vehicles.find({ pending: true }, { limit: max })).filter((v) => v.updatedAt < before);
    let sent = 0;
    for (const v of pending) {
      try {
        await this.flush(v);
        sent++;
      } catch (err) {
        this.log(`Facts of vehicle ${v._id} still not sent: ${(err as Error)?.message}`);
        break;
      }
    }
    return sent;
  }

  /** Checks what the validation schema cannot; returns the canonical time zone when one was given. */
  private checkFields(input: { licensePlate?: string; year?: number; timezone?: string }): string | undefined {
    const problems: FieldError[] = [];
    if (input.licensePlate !== undefined) {
      const p = plateProblem(input.licensePlate);
      if (p) problems.push(p);
    }
    if (input.year !== undefined) {
      const p = yearProblem(input.year, new Date(this.now()));
      if (p) problems.push(p);
    }
    let timezone: string | undefined;
    if (input.timezone !== undefined) {
      timezone = canonicalTimeZone(input.timezone) ?? undefined;
      if (!timezone) problems.push({ field: "timezone", message: "must be an IANA time zone such as Asia/Seoul" });
    }
    if (problems.length) throw validationError(problems);
    return timezone;
  }

  /** Coordinates as given, or from the address lookup when both are missing. */
  private async locate(loc: LocationInput): Promise<{ address: string; lat: number; lng: number }> {
    const { address, lat, lng } = loc;
    if (lat !== undefined && lng !== undefined) return { address, lat, lng };
    if (lat !== undefined || lng !== undefined) {
      const missing = lat === undefined ? "location.lat" : "location.lng";
      throw validationError([{ field: missing, message: "is required: give both location.lat and location.lng, or neither to look the address up" }]);
    }
    if (!this.geocoder) {
      throw validationError([{ field: "location.lat", message: "is required: address lookup is not configured, so give location.lat and location.lng" }]);
    }
    let found;
    try {
      found = await this.geocoder.geocode(address);
    } catch (err) {
      if (err instanceof GeocodingUnavailable) throw unavailable("The address lookup");
      throw err;
    }
    if (!found) throw validationError([{ field: "location.address", message: "could not be found; check it, or give location.lat and location.lng" }]);
    return { address, lat: found.lat, lng: found.lng };
  }

  private async claimPlate(plateKey: string, vehicleId: string): Promise<void> {
    const _id = plateId(plateKey);
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await this.plates.insert({ _id, vehicleId, claimedAt: new Date(this.now()).toISOString() });
        return;
      } catch (err) {
        if (!(err instanceof DuplicateKeyError)) throw err;
      }
      const held = await this.plates.findById(_id);
      if (!held) continue; // released meanwhile: try again
      if (held.vehicleId === vehicleId) return;
      const holder = await this.vehicles.findById(held.vehicleId);
      if (holder && holder.status !== "deleted" && holder.plateKey === plateKey) throw dupPlate();
      if (!holder && this.now() - Date.parse(held.claimedAt) < ORPHAN_CLAIM_MS) throw dupPlate();
      // The claim outlived its vehicle (a crash between the steps): take it over.
      const taken = await this.plates.updateOne({ _id, vehicleId: held.vehicleId }, { $set: { vehicleId, claimedAt: new Date(this.now()).toISOString() } });
      if (taken) return;
    }
    throw dupPlate();
  }

  private async releasePlate(plateKey: string, vehicleId: string): Promise<void> {
    await this.plates.deleteOne({ _id: plateId(plateKey), vehicleId });
  }
}

function updatedFact(v: VehicleRecord, changes: string[], version: number, status?: VehicleRecord["status"]): Fact<unknown> {
  return makeFact("vehicle.updated", { vehicleId: v._id, ownerId: v.ownerId, status: status ?? v.status, changes, version });
}

const tooManyPhotos = () => conflict(`A vehicle has at most ${MAX_PHOTOS} photos; delete one first`, { maxPhotos: MAX_PHOTOS });

/** What a PATCH changes on `v`: only fields whose value really differs. */
function planPatch(
  v: VehicleRecord,
  patch: VehiclePatch,
  resolved: { timezone?: string; location?: { address: string; lat: number; lng: number }; plateKey?: string },
): Plan {
  const set: Record<string, unknown> = {};
  const unset: string[] = [];
  const changes: string[] = [];
  const put = (field: string, value: unknown, extra: Record<string, unknown> = {}) => {
    if (value === undefined) return;
    const current = (v as unknown as Record<string, unknown>)[field];
    if (value === null) {
      if (current === undefined) return;
      unset.push(field);
    } else {
      if (JSON.stringify(current) === JSON.stringify(value)) return;
      set[field] = value;
      Object.assign(set, extra);
    }
    changes.push(field);
  };
  if (patch.licensePlate !== undefined) {
    const plate = displayPlate(patch.licensePlate);
    if (plate !== v.licensePlate || resolved.plateKey !== v.plateKey) {
      set.licensePlate = plate;
      set.plateKey = resolved.plateKey;
      changes.push("licensePlate");
    }
  }
  put("make", patch.make, patch.make !== undefined ? { makeKey: patch.make.toLowerCase() } : {});
  put("model", patch.model);
  put("year", patch.year);
  put("color", patch.color);
  put("fuelType", patch.fuelType);
  put("transmission", patch.transmission);
  put("seats", patch.seats);
  put("hourlyRate", patch.hourlyRate);
  put("dailyRate", patch.dailyRate);
  put("currency", patch.currency?.toUpperCase());
  put("timezone", resolved.timezone);
  put("description", patch.description);
  put("status", patch.status);
  if (resolved.location) put("location", resolved.location, { cells: cellsOf(resolved.location.lat, resolved.location.lng) });
  return changes.length ? { set, unset, changes } : null;
}

/** Rules as stored: only the known keys, block instants in UTC. */
function cleanRules(rules: StoredRules): StoredRules {
  const out: StoredRules = {};
  if (rules.weekly) out.weekly = rules.weekly.map((w): WeeklyWindow => ({ day: w.day, start: w.start, end: w.end }));
  if (rules.exceptions) {
    out.exceptions = rules.exceptions.map((e): DateException => (e.closed ? { date: e.date, closed: true } : { date: e.date, start: e.start, end: e.end }));
  }
  if (rules.blocks) {
    out.blocks = rules.blocks.map((b): Block => {
      const block: Block = { start: new Date(parseInstant(b.start)).toISOString(), end: new Date(parseInstant(b.end)).toISOString() };
      if (b.reason) block.reason = b.reason;
      return block;
    });
  }
  return out;
}
