/**
 * One bookings-service process for test/integration/bookings.crash.test.ts:
 * configured from its environment like a pod, prints READY once started.
 * Run with tsx; killed with SIGKILL by the test to simulate a crash.
 */
import { loadConfig, setConfig } from "../../lib/config";
import { createBroker } from "../../lib/system";

async function main() {
  const cfg = setConfig(loadConfig(process.env));
  const broker = createBroker({ ...cfg, services: ["bookings"] }, { nodeID: cfg.nodeId });
  await broker.start();
  process.stdout.write("READY\n");
  process.on("SIGTERM", () => void broker.stop().finally(() => process.exit(0)));
}

main().catch((err) => {
  process.stderr.write(`bookings node failed: ${(err as Error).stack}\n`);
  process.exit(1);
});
