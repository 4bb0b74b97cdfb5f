/**
 * Vehicle search throughput at 10k and 100k vehicles, through the real gateway.
 *
 *   npx tsx bench/vehicles-search.ts            # 10k and 100k, 10 connections, 10 s each
 *   npx tsx bench/vehicles-search.ts 5000 50000 --duration 5
 *
 * For each size a child process runs the embedded profile (gateway + vehicles
 * on NeDB in a temp DATA_DIR, plus a stand-in `bookings.busy` holding ~20 % of
 * the vehicles for any window), seeds the vehicles by direct inserts through
 * the store port (spread over Korea: dense around Seoul, then Busan, Incheon,
 * Daegu, Daejeon, Gwangju, Ulsan, Jeju, and a thin layer everywhere), and
 * listens. This process drives it with autocannon: renters searching around
 * points drawn from the same spread, 5 km (some 2 and 10 km), for a 2-6 hour
 * window tomorrow, first page of 20. It prints req/s and latency for each size
 * and how the cost grew with 10x the vehicles. One child at a time, so memory
 * stays that of one fleet.
 */
import { fork, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import type { ServiceSchema } from "moleculer";
import type { BusyMap } from "../lib/contracts";
import { loadConfig, setConfig } from "../lib/config";
import type { Collection } from "../lib/store";
import { createBroker } from "../lib/system";
import { gatewayUrl } from "../test/support/system";
import { cellsOf, type VehicleRecord } from "../services/vehicles/domain/model";

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { average: number; p50: number; p90: number; p99: number; max: number };
  non2xx: number;
  errors: number;
  timeouts: number;
}
type Autocannon = (opts: Record<string, unknown>) => Promise<AutocannonResult>;

const HOUR = 3_600_000;

// ---- where the vehicles (and the renters) are -----------------------------------

/** Metro areas: centre, spread (km, one standard deviation) and share of the fleet. */
const AREAS = [
  { name: "Seoul", lat: 37.5563, lng: 126.9936, sigmaKm: 9, share: 0.42 },
  { name: "Incheon", lat: 37.4563, lng: 126.7052, sigmaKm: 6, share: 0.07 },
  { name: "Suwon", lat: 37.2636, lng: 127.0286, sigmaKm: 5, share: 0.06 },
  { name: "Busan", lat: 35.1796, lng: 129.0756, sigmaKm: 7, share: 0.12 },
  { name: "Daegu", lat: 35.8714, lng: 128.6014, sigmaKm: 6, share: 0.07 },
  { name: "Daejeon", lat: 36.3504, lng: 127.3845, sigmaKm: 5, share: 0.05 },
  { name: "Gwangju", lat: 35.1595, lng: 126.8526, sigmaKm: 5, share: 0.05 },
  { name: "Ulsan", lat: 35.5384, lng: 129.3114, sigmaKm: 5, share: 0.03 },
  { name: "Jeju", lat: 33.4996, lng: 126.5312, sigmaKm: 8, share: 0.03 },
] as const;
/** The rest (~10 %) is anywhere on the mainland box. */
const MAINLAND = { south: 34.6, north: 38.2, west: 126.4, east: 129.4 };

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gaussian(r: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
}

function place(r: () => number): { lat: number; lng: number } {
  let pick = r();
  for (const a of AREAS) {
    if (pick < a.share) {
      const dLat = (gaussian(r) * a.sigmaKm) / 111.2;
      const dLng = (gaussian(r) * a.sigmaKm) / (111.2 * Math.cos((a.lat * Math.PI) / 180));
      return { lat: a.lat + dLat, lng: a.lng + dLng };
    }
    pick -= a.share;
  }
  return { lat: MAINLAND.south + r() * (MAINLAND.north - MAINLAND.south), lng: MAINLAND.west + r() * (MAINLAND.east - MAINLAND.west) };
}

const MAKES = [["Hyundai", ["Avante", "Sonata", "Grandeur", "Ioniq 5", "Tucson", "Santa Fe", "Staria"]], ["Kia", ["Morning", "Ray", "K5", "EV6", "Sorento", "Carnival"]], ["Genesis", ["G80", "GV70"]], ["Tesla", ["Model 3", "Model Y"]]] as const;
const FUELS = ["gasoline", "gasoline", "gasoline", "diesel", "hybrid", "electric", "lpg"] as const;

function vehicleRecord(i: number, r: () => number, now: string): VehicleRecord {
  const at = place(r);
  const [make, models] = MAKES[Math.floor(r() * MAKES.length)];
  const model = models[Math.floor(r() * models.length)];
  const id = `${(0x18f00000000 + i).toString(16).padStart(12, "0")}${(i * 2654435761 >>> 0).toString(16).padStart(12, "0")}`;
  const v: VehicleRecord = {
    _id: id,
    ownerId: `owner${i % 5000}`,
    driverId: null,
    status: "active",
    licensePlate: `${10 + (i % 89)}가 ${String(i).padStart(6, "0")}`,
    plateKey: `${10 + (i % 89)}가${String(i).padStart(6, "0")}`,
    make,
    makeKey: make.toLowerCase(),
    model,
    year: 2015 + Math.floor(r() * 11),
    fuelType: FUELS[Math.floor(r() * FUELS.length)],
    transmission: "automatic",
    seats: [4, 5, 5, 5, 7, 9][Math.floor(r() * 6)],
    hourlyRate: 5_000 + Math.floor(r() * 20) * 1_000,
    currency: "KRW",
    timezone: "Asia/Seoul",
    location: { address: `bench address ${i}`, ...at },
    cells: cellsOf(at.lat, at.lng),
    photos: [],
    version: 1,
    createdAt: now,
    updatedAt: now,
  };
  // One in five keeps office hours on weekdays.
  if (i % 5 === 1) v.availability = { weekly: [1, 2, 3, 4, 5].map((day) => ({ day, start: "08:00", end: "20:00" })) };
  return v;
}

/** ~20 % of vehicles are held for whatever window is asked (by a hash of the id). */
function isHeld(id: string): boolean {
  let h = 0;
  for (let i = 0; i < id.length; i++) h = (h * 31 + id.charCodeAt(i)) | 0;
  return (h >>> 0) % 5 === 0;
}

// ---- child: the system under test -----------------------------------------------

async function serve(size: number): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "carshare-bench-"));
  const cfg = setConfig(loadConfig({ PORT: "0", DATA_DIR: dataDir, LOG_LEVEL: "warn", RATE_LIMIT_PER_MINUTE: "0", SERVICES: "gateway,vehicles" }));
  const fakeBookings: ServiceSchema = {
    name: "bookings",
    actions: {
      busy: {
        visibility: "public",
        handler(ctx: any): BusyMap {
          const { vehicleIds, start, end } = ctx.params as { vehicleIds: string[]; start: string; end: string };
          return Object.fromEntries(vehicleIds.map((id) => [id, isHeld(id) ? [{ start, end }] : []]));
        },
      },
    },
  };
  const broker = createBroker(cfg, { logger: false });
  broker.createService(fakeBookings);
  await broker.start();
  const vehicles = (broker.getLocalService("vehicles") as any).vehicles.vehicles as Collection<VehicleRecord>;
  const r = rng(20261201);
  const now = new Date().toISOString();
  const seedStarted = Date.now();
  const BATCH = 1000;
  for (let i = 0; i < size; i += BATCH) {
    const batch: Promise<unknown>[] = [];
    for (let j = i; j < Math.min(size, i + BATCH); j++) batch.push(vehicles.insert(vehicleRecord(j, r, now)));
    await Promise.all(batch);
  }
  const seedMs = Date.now() - seedStarted;
  if (global.gc) global.gc();
  process.send!({ ready: true, url: gatewayUrl(broker), seedMs, rssMb: Math.round(process.memoryUsage().rss / 1e6) });
  process.on("message", async (m: any) => {
    if (m?.stop) {
      const rssMb = Math.round(process.memoryUsage().rss / 1e6);
      await broker.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
      process.send!({ stopped: true, rssMb });
      process.exit(0);
    }
  });
}

// ---- parent: the load -------------------------------------------------------------

function searchPaths(count: number): string[] {
  const r = rng(7);
  const tomorrow = Math.ceil(Date.now() / (24 * HOUR)) * 24 * HOUR + 24 * HOUR;
  const kst = (ms: number) => new Date(ms + 9 * HOUR).toISOString().replace(/\.\d{3}Z$/, "+09:00");
  return Array.from({ length: count }, () => {
    const at = place(r);
    const start = tomorrow + Math.floor(r() * 14) * HOUR; // 09:00..22:00 KST
    const end = start + (2 + Math.floor(r() * 5)) * HOUR;
    const radiusKm = [5, 5, 5, 5, 2, 10][Math.floor(r() * 6)];
    const qs = new URLSearchParams({ lat: at.lat.toFixed(5), lng: at.lng.toFixed(5), radiusKm: String(radiusKm), start: kst(start), end: kst(end) });
    return `/v1/vehicles?${qs}`;
  });
}

function startChild(size: number): Promise<{ child: ChildProcess; url: string; seedMs: number; rssMb: number }> {
  const child = fork(__filename, ["--serve", String(size)], { execArgv: [...process.execArgv, "--max-old-space-size=3072", "--expose-gc"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
  return new Promise((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`the system for ${size} vehicles exited (${code})`)));
    child.on("message", (m: any) => {
      if (m?.ready) resolve({ child, url: m.url, seedMs: m.seedMs, rssMb: m.rssMb });
    });
  });
}

function stopChild(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    child.removeAllListeners("exit");
    child.on("message", (m: any) => m?.stopped && resolve(m.rssMb));
    child.once("exit", () => resolve(NaN));
    child.send({ stop: true });
  });
}

interface Row { size: number; rps: number; p50: number; p99: number; avgMs: number; requests: number; bad: number; found: number; seedS: number; rssMb: number }

async function measure(size: number, durationS: number, autocannon: Autocannon): Promise<Row> {
  process.stdout.write(`seeding ${size.toLocaleString("en")} vehicles... `);
  const { child, url, seedMs, rssMb } = await startChild(size);
  process.stdout.write(`${(seedMs / 1000).toFixed(1)} s, rss ${rssMb} MB\n`);
  try {
    const paths = searchPaths(2000);
    // Sanity: answers are 200 and carry vehicles.
    let found = 0;
    for (const p of paths.slice(0, 50)) {
      const res = await fetch(url + p);
      if (res.status !== 200) throw new Error(`${p} -> ${res.status} ${await res.text()}`);
      found += ((await res.json()) as { items: unknown[] }).items.length;
    }
    let next = 0;
    const requests = [{ method: "GET", setupRequest: (req: { path: string }) => ({ ...req, path: paths[next++ % paths.length] }) }];
    await autocannon({ url, connections: 10, duration: 2, requests }); // warm-up
    process.stdout.write(`searching for ${durationS} s with 10 connections... `);
    const res = await autocannon({ url, connections: 10, duration: durationS, requests });
    const rssAfter = await stopChild(child);
    process.stdout.write(`${Math.round(res.requests.average)} req/s\n`);
    return {
      size, rps: res.requests.average, p50: res.latency.p50, p99: res.latency.p99, avgMs: res.latency.average, requests: res.requests.total,
      bad: res.non2xx + res.errors + res.timeouts, found: found / 50, seedS: seedMs / 1000, rssMb: Math.max(rssMb, rssAfter || 0),
    };
  } catch (err) {
    child.kill();
    throw err;
  }
}

async function main() {
  const args = process.argv.slice(2);
  const durationAt = args.indexOf("--duration");
  const durationS = durationAt >= 0 ? Number(args[durationAt + 1]) : 10;
  const sizes = args.filter((a, i) => /^\d+$/.test(a) && i !== durationAt + 1).map(Number);
  const [small, large] = sizes.length === 2 ? sizes : [10_000, 100_000];
  const autocannon = createRequire(__filename)("autocannon") as Autocannon;

  const rows = [await measure(small, durationS, autocannon), await measure(large, durationS, autocannon)];
  const fmt = (n: number, d = 0) => n.toLocaleString("en", { minimumFractionDigits: d, maximumFractionDigits: d });
  console.log("\nGET /v1/vehicles (5 km around a renter, 2-6 h window, page of 20), 10 connections, through the gateway, embedded profile (NeDB)\n");
  console.log("| vehicles | req/s | mean ms | p50 ms | p99 ms | requests | non-2xx/errors | items/page | seed s | rss MB |");
  console.log("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const r of rows) {
    console.log(`| ${fmt(r.size)} | ${fmt(r.rps)} | ${fmt(r.avgMs, 2)} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${fmt(r.requests)} | ${r.bad} | ${fmt(r.found, 1)} | ${fmt(r.seedS, 1)} | ${fmt(r.rssMb)} |`);
  }
  const [a, b] = rows;
  const dataRatio = b.size / a.size;
  const costRatio = a.rps / b.rps; // time per request at full load
  const exponent = Math.log(costRatio) / Math.log(dataRatio);
  console.log(
    `\n${fmt(dataRatio)}x the vehicles: cost per request x${fmt(costRatio, 2)} (throughput ${fmt(a.rps)} -> ${fmt(b.rps)} req/s), p99 x${fmt(b.p99 / Math.max(1, a.p99), 2)}; ` +
      `cost ~ N^${fmt(exponent, 2)} -> ${exponent < 0.5 ? "clearly sub-linear" : exponent < 1 ? "sub-linear" : "NOT sub-linear"}`,
  );
  if (rows.some((r) => r.bad > 0)) process.exitCode = 1;
}

if (process.argv[2] === "--serve") {
  serve(Number(process.argv[3])).catch((err) => {
    console.error(err);
    process.exit(1);
  });
} else {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
