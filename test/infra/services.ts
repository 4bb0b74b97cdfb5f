/**
 * Finds or starts the real dependencies the integration tests need: NATS (with
 * JetStream), Redis and MongoDB (FerretDB stand-in on machines without MongoDB).
 *
 * Resolution order, per dependency:
 *   1. `NATS_URL` / `REDIS_URL` / `MONGO_URL` from the environment (checked, never started).
 *   2. A Docker engine (`docker info` exits 0): testcontainers for whatever is missing.
 *   3. Local servers: NATS on 127.0.0.1:4222 and Redis on 127.0.0.1:6379 (started with the
 *      machine's daemons if down), and FerretDB built from test/infra/ferretdb and started
 *      on a free port with a throw-away SQLite directory.
 *
 * It never skips: anything missing makes `ensureInfra()` throw an `InfraError` that says
 * what is missing and how to fix it.
 */
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import type { StartedTestContainer } from "testcontainers";

export type MongoKind = "env" | "docker" | "ferretdb";

export interface Infra {
  natsUrl: string;
  redisUrl: string;
  mongoUrl: string;
  /** Where each URL came from: "env", "docker" or "local" (mongo: "ferretdb"). */
  sources: { nats: string; redis: string; mongo: MongoKind };
  /** Stops what this call started (containers, FerretDB). Shared local NATS/Redis daemons are left running. */
  stop(): Promise<void>;
}

export class InfraError extends Error {
  constructor(message: string) {
    super(`[test-infra] ${message}`);
    this.name = "InfraError";
  }
}

export const REPO_ROOT = path.resolve(__dirname, "..", "..");
const FERRET_SRC = path.join(REPO_ROOT, "test", "infra", "ferretdb");
export const FERRET_BIN = path.join(REPO_ROOT, ".test-infra", "bin", "ferretdb");

/** The machine's own servers, and how ensureInfra() starts them (exported for tests that restart them). */
export const LOCAL_NATS = { host: "127.0.0.1", port: 4222 };
export const LOCAL_REDIS = { host: "127.0.0.1", port: 6379 };

export const REDIS_START = [
  "redis-server",
  ["--daemonize", "yes", "--bind", "127.0.0.1", "-::1", "--port", "6379", "--save", "", "--appendonly", "no",
    "--dir", "/var/lib/redis", "--logfile", "/var/log/redis/ci.log"],
] as const;
export const NATS_BIN = "/usr/sbin/nats-server";
export const NATS_START = [
  "start-stop-daemon",
  ["--start", "--oknodo", "--background", "--exec", NATS_BIN, "--",
    "-a", "127.0.0.1", "-p", "4222", "-js", "-sd", "/var/lib/nats-server", "-l", "/var/log/nats-server.log"],
] as const;

const log = (msg: string): void => {
  process.stderr.write(`[test-infra] ${msg}\n`);
};

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------
// Low-level probes

/** Opens a TCP connection, optionally writes `send`, and resolves with the first bytes received (or "" if `expectData` is false). */
function tcpExchange(host: string, port: number, opts: { send?: string; expectData: boolean; timeoutMs?: number }): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host, port });
    let buf = "";
    const done = (err: Error | null, value = ""): void => {
      sock.removeAllListeners();
      sock.on("error", () => undefined);
      sock.destroy();
      if (err) reject(err);
      else resolve(value);
    };
    sock.setTimeout(opts.timeoutMs ?? 2000, () => done(new Error(`timeout talking to ${host}:${port}`)));
    sock.once("error", (e) => done(e));
    sock.once("connect", () => {
      if (opts.send) sock.write(opts.send);
      if (!opts.expectData) done(null);
    });
    sock.on("data", (d) => {
      buf += d.toString("utf8");
      if (buf.includes("\r\n") || buf.includes("\n")) done(null, buf);
    });
    sock.once("end", () => (buf ? done(null, buf) : done(new Error(`${host}:${port} closed the connection without data`))));
  });
}

export async function portAcceptsConnections(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  try {
    await tcpExchange(host, port, { expectData: false, timeoutMs });
    return true;
  } catch {
    return false;
  }
}

/** Returns null if Redis answers PING with PONG, else a reason. */
async function probeRedis(host: string, port: number): Promise<string | null> {
  try {
    const reply = await tcpExchange(host, port, { send: "PING\r\n", expectData: true });
    if (reply.startsWith("+PONG")) return null;
    return `unexpected reply to PING: ${JSON.stringify(reply.slice(0, 120))}`;
  } catch (e) {
    return (e as Error).message;
  }
}

/** Returns null if a NATS server with JetStream answers, else a reason. */
async function probeNats(host: string, port: number): Promise<string | null> {
  let line: string;
  try {
    line = await tcpExchange(host, port, { expectData: true });
  } catch (e) {
    return (e as Error).message;
  }
  if (!line.startsWith("INFO ")) return `not a NATS server (first line: ${JSON.stringify(line.slice(0, 80))})`;
  let info: Record<string, unknown>;
  try {
    info = JSON.parse(line.slice(5).trim()) as Record<string, unknown>;
  } catch {
    return `unparseable NATS INFO line: ${JSON.stringify(line.slice(0, 120))}`;
  }
  // nats-server omits "jetstream" when it is disabled, so absence means "no JetStream".
  if (info.jetstream !== true) {
    return `NATS ${String(info.version ?? "?")} answers but JetStream is not enabled (start nats-server with -js)`;
  }
  return null;
}

// ---------------------------------------------------------------------------------------
// Client-level checks (used for URLs given through the environment, which may carry auth)

async function checkNatsUrl(url: string): Promise<void> {
  const { connect } = await import("nats");
  let nc;
  try {
    nc = await connect({ servers: url.split(",").map((s) => s.trim()), timeout: 5000, reconnect: false });
  } catch (e) {
    throw new InfraError(`NATS_URL=${url} does not answer: ${(e as Error).message}. Fix the URL or unset NATS_URL to use a local/docker server.`);
  }
  try {
    await nc.jetstreamManager({ timeout: 5000 });
  } catch (e) {
    throw new InfraError(`NATS_URL=${url} answers but JetStream is unavailable (${(e as Error).message}). Run nats-server with -js.`);
  } finally {
    await nc.close();
  }
}

async function checkRedisUrl(url: string): Promise<void> {
  const { default: Redis } = await import("ioredis");
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 5000 });
  client.on("error", () => undefined);
  try {
    await client.connect();
    const pong = await client.ping();
    if (pong !== "PONG") throw new Error(`PING returned ${pong}`);
  } catch (e) {
    throw new InfraError(`REDIS_URL=${url} does not answer: ${(e as Error).message}. Fix the URL or unset REDIS_URL.`);
  } finally {
    client.disconnect();
  }
}

/** Resolves null when `ping` succeeds, else the error message. */
async function mongoPing(url: string, timeoutMs: number): Promise<string | null> {
  const { MongoClient } = await import("mongodb");
  const client = new MongoClient(url, { serverSelectionTimeoutMS: timeoutMs, connectTimeoutMS: timeoutMs });
  try {
    await client.db("admin").command({ ping: 1 });
    return null;
  } catch (e) {
    return (e as Error).message;
  } finally {
    await client.close().catch(() => undefined);
  }
}

async function checkMongoUrl(url: string): Promise<void> {
  const err = await mongoPing(url, 5000);
  if (err) throw new InfraError(`MONGO_URL=${url} does not answer ping: ${err}. Fix the URL or unset MONGO_URL.`);
}

// ---------------------------------------------------------------------------------------
// Docker / testcontainers

function dockerAvailable(): boolean {
  try {
    const r = spawnSync("docker", ["info"], { stdio: "ignore", timeout: 10_000 });
    return r.status === 0;
  } catch {
    return false;
  }
}

async function startContainers(need: { nats: boolean; redis: boolean; mongo: boolean }): Promise<{
  natsUrl?: string;
  redisUrl?: string;
  mongoUrl?: string;
  containers: StartedTestContainer[];
}> {
  const { GenericContainer, Wait } = await import("testcontainers");
  const containers: StartedTestContainer[] = [];
  const out: { natsUrl?: string; redisUrl?: string; mongoUrl?: string } = {};
  try {
    const starts: Promise<void>[] = [];
    if (need.nats) {
      starts.push(
        new GenericContainer("nats:2.10")
          .withCommand(["-js"])
          .withExposedPorts(4222)
          .withWaitStrategy(Wait.forLogMessage(/Server is ready/))
          .start()
          .then((c) => {
            containers.push(c);
            out.natsUrl = `nats://${c.getHost()}:${c.getMappedPort(4222)}`;
          }),
      );
    }
    if (need.redis) {
      starts.push(
        new GenericContainer("redis:7")
          .withExposedPorts(6379)
          .withWaitStrategy(Wait.forLogMessage(/Ready to accept connections/))
          .start()
          .then((c) => {
            containers.push(c);
            out.redisUrl = `redis://${c.getHost()}:${c.getMappedPort(6379)}`;
          }),
      );
    }
    if (need.mongo) {
      starts.push(
        new GenericContainer("mongo:7")
          .withExposedPorts(27017)
          .withWaitStrategy(Wait.forLogMessage(/Waiting for connections/))
          .start()
          .then((c) => {
            containers.push(c);
            out.mongoUrl = `mongodb://${c.getHost()}:${c.getMappedPort(27017)}/`;
          }),
      );
    }
    await Promise.all(starts);
  } catch (e) {
    await Promise.all(containers.map((c) => c.stop().catch(() => undefined)));
    throw new InfraError(`Docker answers but starting test containers failed: ${(e as Error).message}`);
  }
  return { ...out, containers };
}

// ---------------------------------------------------------------------------------------
// Local NATS / Redis

function commandExists(cmd: string): boolean {
  if (cmd.includes("/")) return fs.existsSync(cmd);
  return (process.env.PATH ?? "").split(path.delimiter).some((dir) => dir && fs.existsSync(path.join(dir, cmd)));
}

async function waitFor(probe: () => Promise<string | null>, timeoutMs: number): Promise<string | null> {
  const deadline = Date.now() + timeoutMs;
  let reason: string | null = "not probed";
  while (Date.now() < deadline) {
    reason = await probe();
    if (reason === null) return null;
    await sleep(250);
  }
  return reason;
}

async function ensureLocal(
  name: string,
  addr: { host: string; port: number },
  probe: (host: string, port: number) => Promise<string | null>,
  start: readonly [string, readonly string[]],
  requiredBinaries: string[],
  scheme: string,
): Promise<string> {
  const url = `${scheme}://${addr.host}:${addr.port}`;
  const first = await probe(addr.host, addr.port);
  if (first === null) return url;

  const startLine = `${start[0]} ${start[1].map((a) => (a === "" || /\s/.test(a) ? JSON.stringify(a) : a)).join(" ")}`;
  if (await portAcceptsConnections(addr.host, addr.port)) {
    // Something answers on the port but it is not what we need; starting another server would not help.
    throw new InfraError(`${name} at ${addr.host}:${addr.port} is not usable: ${first}. Stop whatever holds the port and run: ${startLine}`);
  }
  const missing = requiredBinaries.filter((b) => !commandExists(b));
  if (missing.length > 0) {
    throw new InfraError(
      `${name} is not running on ${addr.host}:${addr.port} (${first}) and cannot be started here: missing ${missing.join(", ")}. ` +
        `Install it, start a Docker engine, or set ${name.toUpperCase()}_URL.`,
    );
  }
  log(`${name} not answering on ${addr.host}:${addr.port}; starting it: ${startLine}`);
  const r = spawnSync(start[0], [...start[1]], { encoding: "utf8", timeout: 15_000 });
  if (r.error || r.status !== 0) {
    throw new InfraError(
      `starting ${name} failed (exit ${r.status ?? "?"}${r.error ? `, ${r.error.message}` : ""}): ${(r.stderr || r.stdout || "").trim()}. Command: ${startLine}`,
    );
  }
  const reason = await waitFor(() => probe(addr.host, addr.port), 10_000);
  if (reason !== null) {
    throw new InfraError(`${name} was started but still does not answer on ${addr.host}:${addr.port} after 10 s: ${reason}. Check its log. Command: ${startLine}`);
  }
  return url;
}

// ---------------------------------------------------------------------------------------
// FerretDB

function mtimeMs(p: string): number {
  try {
    return fs.statSync(p).mtimeMs;
  } catch {
    return -1;
  }
}

/** Runs a command without blocking the event loop; resolves with its exit status and combined output. */
function run(cmd: string, args: string[], cwd: string, timeoutMs: number): Promise<{ status: number | null; output: string; error?: Error }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const keep = (d: Buffer): void => {
      output = (output + d.toString("utf8")).slice(-20_000);
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("error", (error) => {
      clearTimeout(timer);
      resolve({ status: null, output, error });
    });
    child.once("close", (status) => {
      clearTimeout(timer);
      resolve({ status, output });
    });
  });
}

/** Builds .test-infra/bin/ferretdb if it is missing or older than its sources. Resolves with the build time in ms (0 if cached). */
export async function ensureFerretBinary(): Promise<number> {
  const sources = ["main.go", "go.mod", "go.sum"].map((f) => path.join(FERRET_SRC, f));
  for (const s of sources) {
    if (!fs.existsSync(s)) throw new InfraError(`FerretDB launcher source ${s} is missing (it is part of the repository).`);
  }
  const binTime = mtimeMs(FERRET_BIN);
  if (binTime >= 0 && sources.every((s) => mtimeMs(s) <= binTime)) return 0;

  if (!commandExists("go")) {
    throw new InfraError(
      `MongoDB is needed for the integration tests and neither MONGO_URL nor a Docker engine is available, ` +
        `so the FerretDB stand-in must be built from test/infra/ferretdb, but \`go\` is not on PATH. ` +
        `Install Go >= 1.24 (https://go.dev/dl/), or set MONGO_URL=mongodb://..., or start Docker.`,
    );
  }
  fs.mkdirSync(path.dirname(FERRET_BIN), { recursive: true });
  // Build to a unique temp name and rename, so concurrent runs never execute a half-written binary.
  const tmp = `${FERRET_BIN}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  log(`${binTime < 0 ? "building" : "rebuilding (sources changed)"} FerretDB launcher -> ${path.relative(REPO_ROOT, FERRET_BIN)} (a cold build takes about a minute)...`);
  const t0 = Date.now();
  const r = await run("go", ["build", "-o", tmp, "."], FERRET_SRC, 15 * 60_000);
  if (r.error || r.status !== 0) {
    fs.rmSync(tmp, { force: true });
    throw new InfraError(
      `building the FerretDB launcher failed (exit ${r.status ?? "?"}${r.error ? `, ${r.error.message}` : ""}):\n${r.output.trim()}\n` +
        `Reproduce with: cd test/infra/ferretdb && go build -o ../../../.test-infra/bin/ferretdb .`,
    );
  }
  fs.renameSync(tmp, FERRET_BIN);
  const ms = Date.now() - t0;
  log(`FerretDB launcher built in ${(ms / 1000).toFixed(1)} s`);
  return ms;
}

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error("could not get a free port"))));
    });
  });
}

interface RunningFerret {
  url: string;
  stop(): Promise<void>;
}

const FERRET_TMP_PREFIX = "carshare-ferretdb-";

/** Removes temp dirs left by runs that were killed without cleanup (their FerretDB is gone). */
function removeStaleFerretDirs(): void {
  let entries: string[] = [];
  try {
    entries = fs.readdirSync(os.tmpdir()).filter((e) => e.startsWith(FERRET_TMP_PREFIX));
  } catch {
    return;
  }
  for (const e of entries) {
    const dir = path.join(os.tmpdir(), e);
    try {
      const pid = Number(fs.readFileSync(path.join(dir, "pid"), "utf8"));
      try {
        process.kill(pid, 0);
        continue; // still running (another test run)
      } catch {
        // not running: stale
      }
    } catch {
      // no pid file: only remove if clearly old (a concurrent run may be between mkdtemp and writing it)
      if (Date.now() - mtimeMs(dir) < 60 * 60_000) continue;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** `keepDir`: keep FerretDB's data there across runs (bin/distributed.ts) instead of a throw-away temp folder. */
async function startFerret(keepDir?: string): Promise<RunningFerret> {
  await ensureFerretBinary();
  removeStaleFerretDirs();
  let lastErr = "";
  // A port found free can be taken before FerretDB binds it; retry a couple of times.
  for (let attempt = 1; attempt <= 3; attempt++) {
    const port = await freePort();
    const dataDir = keepDir ? (fs.mkdirSync(keepDir, { recursive: true }), keepDir) : fs.mkdtempSync(path.join(os.tmpdir(), FERRET_TMP_PREFIX));
    const child = spawn(FERRET_BIN, ["-listen", `127.0.0.1:${port}`, "-sqlite-dir", path.join(dataDir, "data"), "-exit-on-stdin-eof"], {
      // stdin is a pipe we never write: if this process dies without cleanup, the pipe closes and FerretDB exits.
      stdio: ["pipe", "pipe", "pipe"],
      // Its own process group: a terminal's Ctrl-C must not stop it before the processes that use it.
      detached: true,
    });
    if (child.pid) fs.writeFileSync(path.join(dataDir, "pid"), String(child.pid));
    let output = "";
    const keep = (d: Buffer): void => {
      output = (output + d.toString("utf8")).slice(-8000);
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    let exited: { code: number | null; signal: NodeJS.Signals | null } | null = null;
    let spawnError: Error | null = null;
    const exitPromise = new Promise<void>((resolve) => {
      child.once("exit", (code, signal) => {
        exited = { code, signal };
        resolve();
      });
      child.once("error", (e) => {
        spawnError = e;
        exited = { code: null, signal: null };
        resolve();
      });
    });
    const url = `mongodb://127.0.0.1:${port}/`;

    const stop = async (): Promise<void> => {
      if (!exited) {
        child.kill("SIGTERM");
        const t = setTimeout(() => child.kill("SIGKILL"), 5000);
        await exitPromise;
        clearTimeout(t);
      }
      child.stdin?.destroy();
      if (keepDir) fs.rmSync(path.join(dataDir, "pid"), { force: true });
      else fs.rmSync(dataDir, { recursive: true, force: true });
    };

    const deadline = Date.now() + 20_000;
    let reason: string | null = "not started";
    while (Date.now() < deadline && !exited) {
      if (await portAcceptsConnections("127.0.0.1", port, 500)) {
        reason = await mongoPing(url, 2000);
        if (reason === null) break;
      } else {
        reason = "port not accepting connections yet";
      }
      await sleep(100);
    }
    if (reason === null && !exited) {
      // Don't let a crashed FerretDB go unnoticed mid-run.
      let stopping = false;
      child.once("exit", (code, signal) => {
        if (!stopping) log(`FerretDB exited unexpectedly (code ${code}, signal ${signal}). Last output:\n${output}`);
      });
      return {
        url,
        stop: async () => {
          stopping = true;
          await stop();
        },
      };
    }
    await stop();
    const ex = exited as { code: number | null; signal: NodeJS.Signals | null } | null;
    lastErr = spawnError
      ? `could not execute ${FERRET_BIN}: ${(spawnError as Error).message}`
      : ex
        ? `FerretDB exited during start-up (code ${ex.code}, signal ${ex.signal}). Output:\n${output}`
        : `FerretDB did not answer ping on ${url} within 20 s (${reason}). Output:\n${output}`;
    if (!/address already in use/i.test(output)) break;
    log(`port ${port} was taken, retrying (attempt ${attempt})`);
  }
  throw new InfraError(`${lastErr}\nDelete ${FERRET_BIN} to force a rebuild, or set MONGO_URL.`);
}

// ---------------------------------------------------------------------------------------

const CHROMIUM = process.env.CHROMIUM_PATH?.trim() || "/usr/bin/chromium";

/** Debian's chromium for the driver-page browser test: installed when missing (needs root and Debian's packages). */
export function ensureChromium(): void {
  if (fs.existsSync(CHROMIUM)) return;
  if (process.getuid?.() !== 0) throw new InfraError(`${CHROMIUM} is missing: run \`apt-get install -y chromium\` as root (or set CHROMIUM_PATH)`);
  log("installing Debian's chromium for the browser tests (apt-get, a few minutes)...");
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  for (const args of [["update"], ["install", "-y", "--no-install-recommends", "chromium"]]) {
    const r = spawnSync("apt-get", args, { stdio: "inherit", env, timeout: 900_000 });
    if (r.status !== 0) throw new InfraError(`apt-get ${args.join(" ")} failed (exit ${r.status}); install chromium by hand`);
  }
  if (!fs.existsSync(CHROMIUM)) throw new InfraError(`apt-get installed chromium but ${CHROMIUM} is not there`);
}

/** Finds or starts NATS (JetStream), Redis and MongoDB/FerretDB. Throws InfraError if any of them is unavailable. */
export interface InfraOptions {
  /** Install Chromium for the browser tests (default true). */
  browser?: boolean;
  /** Keep a locally started FerretDB's data in this folder (default: a throw-away temp folder). */
  ferretDataDir?: string;
}

export async function ensureInfra(options: InfraOptions = {}): Promise<Infra> {
  if (options.browser !== false) ensureChromium();
  const env = {
    nats: process.env.NATS_URL?.trim() || undefined,
    redis: process.env.REDIS_URL?.trim() || undefined,
    mongo: process.env.MONGO_URL?.trim() || undefined,
  };
  const stoppers: Array<() => Promise<void>> = [];
  const stop = async (): Promise<void> => {
    const fns = stoppers.splice(0).reverse();
    for (const fn of fns) await fn().catch((e: Error) => log(`cleanup failed: ${e.message}`));
  };

  try {
    // 1. Explicit URLs.
    await Promise.all([env.nats && checkNatsUrl(env.nats), env.redis && checkRedisUrl(env.redis), env.mongo && checkMongoUrl(env.mongo)]);
    let natsUrl = env.nats;
    let redisUrl = env.redis;
    let mongoUrl = env.mongo;
    const sources = { nats: "env", redis: "env", mongo: "env" as MongoKind };

    // 2. Docker.
    if ((!natsUrl || !redisUrl || !mongoUrl) && dockerAvailable()) {
      log("Docker engine found; starting containers with testcontainers");
      const c = await startContainers({ nats: !natsUrl, redis: !redisUrl, mongo: !mongoUrl });
      stoppers.push(async () => {
        await Promise.all(c.containers.map((x) => x.stop()));
      });
      if (!natsUrl) [natsUrl, sources.nats] = [c.natsUrl, "docker"];
      if (!redisUrl) [redisUrl, sources.redis] = [c.redisUrl, "docker"];
      if (!mongoUrl) [mongoUrl, sources.mongo] = [c.mongoUrl, "docker"];
    }

    // 3. Local servers.
    const local: Promise<void>[] = [];
    if (!natsUrl) {
      local.push(
        ensureLocal("nats", LOCAL_NATS, probeNats, NATS_START, ["start-stop-daemon", NATS_BIN], "nats").then((u) => {
          [natsUrl, sources.nats] = [u, "local"];
        }),
      );
    }
    if (!redisUrl) {
      local.push(
        ensureLocal("redis", LOCAL_REDIS, probeRedis, REDIS_START, ["redis-server"], "redis").then((u) => {
          [redisUrl, sources.redis] = [u, "local"];
        }),
      );
    }
    if (!mongoUrl) {
      local.push(
        startFerret(options.ferretDataDir).then((f) => {
          stoppers.push(f.stop);
          [mongoUrl, sources.mongo] = [f.url, "ferretdb"];
        }),
      );
    }
    const results = await Promise.allSettled(local);
    const failures = results.filter((r): r is PromiseRejectedResult => r.status === "rejected").map((r) => (r.reason as Error).message.replace(/^\[test-infra\] /, ""));
    if (failures.length > 0) throw new InfraError(`integration test infrastructure is not available:\n  - ${failures.join("\n  - ")}`);

    if (!natsUrl || !redisUrl || !mongoUrl) throw new InfraError("internal error: a URL is still unresolved");
    return { natsUrl, redisUrl, mongoUrl, sources, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

// Exported for ad-hoc use (e.g. a future `infra:check` script).
export { probeNats, probeRedis, mongoPing };
