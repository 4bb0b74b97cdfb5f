/**
 * Test rig for the distributed deployment: every service as its own OS process,
 * `node --import tsx bin/carshare.ts` with its own SERVICES and NODE_ID, as
 * `npm run start:distributed` and the pods run them. Starts, stops and kills
 * them; waits until they are ready (each process's /health/ready, the
 * gateways' view of every service, every process seeing every other one over
 * NATS); keeps the tail of each one's output to explain a failure.
 */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import readline from "node:readline";
import { ServiceBroker } from "moleculer";
import { REPO_ROOT } from "../infra/services";
import { Client, newPhone } from "./system";
import { freePort } from "../infra/services";

export interface Proc {
  service: string;
  nodeId: string;
  /** The gateway's HTTP port, or the process's HEALTH_PORT. */
  port: number;
  child: ChildProcess;
  exited: Promise<void>;
  /** Set once it exited: its code, or the signal that ended it. */
  exit?: string;
  /** Stopped or killed by the test (an exit is then no news). */
  stopping: boolean;
  lines: string[];
}

/** A cheap anonymous GET per service's route: 503 while the gateway sees no instance of it, 401/404/... otherwise. */
export const SERVICE_PROBES: Record<string, string> = {
  auth: "/v1/auth/me",
  notifications: "/v1/notifications",
  kyc: "/v1/kyc/status",
  vehicles: "/v1/drivers",
  bookings: "/v1/bookings",
  payments: "/v1/payments",
  "driver-links": `/v1/driver-links/${"x".repeat(43)}`,
  trust: "/v1/users/nobody/trust",
};

const KEEP_LINES = 400;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));


async function get(url: string, timeoutMs = 3000): Promise<{ status: number; text: string } | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    return { status: res.status, text: await res.text() };
  } catch {
    return undefined;
  }
}

export class Cluster {
  readonly procs: Proc[] = [];
  /** What happened to processes that ended without being asked to. */
  readonly surprises: string[] = [];
  private seq = new Map<string, number>();

  /**
   * @param env what every process gets on top of this one's environment: TRANSPORTER, MONGO_URL,
   *            REDIS_URL, NAMESPACE, JWT_SECRET, DATA_DIR, LOG_LEVEL, ...
   */
  constructor(readonly env: Record<string, string>) {
    for (const name of ["TRANSPORTER", "NAMESPACE", "JWT_SECRET", "DATA_DIR"]) {
      if (!env[name]) throw new Error(`Cluster needs ${name}`);
    }
  }

  /** Spawns one process running `service`; resolves once it is spawned (not ready: see waitReady). */
  async start(service: string): Promise<Proc> {
    const n = (this.seq.get(service) ?? 0) + 1;
    this.seq.set(service, n);
    const nodeId = `${service}-${n}`;
    const port = await freePort();
    const isGateway = service === "gateway";
    const env: NodeJS.ProcessEnv = { ...process.env, ...this.env, SERVICES: service, NODE_ID: nodeId };
    if (isGateway) {
      env.PORT = String(port);
      env.HEALTH_PORT = "0";
    } else {
      delete env.PORT;
      env.HEALTH_PORT = String(port);
    }
    // node itself with tsx as a loader (no npx/tsx wrapper in between), so SIGKILL reaches the process that runs the service.
    const child = spawn(process.execPath, ["--import", "tsx", path.join("bin", "carshare.ts")], { cwd: REPO_ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    const proc: Proc = { service, nodeId, port, child, stopping: false, lines: [], exited: Promise.resolve() };
    const keep = (stream: NodeJS.ReadableStream) =>
      readline.createInterface({ input: stream, crlfDelay: Infinity }).on("line", (line) => {
        proc.lines.push(line);
        if (proc.lines.length > KEEP_LINES) proc.lines.splice(0, proc.lines.length - KEEP_LINES);
      });
    keep(child.stdout!);
    keep(child.stderr!);
    proc.exited = new Promise((resolve) => {
      child.once("error", (err) => {
        proc.exit = `spawn error: ${err.message}`;
        resolve();
      });
      child.once("exit", (code, signal) => {
        proc.exit = signal ? `signal ${signal}` : `code ${code}`;
        if (!proc.stopping) this.surprises.push(`${nodeId} exited by itself (${proc.exit})`);
        resolve();
      });
    });
    this.procs.push(proc);
    return proc;
  }

  /** The processes still running. */
  running(service?: string): Proc[] {
    return this.procs.filter((p) => p.exit === undefined && !p.stopping && (!service || p.service === service));
  }

  /** An API client per running gateway. */
  gateways(): Client[] {
    return this.running("gateway").map((p) => new Client(`http://127.0.0.1:${p.port}`));
  }

  /** Where a process answers /health/ready. */
  readyUrl(p: Proc): string {
    return `http://127.0.0.1:${p.port}/health/ready`;
  }

  /** SIGKILL, as a crash: resolves once it is gone. */
  async kill(p: Proc): Promise<void> {
    p.stopping = true;
    if (p.exit === undefined) p.child.kill("SIGKILL");
    await p.exited;
  }

  /** SIGTERM, as an orchestrator stops a pod; SIGKILL after `graceMs`. */
  async stop(p: Proc, graceMs = 15_000): Promise<void> {
    p.stopping = true;
    if (p.exit !== undefined) return;
    p.child.kill("SIGTERM");
    const timer = setTimeout(() => {
      p.lines.push(`[cluster] did not stop within ${graceMs} ms of SIGTERM; killing it`);
      p.child.kill("SIGKILL");
    }, graceMs);
    await p.exited;
    clearTimeout(timer);
  }

  /** Gateways first (no new requests), then the rest, in parallel. */
  async stopAll(): Promise<void> {
    await Promise.all(this.running("gateway").map((p) => this.stop(p)));
    await Promise.all(this.procs.map((p) => this.stop(p)));
  }

  /**
   * Resolves when every running process answers /health/ready with 200, every
   * gateway routes to every service that runs (no 503 on a cheap GET of each
   * service's route) and takes an OTP request (202), and every process sees
   * every other one over NATS. Fails at once if a process exits.
   */
  async waitReady(timeoutMs = 90_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const procs = this.running();
    const check = (what: string) => {
      const gone = procs.filter((p) => p.exit !== undefined);
      if (gone.length) throw new Error(`${gone.map((p) => `${p.nodeId} exited (${p.exit})`).join(", ")} while waiting for ${what}`);
      if (Date.now() > deadline) throw new Error(`not ready after ${timeoutMs} ms: ${what}`);
    };

    // 1. Every process: /health/ready 200.
    let pending = procs;
    for (;;) {
      const answers = await Promise.all(pending.map(async (p) => ({ p, r: await get(this.readyUrl(p)) })));
      pending = answers.filter((a) => a.r?.status !== 200).map((a) => a.p);
      if (!pending.length) break;
      check(`/health/ready of ${answers.filter((a) => a.r?.status !== 200).map((a) => `${a.p.nodeId} (${a.r ? `${a.r.status} ${a.r.text}` : "no answer"})`).join(", ")}`);
      await sleep(300);
    }

    // 2. Every process sees every other one (bookings must see payments before its saga calls it, ...),
    //    and none still counts on one that died (Moleculer forgets a killed node after its heartbeat timeout).
    const missing = await this.meshGaps(procs, deadline);
    if (missing) check(`the processes to see each other: ${missing}`);

    // 3. Every gateway routes to every service that runs.
    const services = [...new Set(procs.map((p) => p.service))].filter((s) => SERVICE_PROBES[s]);
    for (const gw of this.running("gateway")) {
      const base = `http://127.0.0.1:${gw.port}`;
      for (;;) {
        const answers = await Promise.all(services.map(async (s) => ({ s, r: await get(base + SERVICE_PROBES[s]) })));
        const unrouted = answers.filter((a) => !a.r || a.r.status === 503 || a.r.status >= 500);
        if (!unrouted.length) break;
        check(`${gw.nodeId} to route to ${unrouted.map((a) => `${a.s} (${a.r?.status ?? "no answer"})`).join(", ")}`);
        await sleep(300);
      }
      const otp = await new Client(base).post("/v1/auth/otp/request", { phone: newPhone() });
      if (otp.status !== 202) throw new Error(`${gw.nodeId}: POST /v1/auth/otp/request answered ${otp.status} ${otp.text}`);
    }
  }

  /**
   * Joins the cluster as an observer (no services) and asks each process, through
   * Moleculer's $node.list, which nodes it sees: null once each sees all of `procs`
   * and none of the processes that exited, else (at the deadline) what is wrong.
   */
  private async meshGaps(procs: Proc[], deadline: number): Promise<string | null> {
    const ids = procs.map((p) => p.nodeId);
    const dead = this.procs.filter((p) => p.exit !== undefined).map((p) => p.nodeId);
    const observer = new ServiceBroker({
      namespace: this.env.NAMESPACE,
      nodeID: `cluster-observer-${process.pid}-${Date.now()}`,
      transporter: this.env.TRANSPORTER,
      serializer: "JSON",
      logger: false,
      skipProcessEventRegistration: true,
    });
    await observer.start();
    let gaps = "not asked";
    try {
      while (Date.now() < deadline) {
        const views = await Promise.all(
          ids.map(async (id) => {
            try {
              const nodes = (await observer.call("$node.list", { onlyAvailable: true }, { nodeID: id, timeout: 2000 })) as Array<{ id: string }>;
              const seen = new Set(nodes.map((n) => n.id));
              const lacks = ids.filter((other) => !seen.has(other));
              const ghosts = dead.filter((other) => seen.has(other));
              const wrong = [lacks.length && `does not see ${lacks.join(", ")}`, ghosts.length && `still sees the dead ${ghosts.join(", ")}`].filter(Boolean);
              return wrong.length ? `${id} ${wrong.join(" and ")}` : null;
            } catch {
              return `${id} does not answer`;
            }
          }),
        );
        if (views.every((v) => v === null)) return null;
        gaps = views.filter(Boolean).join("; ");
        await sleep(250);
      }
      return gaps;
    } finally {
      await observer.stop();
    }
  }

  /** The kept output of every process, and what ended unexpectedly. */
  output(): string {
    const parts = this.procs.map((p) => {
      const state = p.exit !== undefined ? `exited: ${p.exit}` : "running";
      return `----- ${p.nodeId} (pid ${p.child.pid}, port ${p.port}, ${state}) -----\n${p.lines.join("\n") || "(no output)"}`;
    });
    if (this.surprises.length) parts.unshift(`unexpected exits: ${this.surprises.join("; ")}`);
    return parts.join("\n");
  }

  /** Runs `fn`; if it fails, the error carries every process's output. */
  async explain<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      e.message += `\n\n===== output of the carshare processes =====\n${this.output()}`;
      throw e;
    }
  }
}
