/**
 * vehicles: owners list vehicles (unique plates, photos, availability rules,
 * an assigned driver), renters search them near a point for a time window.
 * Other services read `vehicles.get` (VehicleView) and `vehicles.driverContact`
 * (lib/contracts.ts); holding bookings come from `bookings.busy`.
 * Routes: gateway/routes/vehicles.ts. Logic: ./domain, address lookup: ./geocoding.
 */
import type { Context } from "moleculer";
import { config } from "../../lib/config";
import type { BusyMap, DriverContact, VehicleView } from "../../lib/contracts";
import { AppError, unauthenticated, unavailable, validationError } from "../../lib/errors";
import { sendFact } from "../../lib/facts";
import { defineService, resources, type WithResources } from "../../lib/service";
import { defineParams, type Params } from "../../lib/validation";
import type { AuthUser, RequestMeta } from "../../lib/auth-types";
import { parseInstant } from "./domain/availability";
import { Drivers } from "./domain/drivers";
import { FUEL_TYPES, TRANSMISSIONS, toDriverContact, toDriverView, toVehicleView, type VehicleRecord } from "./domain/model";
import { VehicleSearch, parseSearchQuery } from "./domain/search";
import { Vehicles, type BusyLookup } from "./domain/vehicles";
import { geocoderFrom } from "./geocoding";

const id = { type: "string", min: 1, max: 64 } as const;
const paging = {
  limit: { type: "number", integer: true, convert: true, min: 1, max: 100, optional: true },
  cursor: { type: "string", max: 64, optional: true },
  offset: { type: "number", integer: true, convert: true, min: 0, max: 100_000, optional: true },
} as const;
const name = (max: number) => ({ type: "string", min: 1, max, trim: true }) as const;
const money = (max: number) => ({ type: "number", integer: true, positive: true, max, messages: { numberPositive: "must be a positive whole amount in the smallest currency unit" } }) as const;

const location = {
  type: "object",
  props: {
    address: name(300),
    lat: { type: "number", min: -90, max: 90, optional: true },
    lng: { type: "number", min: -180, max: 180, optional: true },
  },
} as const;
const vehicleFields = {
  licensePlate: { type: "string", min: 2, max: 20, trim: true },
  make: name(50),
  model: name(50),
  year: { type: "number", integer: true, min: 1980, max: 9999 },
  color: { ...name(30), optional: true },
  fuelType: { type: "enum", values: FUEL_TYPES, optional: true },
  transmission: { type: "enum", values: TRANSMISSIONS, optional: true },
  seats: { type: "number", integer: true, min: 1, max: 15, optional: true },
  hourlyRate: money(100_000_000),
  dailyRate: { ...money(1_000_000_000), optional: true },
  currency: { type: "string", pattern: "^[A-Za-z]{3}$", optional: true, messages: { stringPattern: "must be a 3-letter ISO 4217 code such as KRW" } },
  location,
  description: { type: "string", max: 2000, trim: true, optional: true },
  timezone: { type: "string", min: 1, max: 64, optional: true, description: "IANA time zone, default Asia/Seoul" },
} as const;

const createParams = defineParams(vehicleFields);
const updateParams = defineParams({
  id,
  licensePlate: { ...vehicleFields.licensePlate, optional: true },
  make: { ...vehicleFields.make, optional: true },
  model: { ...vehicleFields.model, optional: true },
  year: { ...vehicleFields.year, optional: true },
  color: { ...vehicleFields.color, nullable: true },
  fuelType: { ...vehicleFields.fuelType, nullable: true },
  transmission: { ...vehicleFields.transmission, nullable: true },
  seats: { ...vehicleFields.seats, nullable: true },
  hourlyRate: { ...vehicleFields.hourlyRate, optional: true },
  dailyRate: { ...vehicleFields.dailyRate, nullable: true },
  currency: vehicleFields.currency,
  location: { ...location, optional: true },
  description: { ...vehicleFields.description, nullable: true },
  timezone: vehicleFields.timezone,
  status: { type: "enum", values: ["active", "inactive"] as const, optional: true, description: "inactive hides the vehicle from search" },
});
const byIdParams = defineParams({ id });
const listParams = defineParams({ ...paging });
const queryText = (description: string) => ({ type: "string", max: 200, convert: true, optional: true, description }) as const;
const searchParams = defineParams({
  lat: queryText("latitude of the centre, -90..90 (required)"),
  lng: queryText("longitude of the centre, -180..180 (required)"),
  radiusKm: queryText("search radius in km, more than 0 and at most 50; default 5"),
  start: queryText("window start, ISO 8601 with offset (with end)"),
  end: queryText("window end, ISO 8601 with offset, after start"),
  make: queryText("exact make, any case"),
  minSeats: queryText("at least this many seats"),
  maxHourlyRate: queryText("hourly rate at most this"),
  fuelType: queryText(FUEL_TYPES.join(" | ")),
  transmission: queryText(TRANSMISSIONS.join(" | ")),
  q: queryText("words that must all appear in make, model, colour, description or address"),
  limit: queryText("page size, 1..100; default 20"),
  cursor: queryText("nextCursor of the previous page"),
});
const rulesParams = defineParams({
  id,
  weekly: { type: "array", optional: true, items: { type: "object" }, description: "[{day: 0-6 (0 = Sunday), start: HH:MM, end: HH:MM}] in the vehicle's time zone" },
  exceptions: { type: "array", optional: true, items: { type: "object" }, description: "[{date: YYYY-MM-DD, closed: true} | {date, start, end}]" },
  blocks: { type: "array", optional: true, items: { type: "object" }, description: "[{start, end, reason?}] ISO 8601 instants" },
});
const freeParams = defineParams({
  id,
  from: { type: "string", max: 40, optional: true, description: "ISO 8601 with offset; default now" },
  to: { type: "string", max: 40, optional: true, description: "ISO 8601 with offset; default from + 7 days; at most 92 days after from" },
});
const driverParams = defineParams({
  name: name(100),
  phone: { type: "string", pattern: "^\\+[1-9]\\d{6,14}$", messages: { stringPattern: "must be an E.164 phone number such as +821012345678" } },
});
const assignParams = defineParams({ id, driverId: id });
const photoParams = defineParams({ id, photoId: id });
const contactParams = defineParams({ driverId: id });

const DAY_MS = 86_400_000;
const MAX_FREE_RANGE_DAYS = 92;

interface Self extends WithResources {
  vehicles: Vehicles;
  drivers: Drivers;
  search: VehicleSearch;
  sweeper?: NodeJS.Timeout;
  view(v: VehicleRecord): VehicleView;
  busyLookup(ctx: Context): BusyLookup;
}
/** `$location`: moleculer-web's Location header of a 201. */
type Ctx<P> = Context<P, RequestMeta & { $location?: string }>;
/** What moleculer-web's `multipart:` alias hands over with the file stream. */
type UploadMeta = RequestMeta & { $params?: Record<string, string>; fieldname?: string; filename?: string; mimetype?: string; $location?: string };

function me(ctx: Context<unknown, RequestMeta>): AuthUser {
  if (!ctx.meta.user) throw unauthenticated();
  return ctx.meta.user;
}

function isStream(x: unknown): x is NodeJS.ReadableStream {
  return typeof (x as NodeJS.ReadableStream | undefined)?.pipe === "function" && typeof (x as NodeJS.ReadableStream).on === "function";
}

function instantParam(value: string | undefined, field: string): number | undefined {
  if (value === undefined || value === "") return undefined;
  const ms = parseInstant(value);
  if (Number.isNaN(ms)) throw validationError([{ field, message: "must be an ISO 8601 date-time with an offset, such as 2026-12-01T09:00:00+09:00" }]);
  return ms;
}

export default defineService<Self>({
  name: "vehicles",
  mixins: [resources({ db: true })],

  actions: {
    create: {
      roles: ["owner"],
      kyc: true,
      summary: "List a vehicle; without location.lat/lng the address is looked up",
      params: createParams,
      async handler(this: Self, ctx: Ctx<Params<typeof createParams>>) {
        const v = await this.vehicles.create(me(ctx), ctx.params);
        ctx.meta.$statusCode = 201;
        ctx.meta.$location = `${config().publicUrl}/v1/vehicles/${v._id}`;
        return this.view(v);
      },
    },

    /** Also the internal read of other services (lib/contracts.ts VehicleView); 404 when unknown or deleted. */
    get: {
      auth: "public",
      summary: "A vehicle",
      params: byIdParams,
      async handler(this: Self, ctx: Ctx<Params<typeof byIdParams>>) {
        return this.view(await this.vehicles.get(ctx.params.id));
      },
    },

    update: {
      roles: ["owner"],
      summary: "Change my vehicle; null clears color, fuelType, transmission, seats, dailyRate or description",
      params: updateParams,
      async handler(this: Self, ctx: Ctx<Params<typeof updateParams>>) {
        const { id: vehicleId, ...patch } = ctx.params;
        return this.view(await this.vehicles.update(me(ctx), vehicleId, patch));
      },
    },

    remove: {
      roles: ["owner"],
      summary: "Delete my vehicle (refused with 409 while bookings hold it); its history is kept",
      params: byIdParams,
      async handler(this: Self, ctx: Ctx<Params<typeof byIdParams>>) {
        await this.vehicles.remove(me(ctx), ctx.params.id, this.busyLookup(ctx));
        ctx.meta.$statusCode = 204;
        return null;
      },
    },

    listMine: {
      roles: ["owner"],
      summary: "My vehicles, newest first",
      params: listParams,
      async handler(this: Self, ctx: Ctx<Params<typeof listParams>>) {
        const page = await this.vehicles.listOwned(me(ctx).id, ctx.params);
        return { items: page.items.map((v) => this.view(v)), nextCursor: page.nextCursor };
      },
    },

    search: {
      auth: "public",
      summary: "Vehicles near a point, nearest first, free for the whole window when start and end are given (then with a price quote). A page may be short while nextCursor is set: follow it until null",
      params: searchParams,
      async handler(this: Self, ctx: Ctx<Params<typeof searchParams>>) {
        const query = parseSearchQuery(ctx.params);
        const result = await this.search.search(query, this.busyLookup(ctx));
        return {
          items: result.hits.map((h) => ({ ...this.view(h.vehicle), distanceKm: Math.round(h.distanceKm * 100) / 100, ...(h.quote ? { quote: h.quote } : {}) })),
          nextCursor: result.nextCursor,
        };
      },
    },

    setAvailability: {
      roles: ["owner"],
      summary: "Replace my vehicle's availability rules (weekly windows, date exceptions, blocks), read in its time zone; no rules = always open",
      params: rulesParams,
      async handler(this: Self, ctx: Ctx<Params<typeof rulesParams>>) {
        const v = await this.vehicles.setAvailability(me(ctx), ctx.params.id, ctx.params);
        return { vehicleId: v._id, timezone: v.timezone, weekly: v.availability?.weekly ?? [], exceptions: v.availability?.exceptions ?? [], blocks: v.availability?.blocks ?? [] };
      },
    },

    availability: {
      auth: "public",
      summary: "Free intervals of a vehicle in [from, to): its rules minus blocks and holding bookings",
      params: freeParams,
      async handler(this: Self, ctx: Ctx<Params<typeof freeParams>>) {
        const from = instantParam(ctx.params.from, "from") ?? Date.now();
        const to = instantParam(ctx.params.to, "to") ?? from + 7 * DAY_MS;
        if (to <= from) throw validationError([{ field: "to", message: "must be after from" }]);
        if (to - from > MAX_FREE_RANGE_DAYS * DAY_MS) throw validationError([{ field: "to", message: `must be at most ${MAX_FREE_RANGE_DAYS} days after from` }]);
        const { vehicle, free } = await this.vehicles.freeTime(ctx.params.id, from, to, this.busyLookup(ctx));
        return {
          vehicleId: vehicle._id,
          timezone: vehicle.timezone,
          from: new Date(from).toISOString(),
          to: new Date(to).toISOString(),
          free: free.map((i) => ({ start: new Date(i.start).toISOString(), end: new Date(i.end).toISOString() })),
        };
      },
    },

    uploadPhoto: {
      roles: ["owner"],
      summary: "Add a photo to my vehicle: multipart part `file`, JPEG, PNG or WebP (checked by content), at most 10 MB",
      async handler(this: Self, ctx: Context<unknown, UploadMeta>) {
        const content = ctx.params;
        if (!isStream(content)) throw validationError([{ field: "file", message: "is required: send the photo as a multipart part named `file`" }]);
        content.on("error", () => undefined); // a stream error is reported by the upload itself
        const vehicleId = ctx.meta.$params?.id ?? "";
        if (ctx.meta.fieldname !== "file") {
          content.resume();
          throw validationError([{ field: "file", message: "is required: send the photo as a multipart part named `file`" }]);
        }
        const { photo } = await this.vehicles.addPhoto(me(ctx), vehicleId, content);
        const url = `${config().publicUrl}/v1/vehicles/${vehicleId}/photos/${photo.id}`;
        ctx.meta.$statusCode = 201;
        ctx.meta.$location = url;
        return { id: photo.id, url, contentType: photo.contentType, size: photo.size };
      },
    },

    photo: {
      auth: "public",
      summary: "A vehicle photo, byte for byte (immutable: cache it forever)",
      params: photoParams,
      async handler(this: Self, ctx: Ctx<Params<typeof photoParams>>) {
        const { photo, stream } = await this.vehicles.openPhoto(ctx.params.id, ctx.params.photoId);
        ctx.meta.$responseType = photo.contentType;
        ctx.meta.$responseHeaders = {
          "Content-Length": String(photo.size),
          "Cache-Control": "public, max-age=31536000, immutable",
          ETag: `"${photo.id}"`,
          // Listing pages and apps on other origins show these images.
          "Cross-Origin-Resource-Policy": "cross-origin",
        };
        return stream;
      },
    },

    removePhoto: {
      roles: ["owner"],
      summary: "Delete a photo of my vehicle",
      params: photoParams,
      async handler(this: Self, ctx: Ctx<Params<typeof photoParams>>) {
        await this.vehicles.removePhoto(me(ctx), ctx.params.id, ctx.params.photoId);
        ctx.meta.$statusCode = 204;
        return null;
      },
    },

    createDriver: {
      roles: ["owner"],
      kyc: true,
      summary: "List a driver of mine (name and E.164 phone; only I see the phone)",
      params: driverParams,
      async handler(this: Self, ctx: Ctx<Params<typeof driverParams>>) {
        const d = await this.drivers.create(me(ctx).id, ctx.params);
        ctx.meta.$statusCode = 201;
        ctx.meta.$location = `${config().publicUrl}/v1/drivers/${d._id}`;
        return toDriverView(d);
      },
    },

    listDrivers: {
      roles: ["owner"],
      summary: "My drivers, newest first",
      params: listParams,
      async handler(this: Self, ctx: Ctx<Params<typeof listParams>>) {
        const page = await this.drivers.list(me(ctx).id, ctx.params);
        return { items: page.items.map(toDriverView), nextCursor: page.nextCursor };
      },
    },

    getDriver: {
      roles: ["owner"],
      summary: "One of my drivers",
      params: byIdParams,
      async handler(this: Self, ctx: Ctx<Params<typeof byIdParams>>) {
        return toDriverView(await this.drivers.getOwned(me(ctx), ctx.params.id));
      },
    },

    assignDriver: {
      roles: ["owner"],
      summary: "Make one of my drivers the driver of my vehicle",
      params: assignParams,
      async handler(this: Self, ctx: Ctx<Params<typeof assignParams>>) {
        const user = me(ctx);
        await this.vehicles.getOwned(user, ctx.params.id); // 404/403 about the vehicle before anything about the driver
        const driver = await this.drivers.get(ctx.params.driverId);
        return this.view(await this.vehicles.assignDriver(user, ctx.params.id, driver));
      },
    },

    unassignDriver: {
      roles: ["owner"],
      summary: "Remove the driver of my vehicle",
      params: byIdParams,
      async handler(this: Self, ctx: Ctx<Params<typeof byIdParams>>) {
        return this.view(await this.vehicles.assignDriver(me(ctx), ctx.params.id, null));
      },
    },

    /** Internal (bookings, driver links): a driver's phone, to text them. Not routed. */
    driverContact: {
      visibility: "public",
      params: contactParams,
      async handler(this: Self, ctx: Ctx<Params<typeof contactParams>>): Promise<DriverContact> {
        return toDriverContact(await this.drivers.get(ctx.params.driverId));
      },
    },
  },

  methods: {
    view(this: Self, v: VehicleRecord): VehicleView {
      return toVehicleView(v, config().publicUrl);
    },

    /** Holding bookings from the bookings service, one batched call; any failure to answer is a 503. */
    busyLookup(this: Self, ctx: Context): BusyLookup {
      return async (vehicleIds, start, end) => {
        try {
          return await ctx.call<BusyMap, { vehicleIds: string[]; start: string; end: string }>("bookings.busy", { vehicleIds, start, end });
        } catch (err) {
          if (err instanceof AppError && err.code < 500) this.logger.error("bookings.busy refused our request:", err.message);
          else this.logger.warn("bookings.busy did not answer:", (err as Error)?.message);
          throw unavailable("The bookings service");
        }
      };
    },
  },

  async started(this: Self) {
    const cfg = config();
    const geocoder = geocoderFrom(cfg, this.logger);
    if (!geocoder) this.logger.info("KAKAO_REST_KEY is not set: vehicles need location.lat and location.lng");
    this.vehicles = new Vehicles(this.db, geocoder, (fact) => sendFact(this.broker, fact), (msg) => this.logger.warn(msg));
    this.drivers = new Drivers(this.db);
    this.search = new VehicleSearch(this.vehicles.vehicles, cfg.platformFeeBps);
    this.sweeper = setInterval(() => {
      this.vehicles.flushPending().catch((err) => this.logger.warn("Re-sending vehicle facts failed:", (err as Error)?.message));
    }, 10_000);
    this.sweeper.unref();
  },

  async stopped(this: Self) {
    if (this.sweeper) clearInterval(this.sweeper);
  },
});
