/**
 * Starts carshare. With no TRANSPORTER/MONGO_URL/REDIS_URL: the embedded
 * profile, every service and the gateway in this one process, data under
 * DATA_DIR. With them: the distributed profile, running the SERVICES listed.
 */
import { ConfigError, loadConfig, setConfig } from "../lib/config";
import { startHealthServer } from "../lib/health-server";
import { createBroker, stopOnSignals } from "../lib/system";

async function main() {
  let cfg;
  try {
    cfg = setConfig(loadConfig(process.env));
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  const broker = createBroker(cfg);
  stopOnSignals(broker, cfg.shutdownTimeoutMs);
  // The gateway serves health and metrics itself; any other process gets its own small listener.
  const health = !cfg.services.includes("gateway") && cfg.healthPort > 0 ? await startHealthServer(broker, cfg.healthPort) : undefined;
  await broker.start();
  // The banner is the program's own output, printed whatever LOG_LEVEL says.
  const where = cfg.services.includes("gateway")
    ? ` on http://localhost:${cfg.port} (try /health/ready and /v1/openapi.json)`
    : health
      ? `; health and metrics on http://localhost:${health.port} (/health/live, /health/ready, /metrics)`
      : "";
  console.log(`carshare ${cfg.profile} profile running ${cfg.services.join(", ")}${where}`);
  if (cfg.profile === "embedded") console.log(`Data in ${cfg.dataDir}; development SMS (OTP codes) go to ${cfg.dataDir}/outbox/sms.jsonl`);
}

main().catch((err) => {
  console.error("carshare failed to start:", err?.message ?? err);
  process.exit(1);
});
