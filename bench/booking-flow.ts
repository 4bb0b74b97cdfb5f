/**
 * Booking create and driver-link submit, embedded vs distributed (each
 * service its own OS process over NATS, Redis and MongoDB/FerretDB), same run.
 */
import { ensureInfra } from "../test/infra/services";
import { newPhone } from "../test/support/system";
import { benchCreate, benchSubmit, prepareLinks, setUp } from "./bookings";
import { startDistributed, startEmbedded, table, type Measured, type Running } from "./lib";

const LINKS = Number(process.env.BENCH_LINKS ?? 400);

async function run(label: string, start: (env: Record<string, string>) => Promise<Running>): Promise<Measured[]> {
  const adminPhone = newPhone();
  const sys = await start({ ADMIN_PHONES: adminPhone });
  try {
    const world = await setUp(sys, adminPhone);
    const create = await benchCreate(`${label}: POST /v1/bookings`, sys, world);
    console.log(`  ${label}: ${create.created} bookings created, ${create.conflicts} refused as overlapping (409)`);
    const tokens = await prepareLinks(sys, world, LINKS);
    const submit = await benchSubmit(`${label}: POST /v1/driver-links/:token/payment`, sys, tokens);
    return [create, submit];
  } finally {
    await sys.stop();
  }
}

export async function benchBookingFlow(): Promise<Measured[]> {
  const rows = await run("embedded", (env) => startEmbedded(env));
  const infra = await ensureInfra();
  try {
    const groups = [["gateway"], ["auth"], ["notifications"], ["kyc"], ["vehicles"], ["bookings"], ["payments"], ["driver-links"]];
    rows.push(...(await run("distributed", (env) => startDistributed(infra, groups, env))));
  } finally {
    await infra.stop();
  }
  return rows;
}

if (require.main === module) {
  benchBookingFlow().then((rows) => console.log(table(rows)), (err) => {
    console.error(err);
    process.exit(1);
  });
}
