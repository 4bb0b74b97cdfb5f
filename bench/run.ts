/**
 * `npm run bench`: every benchmark, one after the other (the machine has two
 * cores: running them together would measure the contention). Figures, not
 * verdicts: compare runs on the same machine. BENCH_SECONDS sets each run's length.
 */
import { benchAuthMe } from "./auth-me";
import { table } from "./lib";

async function main() {
  console.log("== authenticated read vs the bare gateway ==");
  const rows = await benchAuthMe();
  console.log(table(rows));
  const base = rows[0].rps;
  for (const r of rows.slice(1)) console.log(`  ${r.name}: ${((r.rps / base) * 100).toFixed(0)} % of the baseline's req/s`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
