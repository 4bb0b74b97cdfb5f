/**
 * `npm run start:distributed`: the distributed profile on this machine, without
 * Docker. Finds or starts NATS (JetStream), Redis and MongoDB (FerretDB built
 * and started here when no MongoDB is given) with the test infrastructure's
 * ensureInfra(), then runs every service as its own OS process plus the
 * gateway, each `node --import tsx bin/carshare.ts` with its own SERVICES.
 *
 *   PORT         the gateway's port (3000)
 *   HEALTH_PORT  the first health/metrics port of the other processes (3001, 3002, ...)
 *   DATA_DIR     the JWT secret made on first start, the development SMS/push
 *                outboxes, and FerretDB's data when it runs here (./data)
 *   TRANSPORTER (or NATS_URL), REDIS_URL, MONGO_URL  use these instead of finding/starting them
 *   LOG_LEVEL    the processes' log level (warn here, to keep eight processes readable)
 *
 * Ctrl-C (SIGINT) or SIGTERM stops the processes gracefully, then whatever
 * infrastructure this run started.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import readline from "node:readline";
import { ServiceBroker } from "moleculer";
import { ALL_SERVICES, ConfigError, loadConfig } from "../lib/config";
import { ensureInfra, REPO_ROOT, type Infra } from "../test/infra/services";

interface Proc {
  name: string;
  /** Where its readiness is asked. */
  port: number;
  child: ChildProcess;
  exited: Promise<number | null>;
  exitCode?: number | null;
}

const COLORS = [36, 33, 32, 35, 34, 91, 92, 93, 94, 95, 96];
const tty = Boolean(process.stdout.isTTY);
const WIDTH = Math.max(...ALL_SERVICES.map((s) => s.length));

function say(msg: string): void {
  process.stdout.write(`${tty ? "\x1b[1m" : ""}[distributed]${tty ? "\x1b[0m" : ""} ${msg}\n`);
}

function prefixed(stream: NodeJS.ReadableStream, out: NodeJS.WriteStream, label: string, color: number): void {
  const tag = tty ? `\x1b[${color}m${label}\x1b[0m` : label;
  readline.createInterface({ input: stream, crlfDelay: Infinity }).on("line", (line) => out.write(`${tag} ${line}\n`));
}

/** The JWT secret every process shares: JWT_SECRET if set, else made once and kept under DATA_DIR so restarts keep sessions. */
function jwtSecret(dataDir: string): string {
  const given = process.env.JWT_SECRET?.trim();
  if (given) return given;
  const file = path.join(dataDir, "secrets", "distributed-jwt.key");
  try {
    const kept = fs.readFileSync(file, "utf8").trim();
    if (kept.length >= 32) return kept;
  } catch {
    // made below
  }
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const secret = randomBytes(48).toString("base64url");
  fs.writeFileSync(file, secret, { mode: 0o600 });
  return secret;
}

async function isReady(port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/health/ready`, { signal: AbortSignal.timeout(3000) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

/**
 * Joins the cluster as an observer (no services) and asks every process, through
 * Moleculer's internal $node.list, which nodes it sees. Resolves null once each
 * sees all of them, else (at the deadline) what is missing.
 */
async function meshComplete(namespace: string, natsUrl: string, nodeIds: string[], deadline: number): Promise<string | null> {
  // skipProcessEventRegistration: Ctrl-C is this runner's to handle (Moleculer's own handler would exit at once).
  const observer = new ServiceBroker({
    namespace,
    nodeID: `distributed-runner-${process.pid}`,
    transporter: natsUrl,
    serializer: "JSON",
    logger: false,
    skipProcessEventRegistration: true,
  });
  try {
    await observer.start();
  } catch (err) {
    return `could not join NATS to ask: ${(err as Error).message}`;
  }
  let missing = "not asked";
  try {
    while (Date.now() < deadline) {
      const views = await Promise.all(
        nodeIds.map(async (id) => {
          try {
            const nodes = (await observer.call("$node.list", { onlyAvailable: true }, { nodeID: id, timeout: 2000 })) as Array<{ id: string }>;
            const seen = new Set(nodes.map((n) => n.id));
            const lacks = nodeIds.filter((other) => !seen.has(other));
            return lacks.length ? `${id} does not see ${lacks.join(", ")}` : null;
          } catch {
            return `${id} does not answer`;
          }
        }),
      );
      const gaps = views.filter(Boolean);
      if (!gaps.length) return null;
      missing = gaps.join("; ");
      await new Promise((r) => setTimeout(r, 250));
    }
    return missing;
  } finally {
    await observer.stop();
  }
}

async function main(): Promise<number> {
  // Validate what the runner itself uses (ports, folders, durations) with the one config parser.
  let base;
  try {
    base = loadConfig({ ...process.env, TRANSPORTER: undefined, MONGO_URL: undefined, REDIS_URL: undefined, SERVICES: undefined, JWT_SECRET: undefined });
    if (process.env.JWT_SECRET) loadConfig({ JWT_SECRET: process.env.JWT_SECRET });
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      return 2;
    }
    throw err;
  }
  const dataDir = base.dataDir;
  fs.mkdirSync(dataDir, { recursive: true });

  // ensureInfra() takes explicit URLs from NATS_URL/REDIS_URL/MONGO_URL; TRANSPORTER is this program's name for NATS.
  if (process.env.TRANSPORTER && !process.env.NATS_URL) process.env.NATS_URL = process.env.TRANSPORTER;
  let infra: Infra;
  try {
    infra = await ensureInfra({ browser: false, ferretDataDir: path.join(dataDir, "ferretdb") });
  } catch (err) {
    console.error((err as Error).message);
    return 1;
  }
  say(`NATS ${infra.natsUrl} (${infra.sources.nats}), Redis ${infra.redisUrl} (${infra.sources.redis}), MongoDB ${infra.mongoUrl} (${infra.sources.mongo})`);

  const secret = jwtSecret(dataDir);
  const names = [...ALL_SERVICES.filter((s) => s !== "gateway"), "gateway"];
  const procs: Proc[] = [];
  let stopping = false;
  let resolveDone: (code: number) => void = () => undefined;
  const done = new Promise<number>((r) => (resolveDone = r));

  const stopAll = async (code: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    say("stopping every process gracefully...");
    const grace = base.shutdownTimeoutMs + 5000;
    // The gateway first, so no new requests come in while the services finish theirs.
    const gateway = procs.find((p) => p.name === "gateway");
    const stopOne = async (p: Proc): Promise<void> => {
      if (p.exitCode !== undefined) return;
      p.child.kill("SIGTERM");
      const timer = setTimeout(() => {
        say(`${p.name} did not stop within ${grace} ms; killing it`);
        p.child.kill("SIGKILL");
      }, grace);
      await p.exited;
      clearTimeout(timer);
    };
    if (gateway) await stopOne(gateway);
    await Promise.all(procs.filter((p) => p !== gateway).map(stopOne));
    const failed = procs.filter((p) => p.exitCode !== 0 && p.exitCode !== undefined);
    if (failed.length) say(`exited with errors: ${failed.map((p) => `${p.name} (${p.exitCode})`).join(", ")}`);
    await infra.stop();
    say("stopped");
    resolveDone(code || (failed.length ? 1 : 0));
  };

  let signals = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    signals++;
    if (signals > 1) {
      say(`${sig} again: killing every process now`);
      for (const p of procs) if (p.exitCode === undefined) p.child.kill("SIGKILL");
      void infra.stop().finally(() => process.exit(130));
      return;
    }
    void stopAll(0);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  names.forEach((name, i) => {
    const isGateway = name === "gateway";
    const port = isGateway ? base.port : base.healthPort + i;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      SERVICES: name,
      NODE_ID: `${name}-1`,
      TRANSPORTER: infra.natsUrl,
      MONGO_URL: infra.mongoUrl,
      REDIS_URL: infra.redisUrl,
      JWT_SECRET: secret,
      DATA_DIR: dataDir,
      LOG_LEVEL: process.env.LOG_LEVEL || "warn",
      ...(isGateway ? { PORT: String(port) } : { HEALTH_PORT: String(port) }),
    };
    if (!isGateway) delete env.PORT;
    const child = spawn(process.execPath, ["--import", "tsx", path.join("bin", "carshare.ts")], { cwd: REPO_ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    const label = `[${name.padEnd(WIDTH)}]`;
    const color = COLORS[i % COLORS.length];
    prefixed(child.stdout!, process.stdout, label, color);
    prefixed(child.stderr!, process.stderr, label, color);
    const proc: Proc = {
      name,
      port,
      child,
      exited: new Promise((resolve) => {
        child.once("error", (err) => {
          say(`${name} could not start: ${err.message}`);
          proc.exitCode = null;
          resolve(null);
        });
        child.once("exit", (code, signal) => {
          proc.exitCode = code ?? (signal ? 128 : null);
          resolve(proc.exitCode);
        });
      }),
    };
    void proc.exited.then((code) => {
      if (stopping) return;
      say(`${name} exited (code ${code}) while running: stopping the others`);
      void stopAll(1);
    });
    procs.push(proc);
  });

  // Wait for every process to answer /health/ready with 200.
  const deadline = Date.now() + 120_000;
  const pending = new Set(procs);
  while (pending.size && !stopping && Date.now() < deadline) {
    await Promise.all([...pending].map(async (p) => (await isReady(p.port)) && pending.delete(p)));
    if (pending.size) await new Promise((r) => setTimeout(r, 500));
  }
  // Ready processes may not have discovered each other yet: wait until every one sees all the others.
  const mesh = pending.size || stopping ? null : await meshComplete(base.namespace, infra.natsUrl, procs.map((p) => `${p.name}-1`), deadline);
  if (!stopping) {
    if (mesh) say(`not connected to each other yet: ${mesh}`);
    if (pending.size) say(`not ready after 120 s: ${[...pending].map((p) => `${p.name} (http://localhost:${p.port}/health/ready)`).join(", ")}`);
    const lines = procs.map((p) =>
      p.name === "gateway"
        ? `  ${p.name.padEnd(WIDTH)}  http://localhost:${p.port}  (API, /health/ready, /metrics, /v1/openapi.json)  pid ${p.child.pid}`
        : `  ${p.name.padEnd(WIDTH)}  http://localhost:${p.port}/health/ready  /metrics  pid ${p.child.pid}`,
    );
    say(`${procs.length - pending.size} of ${procs.length} processes ready:\n${lines.join("\n")}`);
    say(`development SMS (OTP codes) go to ${path.join(dataDir, "outbox", "sms.jsonl")}; Ctrl-C stops everything`);
  }
  return done;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error("start:distributed failed:", (err as Error)?.stack ?? err);
    process.exit(1);
  },
);
