import { ServiceBroker } from "moleculer";
import { registerHealthCheck, unregisterHealthCheck } from "./health";
import { startHealthServer, type HealthServer } from "./health-server";
import { prometheus } from "./metrics";

async function get(port: number, path: string, method = "GET"): Promise<{ status: number; body: any; type: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { method });
  const text = await res.text();
  const type = res.headers.get("content-type") ?? "";
  return { status: res.status, body: type.includes("json") ? JSON.parse(text) : text, type };
}

describe("the health and metrics listener of a process without a gateway", () => {
  let broker: ServiceBroker;
  let server: HealthServer;

  beforeEach(async () => {
    broker = new ServiceBroker({ logger: false, metrics: { enabled: true, reporter: [prometheus as any] } });
    broker.createService({ name: "probe", actions: { ping: () => "pong" } });
    server = await startHealthServer(broker, 0, "127.0.0.1");
  });

  afterEach(async () => {
    unregisterHealthCheck("probe.db");
    await server.close();
    if (broker.started) await broker.stop();
  });

  test("when the broker has not started yet, then it is live but not ready", async () => {
    expect((await get(server.port, "/health/live")).status).toBe(200);
    const ready = await get(server.port, "/health/ready");
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({ status: "unavailable", checks: { broker: "starting" } });
  });

  test("when the broker runs and its dependencies answer, then it is ready", async () => {
    await broker.start();
    registerHealthCheck("probe.db", async () => undefined);
    const ready = await get(server.port, "/health/ready");
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: "ready", checks: { broker: "ok", transporter: "ok", "probe.db": "ok" } });
  });

  test("when a dependency is down, then it is not ready and says which one", async () => {
    await broker.start();
    registerHealthCheck("probe.db", async () => {
      throw new Error("connection refused");
    });
    const ready = await get(server.port, "/health/ready");
    expect(ready.status).toBe(503);
    expect(ready.body.checks).toMatchObject({ broker: "ok", "probe.db": "connection refused" });
  });

  test("when the broker stops, then it is no longer ready", async () => {
    await broker.start();
    await broker.stop();
    const ready = await get(server.port, "/health/ready");
    expect(ready.status).toBe(503);
    expect(ready.body.checks.broker).toBe("stopping");
  });

  test("when metrics are asked, then Prometheus text of this broker comes back", async () => {
    await broker.start();
    await broker.call("probe.ping");
    const m = await get(server.port, "/metrics");
    expect(m.status).toBe(200);
    expect(m.type).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(m.body).toMatch(/^# TYPE moleculer_request_total counter$/m);
    expect(m.body).toMatch(/^moleculer_request_total\{[^}]*action="probe\.ping"[^}]*\} 1$/m);
  });

  test("when another path or method is used, then 404 or 405", async () => {
    expect((await get(server.port, "/v1/anything")).status).toBe(404);
    expect((await get(server.port, "/health/ready", "POST")).status).toBe(405);
  });

  test("when the port is taken, then starting says which variable to change", async () => {
    await expect(startHealthServer(broker, server.port, "127.0.0.1")).rejects.toThrow(/HEALTH_PORT \d+ is in use/);
  });
});
