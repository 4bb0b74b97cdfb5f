/**
 * The booking hot paths at 50 concurrent clients: creating a booking request
 * (calendar hold + insert), and a driver reporting payment through the link
 * (consume link, record payment, confirm booking). Setup goes through the API
 * only: a verified owner with vehicles and a driver, verified renters.
 */
import fs from "node:fs";
import path from "node:path";
import type { Client, Session } from "../test/support/system";
import { loginByOtp, newPhone } from "../test/support/system";
import { verifyThroughApi } from "../test/support/kyc";
import { measure, type Measured, type Running } from "./lib";

const HOUR = 3_600_000;
const VEHICLES = 100;

interface World { owner: Session; renters: Session[]; vehicleIds: string[]; driverPhone: string }

/** Setup calls: retried while the system answers 503 (overloaded by the run before), else must succeed. */
async function must(call: Promise<{ status: number; text: string; body: any }> | (() => Promise<{ status: number; text: string; body: any }>), status: number, what: string) {
  for (let attempt = 1; ; attempt++) {
    const a = await (typeof call === "function" ? call() : call);
    if (a.status === status) return a.body;
    if (a.status !== 503 || typeof call !== "function" || attempt >= 10) throw new Error(`${what}: ${a.status} ${a.text}`);
    await new Promise((r) => setTimeout(r, 500 * attempt));
  }
}

export async function setUp(sys: Running, adminPhone: string): Promise<World> {
  const api: Client = sys.api;
  const admin = await loginByOtp(sys, adminPhone);
  const owner = await loginByOtp(sys);
  await must(api.post("/v1/auth/me/roles", { role: "owner" }, owner.accessToken), 200, "owner role");
  await verifyThroughApi(api, owner, admin);
  const driverPhone = newPhone();
  const driver = await must(api.post("/v1/drivers", { name: "Bench Driver", phone: driverPhone }, owner.accessToken), 201, "driver");
  const vehicleIds: string[] = [];
  for (let i = 0; i < VEHICLES; i++) {
    const v = await must(
      api.post("/v1/vehicles", { licensePlate: `${10 + (i % 89)}가${String(1000 + i).padStart(4, "0")}`, make: "Hyundai", model: "Avante", year: 2022, hourlyRate: 10_000, location: { address: "Seoul", lat: 37.55 + (i % 10) * 0.002, lng: 126.97 + Math.floor(i / 10) * 0.002 } }, owner.accessToken),
      201,
      "vehicle",
    );
    await must(api.put(`/v1/vehicles/${v.id}/driver`, { driverId: driver.id }, owner.accessToken), 200, "assign driver");
    vehicleIds.push(v.id);
  }
  const renters: Session[] = [];
  for (let i = 0; i < 5; i++) {
    const r = await loginByOtp(sys);
    await verifyThroughApi(api, r, admin);
    renters.push(r);
  }
  return { owner, renters, vehicleIds, driverPhone };
}

/** Booking requests for random vehicles and hours over the next 90 days: mostly 201, some 409. */
export async function benchCreate(name: string, sys: Running, w: World): Promise<Measured & { created: number; conflicts: number }> {
  const dayMs = 24 * HOUR;
  const base = Math.ceil(Date.now() / HOUR) * HOUR + dayMs;
  let created = 0;
  let conflicts = 0;
  const m = await measure(name, {
    url: sys.url,
    requests: [
      {
        method: "POST",
        path: "/v1/bookings",
        setupRequest: (req: any) => {
          const renter = w.renters[Math.floor(Math.random() * w.renters.length)];
          const start = base + Math.floor(Math.random() * 90 * 24) * HOUR;
          return {
            ...req,
            headers: { "content-type": "application/json", authorization: `Bearer ${renter.accessToken}` },
            body: JSON.stringify({ vehicleId: w.vehicleIds[Math.floor(Math.random() * w.vehicleIds.length)], start: new Date(start).toISOString(), end: new Date(start + 2 * HOUR).toISOString() }),
          };
        },
        onResponse: (status: number) => {
          if (status === 201) created++;
          else if (status === 409) conflicts++;
        },
      },
    ],
  } as any);
  // 409 BOOKING_CONFLICT is a correct answer here, not an error.
  return { ...m, non2xx: m.non2xx - conflicts, created, conflicts };
}

/** Accepted bookings with live driver links, to be consumed by the submit benchmark. */
export async function prepareLinks(sys: Running, w: World, count: number): Promise<string[]> {
  const since = Date.now() - 1;
  const base = Math.ceil(Date.now() / HOUR) * HOUR + 200 * 24 * HOUR; // clear of the create benchmark's window
  const ids: string[] = [];
  const batch = 10;
  for (let i = 0; i < count; i += batch) {
    const made = await Promise.all(
      Array.from({ length: Math.min(batch, count - i) }, async (_, j) => {
        const n = i + j;
        const start = base + Math.floor(n / VEHICLES) * 3 * HOUR;
        const b = await must(() => sys.api.post("/v1/bookings", { vehicleId: w.vehicleIds[n % VEHICLES], start: new Date(start).toISOString(), end: new Date(start + 2 * HOUR).toISOString() }, w.renters[n % w.renters.length].accessToken), 201, "booking");
        await must(() => sys.api.post(`/v1/bookings/${b.id}/accept`, {}, w.owner.accessToken), 200, "accept");
        return b.id as string;
      }),
    );
    ids.push(...made);
  }
  const file = path.join(sys.dataDir, "outbox", "sms.jsonl");
  const until = Date.now() + 120_000;
  for (;;) {
    const tokens = fs.existsSync(file)
      ? fs.readFileSync(file, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l)).filter((m) => m.to === w.driverPhone && Date.parse(m.createdAt) >= since).map((m) => /\/d\/([A-Za-z0-9_-]+)/.exec(m.body)?.[1]).filter(Boolean) as string[]
      : [];
    if (tokens.length >= count) return tokens;
    if (Date.now() > until) throw new Error(`only ${tokens.length} of ${count} driver links arrived`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function benchSubmit(name: string, sys: Running, tokens: string[]): Promise<Measured> {
  let next = 0;
  return measure(name, {
    url: sys.url,
    amount: tokens.length,
    requests: [
      {
        method: "POST",
        setupRequest: (req: any) => {
          const token = tokens[next++ % tokens.length];
          return {
            ...req,
            path: `/v1/driver-links/${token}/payment`,
            headers: { "content-type": "application/json", "idempotency-key": `bench-${token.slice(0, 12)}` },
            body: JSON.stringify({ paid: true, amount: 20_000, method: "cash", paidAt: new Date().toISOString() }),
          };
        },
      },
    ],
  } as any);
}
