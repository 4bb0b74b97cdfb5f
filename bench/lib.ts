/** Shared by the benchmarks: start carshare (or the baseline) as child processes, log in, measure with autocannon. */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import autocannon from "autocannon";
import { Client, loginByOtp } from "../test/support/system";
import { freePort } from "../test/infra/services";

const ROOT = path.resolve(__dirname, "..");

export interface Running { url: string; dataDir: string; api: Client; stop(): Promise<void> }
export interface Measured { name: string; rps: number; p50: number; p99: number; errors: number; non2xx: number }


function startProcess(script: string, env: Record<string, string>, readyWhen: (line: string) => boolean): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, script)], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    const timer = setTimeout(() => reject(new Error(`${script} did not start:\n${out}`)), 60_000);
    const onData = (d: Buffer) => {
      out += d;
      if (out.split("\n").some(readyWhen)) {
        clearTimeout(timer);
        resolve(child);
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", (d) => (out += d));
    child.on("exit", (code) => reject(new Error(`${script} exited with ${code}:\n${out}`)));
  });
}

async function stopAll(children: ChildProcess[]) {
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null) return resolve();
          c.once("exit", () => resolve());
          c.kill("SIGTERM");
          setTimeout(() => c.kill("SIGKILL"), 15_000).unref();
        }),
    ),
  );
}

// One load generator is one IP: the per-IP limits would measure themselves.
const QUIET = { LOG_LEVEL: "warn", RATE_LIMIT_PER_MINUTE: "0", DRIVER_LINK_RATE_LIMIT: "0", OTP_PHONE_LIMIT: "1000", OTP_IP_LIMIT: "100000" };

export async function startEmbedded(extraEnv: Record<string, string> = {}): Promise<Running> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "carshare-bench-"));
  const port = await freePort();
  const child = await startProcess("bin/carshare.ts", { ...QUIET, ...extraEnv, PORT: String(port), DATA_DIR: dataDir }, (l) => l.includes("profile running"));
  const url = `http://127.0.0.1:${port}`;
  return { url, dataDir, api: new Client(url), stop: async () => { await stopAll([child]); fs.rmSync(dataDir, { recursive: true, force: true }); } };
}

/** One OS process per service group, over NATS, Redis and MongoDB. */
export async function startDistributed(infra: { natsUrl: string; redisUrl: string; mongoUrl: string }, groups: string[][], extraEnv: Record<string, string> = {}): Promise<Running> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "carshare-bench-"));
  const port = await freePort();
  const env = {
    ...QUIET,
    ...extraEnv,
    TRANSPORTER: infra.natsUrl,
    REDIS_URL: infra.redisUrl,
    MONGO_URL: infra.mongoUrl,
    JWT_SECRET: "bench-secret-".padEnd(48, "b"),
    NAMESPACE: `bench-${Date.now().toString(36)}`,
    DATA_DIR: dataDir,
  };
  const children: ChildProcess[] = [];
  try {
    for (const [i, services] of groups.entries()) {
      const gw = services.includes("gateway");
      children.push(await startProcess("bin/carshare.ts", { ...env, SERVICES: services.join(","), NODE_ID: `bench-${i}-${services.join("-")}`, PORT: gw ? String(port) : "0", HEALTH_PORT: "0" }, (l) => l.includes("profile running")));
    }
  } catch (err) {
    await stopAll(children);
    throw err;
  }
  const url = `http://127.0.0.1:${port}`;
  const api = new Client(url);
  // Wait until every group has joined the gateway's registry.
  for (let i = 0; i < 100; i++) {
    if ((await api.get("/health/ready").catch(() => ({ status: 0 }))).status === 200 && (await api.post("/v1/auth/otp/request", { phone: "+821000000000" }).catch(() => ({ status: 0 }))).status === 202) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  return { url, dataDir, api, stop: async () => { await stopAll(children); fs.rmSync(dataDir, { recursive: true, force: true }); } };
}

export async function startBaseline(): Promise<Running & { path: string }> {
  let port = 0;
  const child = await startProcess("bench/baseline.ts", {}, (l) => {
    const m = /^listening (\d+)/.exec(l);
    if (m) port = Number(m[1]);
    return Boolean(m);
  });
  const url = `http://127.0.0.1:${port}`;
  return { url, dataDir: "", api: new Client(url), path: "/echo", stop: () => stopAll([child]) };
}

export async function token(sys: Running): Promise<string> {
  return (await loginByOtp(sys)).accessToken;
}

export async function measure(name: string, opts: autocannon.Options): Promise<Measured> {
  // A fixed `amount` of requests, when given, replaces the duration.
  const r = await autocannon({ connections: 50, ...(opts.amount ? {} : { duration: Number(process.env.BENCH_SECONDS ?? 10) }), ...opts });
  // Completed requests over the measured time: right for short fixed-amount runs too.
  return { name, rps: Math.round(r.requests.total / r.duration), p50: r.latency.p50, p99: r.latency.p99, errors: r.errors, non2xx: r.non2xx };
}

export function table(rows: Measured[]): string {
  const head = ["case", "req/s", "p50 ms", "p99 ms", "errors", "non-2xx"];
  const lines = rows.map((r) => [r.name, String(r.rps), String(r.p50), String(r.p99), String(r.errors), String(r.non2xx)]);
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (cols: string[]) => cols.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  return [fmt(head), fmt(widths.map((w) => "-".repeat(w))), ...lines.map(fmt)].join("\n");
}
