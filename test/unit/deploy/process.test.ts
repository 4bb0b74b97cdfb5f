/**
 * What the container image runs: `npm run build`'s output, started as a
 * non-gateway process the way a container starts it (node dist/bin/carshare.js,
 * SERVICES=..., HEALTH_PORT=...). It serves health and metrics on its own
 * port, answers the image's HEALTHCHECK, and stops gracefully on SIGTERM.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { REPO_ROOT } from "../../infra/services";

jest.setTimeout(120_000);


function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

async function waitForStatus(url: string, want: number, child: ChildProcess, output: () => string, timeoutMs = 60_000): Promise<Response> {
  const deadline = Date.now() + timeoutMs;
  let last = "no answer";
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the process exited (${child.exitCode}) before ${url} answered ${want}:\n${output()}`);
    try {
      const res = await fetch(url);
      if (res.status === want) return res;
      last = `${res.status} ${await res.text()}`;
    } catch (e) {
      last = (e as Error).message;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} did not answer ${want} within ${timeoutMs} ms (last: ${last}):\n${output()}`);
}

describe("the built image entry point, as a non-gateway process", () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "carshare-process-"));
  const OUT = fs.mkdtempSync(path.join(os.tmpdir(), "carshare-dist-"));
  let child: ChildProcess | undefined;
  let output = "";
  let env: NodeJS.ProcessEnv;
  let port: number;

  beforeAll(async () => {
    // Exactly what the Dockerfile's build stage runs, into a private folder beside a link to node_modules (as in the image).
    const tsc = require.resolve("typescript/bin/tsc", { paths: [REPO_ROOT] });
    const build = spawnSync(process.execPath, [tsc, "-p", "tsconfig.build.json", "--outDir", OUT], { cwd: REPO_ROOT, encoding: "utf8", timeout: 110_000 });
    if (build.status !== 0) throw new Error(`npm run build fails:\n${build.stdout}${build.stderr}`);
    fs.symlinkSync(path.join(REPO_ROOT, "node_modules"), path.join(OUT, "node_modules"), "dir");
    port = await freePort();
    // No transporter: the embedded profile keeps this test free of infrastructure; the listener is the same.
    env = { PATH: process.env.PATH, SERVICES: "notifications", HEALTH_PORT: String(port), DATA_DIR: dataDir, LOG_LEVEL: "warn", NODE_ENV: "production" };
  }, 120_000);

  afterAll(() => {
    if (child && child.exitCode === null) child.kill("SIGKILL");
    fs.rmSync(OUT, { recursive: true, force: true });
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test("when it starts, serves probes and metrics, and gets SIGTERM, then it stops gracefully with exit code 0", async () => {
    expect(fs.existsSync(path.join(OUT, "bin", "carshare.js"))).toBe(true);
    expect(fs.existsSync(path.join(OUT, "bin", "distributed.js"))).toBe(false); // a development tool, not in the image
    child = spawn(process.execPath, [path.join(OUT, "bin", "carshare.js")], { cwd: os.tmpdir(), env, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout!.on("data", (d) => (output += d));
    child.stderr!.on("data", (d) => (output += d));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child!.once("exit", (code, signal) => resolve({ code, signal })));

    const base = `http://127.0.0.1:${port}`;
    await waitForStatus(`${base}/health/live`, 200, child, () => output);
    const ready = await waitForStatus(`${base}/health/ready`, 200, child, () => output);
    expect(await ready.json()).toEqual({ status: "ready", checks: expect.objectContaining({ broker: "ok", transporter: "ok", "notifications.db": "ok" }) });
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/^# TYPE moleculer_event_broadcast_local_total counter$/m);
    expect(metrics).toMatch(/^process_uptime [\d.]+$/m);
    expect(output).toContain(`carshare embedded profile running notifications; health and metrics on http://localhost:${port}`);

    // The image's HEALTHCHECK command, with the container's environment.
    const hc = spawnSync(process.execPath, [path.join(OUT, "bin", "healthcheck.js")], { env, encoding: "utf8", timeout: 20_000 });
    expect(hc.status).toBe(0);

    child.kill("SIGTERM");
    const { code, signal } = await exited;
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(output).not.toMatch(/timed out|Stop failed/);

    const after = spawnSync(process.execPath, [path.join(OUT, "bin", "healthcheck.js")], { env, encoding: "utf8", timeout: 20_000 });
    expect(after.status).toBe(1);
  });

  test("when HEALTH_PORT is 0, then the health check has nothing to ask and passes", () => {
    const hc = spawnSync(process.execPath, [path.join(OUT, "bin", "healthcheck.js")], { env: { ...env, HEALTH_PORT: "0" }, encoding: "utf8", timeout: 20_000 });
    expect(hc.status).toBe(0);
    expect(hc.stdout).toMatch(/HEALTH_PORT=0/);
  });
});
