/**
 * `npm run bench`: every benchmark, one after the other (the machine has two
 * cores: running them together would measure the contention). Figures, not
 * verdicts: compare runs on the same machine. BENCH_SECONDS sets each run's
 * length (default 10); BENCH_ONLY=auth,search,bookings picks sections.
 */
import { spawnSync } from "node:child_process";
import path from "node:path";
import { benchAuthMe } from "./auth-me";
import { benchBookingFlow } from "./booking-flow";
import { table } from "./lib";

const only = (process.env.BENCH_ONLY ?? "auth,search,bookings").split(",");

async function main() {
  if (only.includes("auth")) {
    console.log("\n== authenticated read vs the bare gateway (50 connections) ==");
    const rows = await benchAuthMe();
    console.log(table(rows));
    const base = rows[0].rps;
    for (const r of rows.slice(1)) console.log(`  ${r.name}: ${((r.rps / base) * 100).toFixed(0)} % of the baseline's req/s`);
  }
  if (only.includes("search")) {
    console.log("\n== vehicle search at 10k and 100k vehicles (10 connections) ==");
    const r = spawnSync(process.execPath, ["--import", "tsx", path.join(__dirname, "vehicles-search.ts")], { stdio: "inherit" });
    if (r.status !== 0) throw new Error("vehicles-search failed");
  }
  if (only.includes("bookings")) {
    console.log("\n== booking create and driver-link submit, embedded vs distributed (50 connections) ==");
    console.log(table(await benchBookingFlow()));
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
