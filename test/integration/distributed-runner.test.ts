/**
 * `npm run start:distributed` for real: every service as its own OS process
 * against the test run's NATS, Redis and MongoDB/FerretDB, a login through the
 * gateway, and a graceful stop of everything on SIGINT.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { ALL_SERVICES } from "../../lib/config";
import { REPO_ROOT } from "../infra/services";
import { Client, newPhone, tempDir } from "../support/system";
import { requireEnv, testNamespace } from "../support/distributed";

jest.setTimeout(240_000);

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once("error", () => resolve(false));
    srv.listen(port, "0.0.0.0", () => srv.close(() => resolve(true)));
  });
}

/** A run of `count` consecutive free ports. */
async function freePorts(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    const checks = await Promise.all(Array.from({ length: count }, (_, i) => portFree(base + i)));
    if (checks.every(Boolean)) return base;
  }
  throw new Error(`no ${count} consecutive free ports`);
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("npm run start:distributed", () => {
  const dataDir = tempDir("carshare-distributed-");
  let runner: ChildProcess;
  let output = "";
  let exited: Promise<number | null>;

  afterAll(() => {
    if (runner && runner.exitCode === null) runner.kill("SIGKILL");
    for (const m of output.matchAll(/pid (\d+)/g)) if (alive(Number(m[1]))) process.kill(Number(m[1]), "SIGKILL");
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test("when started, then every service runs as its own process, a user logs in, and SIGINT stops them all with exit code 0", async () => {
    const base = await freePorts(ALL_SERVICES.length);
    runner = spawn(process.execPath, ["--import", "tsx", path.join("bin", "distributed.ts")], {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        NATS_URL: requireEnv("NATS_URL"),
        REDIS_URL: requireEnv("REDIS_URL"),
        MONGO_URL: requireEnv("MONGO_URL"),
        NAMESPACE: testNamespace("dist"),
        DATA_DIR: dataDir,
        PORT: String(base),
        HEALTH_PORT: String(base + 1),
        LOG_LEVEL: "warn",
        RATE_LIMIT_PER_MINUTE: "0",
        JWT_SECRET: "",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    runner.stdout!.on("data", (d) => (output += d));
    runner.stderr!.on("data", (d) => (output += d));
    exited = new Promise((resolve) => runner.once("exit", (code) => resolve(code)));

    const n = ALL_SERVICES.length;
    const deadline = Date.now() + 180_000;
    while (!output.includes(`${n} of ${n} processes ready`)) {
      if (runner.exitCode !== null || Date.now() > deadline) throw new Error(`not all processes became ready:\n${output}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    // Each service in its own process, each with its own health listener.
    const pids = [...output.matchAll(/^\s+(\S+)\s+http:\/\/localhost:(\d+).*pid (\d+)$/gm)].map((m) => ({ name: m[1], port: Number(m[2]), pid: Number(m[3]) }));
    expect(pids.map((p) => p.name).sort()).toEqual([...ALL_SERVICES].sort());
    expect(new Set(pids.map((p) => p.pid)).size).toBe(n);
    for (const p of pids) expect((await fetch(`http://127.0.0.1:${p.port}/health/ready`)).status).toBe(200);
    expect(fs.readFileSync(path.join(dataDir, "secrets", "distributed-jwt.key"), "utf8").length).toBeGreaterThanOrEqual(32);

    // A login crosses gateway -> auth -> notifications (Bull) -> outbox.
    const api = new Client(`http://127.0.0.1:${base}`);
    const phone = newPhone();
    const otp = await api.post("/v1/auth/otp/request", { phone });
    expect({ status: otp.status, body: otp.body, output: otp.status === 202 ? "" : output }).toEqual({ status: 202, body: expect.anything(), output: "" });
    const outbox = path.join(dataDir, "outbox", "sms.jsonl");
    let code: string | undefined;
    for (let i = 0; i < 100 && !code; i++) {
      const lines = fs.existsSync(outbox) ? fs.readFileSync(outbox, "utf8").trim().split("\n") : [];
      code = lines.map((l) => JSON.parse(l)).find((m) => m.to === phone)?.body.match(/\b(\d{6})\b/)?.[1];
      if (!code) await new Promise((r) => setTimeout(r, 100));
    }
    expect(code).toBeDefined();
    const login = await api.post("/v1/auth/otp/verify", { phone, code });
    expect(login.status).toBe(200);
    expect((await api.get("/v1/auth/me", login.body.accessToken)).body.phone).toBe(phone);

    runner.kill("SIGINT");
    expect(await exited).toBe(0);
    expect(output).toMatch(/\[distributed\] stopped/);
    expect(output).not.toMatch(/exited with errors|did not stop/);
    // One stop per process: a second, parallel one (Moleculer's own signal handler) drained NATS twice.
    expect(output).not.toMatch(/CONNECTION_DRAINING/);
    for (const p of pids) expect(alive(p.pid)).toBe(false);
  });
});
