/**
 * Liveness, readiness and Prometheus metrics of a process that runs no gateway
 * (the gateway serves the same paths on its own port). Plain node:http on
 * HEALTH_PORT, so orchestrators can probe every process the same way:
 *
 *   GET /health/live   200 while the process runs
 *   GET /health/ready  200 when the broker has started, is not stopping, its
 *                      transporter is connected and every registered
 *                      dependency check passes; 503 with the reasons otherwise
 *   GET /metrics       Prometheus text of this process's broker
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { ServiceBroker } from "moleculer";
import { runHealthChecks, transporterState } from "./health";
import { prometheus } from "./metrics";

export interface HealthServer {
  /** The port it listens on (the real one when asked for port 0). */
  port: number;
  close(): Promise<void>;
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  res.statusCode = status;
  res.setHeader("Content-Type", "application/json; charset=utf-8");
  res.setHeader("Cache-Control", "no-store");
  res.end(JSON.stringify(body));
}

/** Readiness of this process: the same answer shape as the gateway's /health/ready. */
export async function readiness(broker: ServiceBroker, startedOnce = false): Promise<{ ready: boolean; body: Record<string, unknown> }> {
  const b = broker as ServiceBroker & { started?: boolean; stopping?: boolean };
  // Moleculer clears `started` as soon as stop() begins, and sets `stopping` a little later.
  const lifecycle = b.started && !b.stopping ? "ok" : b.stopping || startedOnce ? "stopping" : "starting";
  const [transporter, { ok, checks }] = await Promise.all([transporterState(broker), runHealthChecks()]);
  const ready = ok && lifecycle === "ok" && transporter === "ok";
  return { ready, body: { status: ready ? "ready" : "unavailable", checks: { broker: lifecycle, transporter, ...checks } } };
}

/** Starts listening before the broker starts, so liveness answers during a slow start-up. */
export function startHealthServer(broker: ServiceBroker, port: number, host = "0.0.0.0"): Promise<HealthServer> {
  let startedOnce = Boolean((broker as ServiceBroker & { started?: boolean }).started);
  broker.localBus.once("$broker.started", () => {
    startedOnce = true;
  });
  const server = http.createServer((req, res) => {
    const url = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("Allow", "GET, HEAD");
      return json(res, 405, { error: { code: "METHOD_NOT_ALLOWED", message: "Use GET" } });
    }
    if (url === "/health/live") return json(res, 200, { status: "ok" });
    if (url === "/health/ready") {
      readiness(broker, startedOnce).then(
        ({ ready, body }) => json(res, ready ? 200 : 503, body),
        (err: Error) => json(res, 503, { status: "unavailable", checks: { error: String(err?.message ?? err) } }),
      );
      return;
    }
    if (url === "/metrics") {
      res.statusCode = 200;
      res.setHeader("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
      return res.end(prometheus.render());
    }
    json(res, 404, { error: { code: "NOT_FOUND", message: "Try /health/live, /health/ready or /metrics" } });
  });
  // Probes are short; never let a stuck client hold the process open on stop.
  server.keepAliveTimeout = 5000;
  server.requestTimeout = 10_000;
  return new Promise((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) => {
      reject(err.code === "EADDRINUSE" ? new Error(`HEALTH_PORT ${port} is in use (set HEALTH_PORT to a free port, or 0 to disable)`) : err);
    });
    server.listen(port, host, () => {
      server.removeAllListeners("error");
      server.on("error", (err) => broker.logger.error("Health server error", err));
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
