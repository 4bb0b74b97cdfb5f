/**
 * The container image's HEALTHCHECK: asks this container's own process whether
 * it is ready, on the port it serves health on (PORT when it runs the gateway,
 * else HEALTH_PORT). Exit 0 = healthy, 1 = not.
 *
 *   node dist/bin/healthcheck.js
 */
import { loadConfig } from "../lib/config";

async function main(): Promise<number> {
  const cfg = loadConfig(process.env);
  const port = cfg.services.includes("gateway") ? cfg.port : cfg.healthPort;
  if (port === 0) {
    console.log("health listener disabled (HEALTH_PORT=0): nothing to check");
    return 0;
  }
  const res = await fetch(`http://127.0.0.1:${port}/health/ready`, { signal: AbortSignal.timeout(4000) });
  const body = await res.text();
  if (res.status !== 200) console.log(`not ready (${res.status}): ${body}`);
  return res.status === 200 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    console.log(`health check failed: ${err?.message ?? err}`);
    process.exit(1);
  },
);
