/**
 * Authenticated read (`GET /v1/auth/me`) in both profiles, against a bare
 * moleculer-web echo route measured in the same run.
 */
import { ensureInfra } from "../test/infra/services";
import { measure, startBaseline, startDistributed, startEmbedded, table, token, type Measured } from "./lib";

export async function benchAuthMe(): Promise<Measured[]> {
  const rows: Measured[] = [];
  const baseline = await startBaseline();
  try {
    rows.push(await measure("baseline: moleculer-web echo", { url: baseline.url + baseline.path }));
  } finally {
    await baseline.stop();
  }

  const embedded = await startEmbedded();
  try {
    const t = await token(embedded);
    rows.push(await measure("embedded: GET /v1/auth/me", { url: embedded.url + "/v1/auth/me", headers: { authorization: `Bearer ${t}` } }));
  } finally {
    await embedded.stop();
  }

  const infra = await ensureInfra();
  try {
    const dist = await startDistributed(infra, [["gateway"], ["auth", "notifications"]]);
    try {
      const t = await token(dist);
      rows.push(await measure("distributed: GET /v1/auth/me", { url: dist.url + "/v1/auth/me", headers: { authorization: `Bearer ${t}` } }));
    } finally {
      await dist.stop();
    }
  } finally {
    await infra.stop();
  }
  return rows;
}

if (require.main === module) {
  benchAuthMe().then((rows) => {
    console.log(table(rows));
    const base = rows[0].rps;
    for (const r of rows.slice(1)) console.log(`${r.name}: ${((r.rps / base) * 100).toFixed(0)} % of the baseline's throughput`);
  });
}
