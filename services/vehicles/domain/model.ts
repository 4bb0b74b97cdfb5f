/**
 * The vehicles service's stored records, the views the API and other services
 * see (lib/contracts.ts `VehicleView`, `DriverContact`), and the field rules
 * that fastest-validator cannot express (plate, year, time zone).
 */
import type { DriverContact, VehicleView } from "../../../lib/contracts";
import type { FieldError } from "../../../lib/errors";
import { cellKeysOf } from "./geo";
import { isValidTimeZone } from "./zoned-time";
import type { Block, DateException, WeeklyWindow } from "./availability";

export const FUEL_TYPES = ["gasoline", "diesel", "hybrid", "electric", "lpg", "hydrogen"] as const;
export const TRANSMISSIONS = ["automatic", "manual"] as const;
export type FuelType = (typeof FUEL_TYPES)[number];
export type Transmission = (typeof TRANSMISSIONS)[number];

export const MIN_YEAR = 1980;
export const MAX_PHOTOS = 20;
/**
 * Finest geohash precision stored in `cells` (precision 7: ~150 x 120 m at
 * Seoul). The search starts with a 500 m circle (precision-7 cells) and
 * widens it (coarser cells) only where it found too few, so a dense city is
 * answered from a few fine cells and a sparse region from coarse ones.
 */
export const SEARCH_PRECISION = 7;

export interface PhotoRef { id: string; contentType: string; size: number; createdAt: string }

/** Availability rules as stored: read in the vehicle's own `timezone`. */
export interface StoredRules { weekly?: WeeklyWindow[]; exceptions?: DateException[]; blocks?: Block[] }

export interface VehicleRecord {
  _id: string;
  ownerId: string;
  driverId: string | null;
  status: "active" | "inactive" | "deleted";
  /** As the owner wrote it (trimmed, single spaces). */
  licensePlate: string;
  /** Normalised for uniqueness: no spaces, upper case, NFC. */
  plateKey: string;
  make: string;
  /** Lower-case make, for the search's exact, case-blind `make` filter. */
  makeKey: string;
  model: string;
  year: number;
  color?: string;
  fuelType?: FuelType;
  transmission?: Transmission;
  seats?: number;
  hourlyRate: number;
  dailyRate?: number;
  currency: string;
  timezone: string;
  location: { address: string; lat: number; lng: number };
  /** Geohash keys at precisions 1..SEARCH_PRECISION (indexed; see geo.ts). */
  cells: string[];
  description?: string;
  availability?: StoredRules;
  photos: PhotoRef[];
  /** Grows by one with every change; every update is conditional on it. */
  version: number;
  createdAt: string;
  updatedAt: string;
  deletedAt?: string;
}

/** `_id` = "plate:<plateKey>": one live vehicle per plate, on every store (no partial indexes needed). */
export interface PlateRecord { _id: string; vehicleId: string; claimedAt: string }

export interface DriverRecord { _id: string; ownerId: string; name: string; phone: string; createdAt: string; updatedAt: string }

export const plateId = (plateKey: string) => `plate:${plateKey}`;

/** The plate as the owner wrote it: trimmed, runs of spaces made one. */
export function displayPlate(plate: string): string {
  return plate.normalize("NFC").trim().replace(/\s+/g, " ");
}

/** " 12가 3456" and "12가3456" are the same plate; so are "ab 12" and "AB12". */
export function normalisePlate(plate: string): string {
  return plate.normalize("NFC").replace(/\s+/g, "").toUpperCase();
}

const PLATE = /^[\p{L}\p{N}-]{2,15}$/u;

export function plateProblem(plate: string): FieldError | null {
  return PLATE.test(normalisePlate(plate))
    ? null
    : { field: "licensePlate", message: "must be 2-15 letters, digits or hyphens (spaces are ignored)" };
}

export function yearProblem(year: number, now = new Date()): FieldError | null {
  const max = now.getUTCFullYear() + 1;
  return Number.isInteger(year) && year >= MIN_YEAR && year <= max ? null : { field: "year", message: `must be a year from ${MIN_YEAR} to ${max}` };
}

/** The canonical name of an IANA zone ("asia/seoul" -> "Asia/Seoul"), or null when unknown. */
export function canonicalTimeZone(zone: string): string | null {
  if (!isValidTimeZone(zone)) return null;
  return new Intl.DateTimeFormat("en-US", { timeZone: zone }).resolvedOptions().timeZone;
}

export function cellsOf(lat: number, lng: number): string[] {
  return cellKeysOf(lat, lng, SEARCH_PRECISION);
}

export function photoUrl(publicUrl: string, vehicleId: string, photoId: string): string {
  return `${publicUrl}/v1/vehicles/${vehicleId}/photos/${photoId}`;
}

/** The API's vehicle: the contract's VehicleView plus the listing's details. */
export interface VehicleDetails extends VehicleView {
  color: string | null;
  fuelType: FuelType | null;
  transmission: Transmission | null;
  seats: number | null;
  dailyRate?: number;
  description: string | null;
  photos: { id: string; url: string; contentType: string; size: number }[];
  createdAt: string;
  updatedAt: string;
}

export function toVehicleView(v: VehicleRecord, publicUrl: string): VehicleDetails {
  const view: VehicleDetails = {
    id: v._id,
    ownerId: v.ownerId,
    driverId: v.driverId ?? null,
    status: v.status,
    licensePlate: v.licensePlate,
    make: v.make,
    model: v.model,
    year: v.year,
    color: v.color ?? null,
    fuelType: v.fuelType ?? null,
    transmission: v.transmission ?? null,
    seats: v.seats ?? null,
    hourlyRate: v.hourlyRate,
    currency: v.currency,
    timezone: v.timezone,
    location: { address: v.location.address, lat: v.location.lat, lng: v.location.lng },
    description: v.description ?? null,
    photos: (v.photos ?? []).map((p) => ({ id: p.id, url: photoUrl(publicUrl, v._id, p.id), contentType: p.contentType, size: p.size })),
    createdAt: v.createdAt,
    updatedAt: v.updatedAt,
  };
  if (v.dailyRate !== undefined) view.dailyRate = v.dailyRate;
  if (v.availability) view.availability = v.availability;
  return view;
}

export interface DriverView { id: string; ownerId: string; name: string; phone: string; createdAt: string; updatedAt: string }

/** Only ever returned to the driver's owner (or an admin): it holds the phone. */
export function toDriverView(d: DriverRecord): DriverView {
  return { id: d._id, ownerId: d.ownerId, name: d.name, phone: d.phone, createdAt: d.createdAt, updatedAt: d.updatedAt };
}

export function toDriverContact(d: DriverRecord): DriverContact {
  return { id: d._id, ownerId: d.ownerId, name: d.name, phone: d.phone };
}
