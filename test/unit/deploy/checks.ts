/**
 * Static checks of the deployment files, offline: docker-compose.yml against
 * the Compose specification, every Kubernetes object (base and rendered
 * overlays) against a strict structural schema and the upstream API schema,
 * and the consistency of both with lib/config.ts (services, variables) and
 * the Dockerfile. Each check returns a list of problems (empty = fine) and
 * takes the folder holding docker-compose.yml, deploy/, k8s/ and Dockerfile,
 * so tests can run it on a mutated copy.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import Ajv, { type ErrorObject, type ValidateFunction } from "ajv";
import addFormats from "ajv-formats";
import YAML from "yaml";
import { ALL_SERVICES, configVariables } from "../../../lib/config";
import { kustomizeBuild } from "../../infra/kustomize";
import { REPO_ROOT } from "../../infra/services";

export { REPO_ROOT };
type Obj = Record<string, any>;

/** The files the checks read, relative to a root. */
export const DEPLOY_FILES = ["Dockerfile", ".dockerignore", "docker-compose.yml", "deploy", "k8s"];

/** Rendered Kubernetes outputs: the base alone and each overlay. `externalSecrets` are created out of band and must NOT be rendered. */
export const RENDERS = [
  { name: "base", dir: "k8s/base", externalSecrets: [] as string[] },
  { name: "dev", dir: "k8s/overlays/dev", externalSecrets: [] as string[] },
  { name: "prod", dir: "k8s/overlays/prod", externalSecrets: ["carshare-secrets"] },
];

/** The uid the image runs as; Kubernetes pods of carshare must run as the same. */
const KNOWN = new Set(configVariables());
const SERVICES: readonly string[] = ALL_SERVICES;
/** A JWT_SECRET placeholder must be unusable as a real one (lib/config.ts wants at least 32 characters). */
const MIN_SECRET = 32;

// ---------------------------------------------------------------------------------------
// Parsing

/** Every YAML document of a file or string, with YAML 1.1 merge keys (`<<: *anchor`) applied. */
export function parseYamlDocs(text: string, where: string): Obj[] {
  const docs = YAML.parseAllDocuments(text, { merge: true });
  const out: Obj[] = [];
  for (const d of docs) {
    if (d.errors.length) throw new Error(`${where}: YAML error: ${d.errors[0].message}`);
    const js = d.toJS({ maxAliasCount: -1 });
    if (js !== null && js !== undefined) out.push(js as Obj);
  }
  return out;
}

/** KEY=VALUE lines of an env file (comments and blank lines skipped). */
export function parseEnvFile(text: string, where: string): { vars: Map<string, string>; problems: string[] } {
  const vars = new Map<string, string>();
  const problems: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith("#")) return;
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m) return void problems.push(`${where}:${i + 1}: not a KEY=VALUE line: ${JSON.stringify(line)}`);
    if (vars.has(m[1])) problems.push(`${where}:${i + 1}: ${m[1]} is set twice`);
    vars.set(m[1], m[2]);
  });
  return { vars, problems };
}

function unknownVariables(names: Iterable<string>, where: string): string[] {
  return [...names].filter((n) => !KNOWN.has(n)).map((n) => `${where}: sets ${n}, which lib/config.ts does not read (known: see configVariables())`);
}

function formatErrors(errors: ErrorObject[] | null | undefined, max = 8): string {
  const list = (errors ?? []).map((e) => {
    const extra = e.keyword === "additionalProperties" ? ` "${(e.params as Obj).additionalProperty}"` : e.keyword === "enum" ? ` ${JSON.stringify((e.params as Obj).allowedValues)}` : "";
    return `${e.instancePath || "/"} ${e.message}${extra}`;
  });
  const unique = [...new Set(list)];
  return unique.slice(0, max).join("; ") + (unique.length > max ? `; ... (${unique.length - max} more)` : "");
}

// ---------------------------------------------------------------------------------------
// Schemas (vendored under deploy/schemas, read from the root under check)

const validators = new Map<string, Ajv>();

function ajvFor(root: string): Ajv {
  let ajv = validators.get(root);
  if (ajv) return ajv;
  ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  // The Compose schema names the draft-07 meta-schema by its https address.
  const draft7 = JSON.parse(fs.readFileSync(require.resolve("ajv/dist/refs/json-schema-draft-07.json"), "utf8")) as Obj;
  ajv.addMetaSchema({ ...draft7, $id: "https://json-schema.org/draft-07/schema" });
  ajv.addSchema(JSON.parse(fs.readFileSync(path.join(root, "deploy/schemas/compose-spec.schema.json"), "utf8")), "compose");
  ajv.addSchema(JSON.parse(fs.readFileSync(path.join(root, "deploy/schemas/kubernetes-strict.schema.json"), "utf8")), "k8s");
  validators.set(root, ajv);
  return ajv;
}

function k8sValidator(root: string, kind: string): ValidateFunction | undefined {
  if (!/^[A-Za-z]+$/.test(kind)) return undefined;
  try {
    return ajvFor(root).getSchema(`k8s#/$defs/${kind}`);
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------
// Docker Compose

function envOf(service: Obj): Record<string, string> {
  const env = service.environment;
  if (Array.isArray(env)) {
    return Object.fromEntries(env.map((e: string) => [String(e).split("=")[0], String(e).split("=").slice(1).join("=")]));
  }
  return Object.fromEntries(Object.entries((env ?? {}) as Obj).map(([k, v]) => [k, v === null ? "" : String(v)]));
}

function envFilesOf(service: Obj): Array<{ path: string; required: boolean }> {
  const f = service.env_file;
  const list = f === undefined ? [] : Array.isArray(f) ? f : [f];
  return list.map((e: any) => (typeof e === "string" ? { path: e, required: true } : { path: String(e.path), required: e.required !== false && e.required !== "false" }));
}

function dependsOn(service: Obj): Record<string, string> {
  const d = service.depends_on;
  if (Array.isArray(d)) return Object.fromEntries(d.map((n: string) => [n, "service_started"]));
  return Object.fromEntries(Object.entries((d ?? {}) as Obj).map(([k, v]) => [k, String((v as Obj)?.condition ?? "service_started")]));
}

export function composeProblems(root: string): string[] {
  const file = path.join(root, "docker-compose.yml");
  const where = "docker-compose.yml";
  const problems: string[] = [];
  let doc: Obj;
  try {
    doc = parseYamlDocs(fs.readFileSync(file, "utf8"), where)[0] ?? {};
  } catch (e) {
    return [(e as Error).message];
  }
  const validate = ajvFor(root).getSchema("compose")!;
  if (!validate(doc)) problems.push(`${where} does not match the Compose specification: ${formatErrors(validate.errors)}`);
  const services = (doc.services ?? {}) as Record<string, Obj>;

  const infra = { nats: /^nats:/, mongodb: /^mongo:7/, redis: /^redis:7/ };
  for (const [name, image] of Object.entries(infra)) {
    const s = services[name];
    if (!s) problems.push(`${where}: no "${name}" service`);
    else if (!image.test(String(s.image ?? ""))) problems.push(`${where}: ${name} runs ${s.image}, expected ${image.source.slice(1)}...`);
  }
  const natsCmd = [services.nats?.command ?? []].flat().join(" ");
  if (services.nats && !/(^|\s)(-js|--jetstream)(\s|$)/.test(natsCmd)) problems.push(`${where}: nats runs without JetStream (command needs -js)`);

  for (const [name, s] of Object.entries(services)) {
    const hc = s.healthcheck as Obj | undefined;
    if (!hc || hc.disable === true || !hc.test) problems.push(`${where}: ${name} has no health check`);
  }

  const carshare = Object.entries(services).filter(([, s]) => "SERVICES" in envOf(s) || /(^|\/)carshare(:|$)/.test(String(s.image ?? "").replace(/\$\{[^}]*:-([^}]*)\}/g, "$1")));
  for (const svc of SERVICES) {
    const runs = carshare.filter(([, s]) => envOf(s).SERVICES === svc);
    if (runs.length === 0) problems.push(`${where}: no container runs service "${svc}" (a service with environment SERVICES: ${svc})`);
    if (runs.length > 1) problems.push(`${where}: ${runs.length} containers run service "${svc}": ${runs.map(([n]) => n).join(", ")}`);
    if (runs.length === 1 && runs[0][0] !== svc) problems.push(`${where}: the container running "${svc}" is named "${runs[0][0]}"; name it "${svc}"`);
  }
  const envFiles = new Set<string>();
  for (const [name, s] of carshare) {
    const env = envOf(s);
    if (!SERVICES.includes(env.SERVICES)) problems.push(`${where}: ${name} has SERVICES=${JSON.stringify(env.SERVICES ?? null)}, not one service of ALL_SERVICES (${SERVICES.join(", ")})`);
    problems.push(...unknownVariables(Object.keys(env), `${where}: ${name} environment`));
    const files = envFilesOf(s);
    if (!files.some((f) => f.path === "deploy/carshare.env")) problems.push(`${where}: ${name} does not load deploy/carshare.env (env_file)`);
    for (const f of files) {
      envFiles.add(f.path);
      if (f.required && !fs.existsSync(path.join(root, f.path))) problems.push(`${where}: ${name} loads ${f.path}, which does not exist`);
    }
    const deps = dependsOn(s);
    for (const dep of Object.keys(infra)) {
      if (deps[dep] !== "service_healthy") problems.push(`${where}: ${name} must depend on ${dep} with condition service_healthy (has ${deps[dep] ?? "nothing"})`);
    }
  }
  for (const f of envFiles) {
    const full = path.join(root, f);
    if (!fs.existsSync(full)) continue;
    const parsed = parseEnvFile(fs.readFileSync(full, "utf8"), f);
    problems.push(...parsed.problems, ...unknownVariables(parsed.vars.keys(), f));
    const jwt = parsed.vars.get("JWT_SECRET");
    if (jwt !== undefined && jwt.length >= MIN_SECRET) problems.push(`${f}: JWT_SECRET looks like a real secret; keep only a placeholder shorter than ${MIN_SECRET} characters in the repository`);
  }
  return problems;
}

// ---------------------------------------------------------------------------------------
// Dockerfile

interface Instruction {
  op: string;
  args: string;
  line: number;
}

export function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let buf = "";
  let start = 0;
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!buf && (!line || line.startsWith("#"))) return;
    if (line.startsWith("#")) return; // comment inside a continuation
    if (!buf) start = i + 1;
    buf += (buf ? " " : "") + line.replace(/\\$/, "").trim();
    if (line.endsWith("\\")) return;
    const m = /^(\S+)\s*(.*)$/.exec(buf)!;
    out.push({ op: m[1].toUpperCase(), args: m[2], line: start });
    buf = "";
  });
  return out;
}

export function dockerfileProblems(root: string): string[] {
  const where = "Dockerfile";
  const problems: string[] = [];
  let text: string;
  try {
    text = fs.readFileSync(path.join(root, "Dockerfile"), "utf8");
  } catch {
    return [`${where} is missing`];
  }
  const all = parseDockerfile(text);
  const froms = all.map((x, i) => [x, i] as const).filter(([x]) => x.op === "FROM");
  if (froms.length < 2) problems.push(`${where}: expected a multi-stage build (build stage, runtime stage)`);
  const lastFrom = froms.length ? froms[froms.length - 1][1] : 0;
  const final = all.slice(lastFrom);
  const args = new Map(all.filter((x) => x.op === "ARG").map((x) => x.args.split("=") as [string, string]));
  const finalImage = (final[0]?.args.split(/\s+/)[0] ?? "").replace(/\$\{(\w+)\}/g, (_, n: string) => args.get(n) ?? "");
  if (!/^(node:20[-.\w]*slim|gcr\.io\/distroless\/nodejs20)/.test(finalImage)) problems.push(`${where}: the runtime stage runs on ${finalImage || "?"}, expected node:20-slim or distroless/nodejs20`);

  if (!all.some((x) => x.op === "RUN" && /\bnpm ci\b/.test(x.args) && !/--omit=dev/.test(x.args))) problems.push(`${where}: no build stage runs npm ci (with dev dependencies)`);
  if (!all.some((x) => x.op === "RUN" && /\bnpm run build\b/.test(x.args))) problems.push(`${where}: nothing runs npm run build`);
  if (!all.some((x) => x.op === "RUN" && /\bnpm ci\b.*--omit=dev/.test(x.args))) problems.push(`${where}: production dependencies are not installed with npm ci --omit=dev`);

  const users = final.filter((x) => x.op === "USER");
  const user = users.length ? users[users.length - 1].args.trim() : "";
  if (!user) problems.push(`${where}: the runtime stage has no USER: it would run as root`);
  else {
    const name = user.split(":")[0];
    if (name === "root" || name === "0") problems.push(`${where}: the runtime stage runs as ${user} (root)`);
    else if (!/^\d+$/.test(name)) problems.push(`${where}: USER ${user} is not numeric; Kubernetes' runAsNonRoot can only verify a numeric uid`);
  }
  const hc = final.find((x) => x.op === "HEALTHCHECK");
  if (!hc || /^NONE\b/i.test(hc.args)) problems.push(`${where}: the runtime stage has no HEALTHCHECK`);
  const entry = final.find((x) => x.op === "ENTRYPOINT");
  let entryArgs: unknown;
  try {
    entryArgs = entry ? JSON.parse(entry.args) : undefined;
  } catch {
    entryArgs = entry?.args;
  }
  if (JSON.stringify(entryArgs) !== JSON.stringify(["node", "dist/bin/carshare.js"])) problems.push(`${where}: ENTRYPOINT must be ["node", "dist/bin/carshare.js"] (exec form, so node gets SIGTERM), got ${entry?.args ?? "none"}`);
  for (const c of final.filter((x) => x.op === "COPY" && !/--from=/.test(x.args))) {
    const src = c.args.split(/\s+/).filter((a) => !a.startsWith("--")).slice(0, -1);
    if (src.some((s) => s !== "package.json")) problems.push(`${where}:${c.line}: the runtime stage copies ${src.join(" ")} from the build context; only dist, node_modules and package.json belong there`);
  }

  const ignore = fs.existsSync(path.join(root, ".dockerignore")) ? fs.readFileSync(path.join(root, ".dockerignore"), "utf8").split(/\r?\n/).map((l) => l.trim()) : [];
  for (const must of ["node_modules", ".git", "data"]) {
    if (!ignore.some((l) => l === must || l === `${must}/` || l === `/${must}` || l === `**/${must}`)) problems.push(`.dockerignore: does not exclude ${must}`);
  }
  return problems;
}

/** The uid the image's runtime stage runs as (USER), if numeric. */
export function imageUid(root: string): number | undefined {
  const all = parseDockerfile(fs.readFileSync(path.join(root, "Dockerfile"), "utf8"));
  const users = all.filter((x) => x.op === "USER");
  const n = users.length ? Number(users[users.length - 1].args.split(":")[0]) : NaN;
  return Number.isInteger(n) ? n : undefined;
}

// ---------------------------------------------------------------------------------------
// Kubernetes

export interface Rendered {
  name: string;
  docs: Obj[];
  externalSecrets: string[];
}

/** Renders the base and each overlay with kustomize; a render that fails is a problem. */
export function renderK8s(root: string): { rendered: Rendered[]; problems: string[] } {
  const rendered: Rendered[] = [];
  const problems: string[] = [];
  for (const r of RENDERS) {
    try {
      const yaml = kustomizeBuild(path.join(root, r.dir));
      rendered.push({ name: r.name, docs: parseYamlDocs(yaml, r.dir), externalSecrets: r.externalSecrets });
    } catch (e) {
      problems.push(`${r.dir}: ${(e as Error).message}`);
    }
  }
  return { rendered, problems };
}

const label = (r: Rendered, d: Obj) => `k8s ${r.name}: ${d?.kind ?? "?"} ${d?.metadata?.name ?? "?"}`;

/** Strict structural schema (deploy/schemas/kubernetes-strict.schema.json): unknown fields and wrong types fail. */
export function k8sSchemaProblems(root: string, rendered: Rendered[]): string[] {
  const problems: string[] = [];
  for (const r of rendered) {
    for (const d of r.docs) {
      const validate = k8sValidator(root, String(d.kind ?? ""));
      if (!validate) {
        problems.push(`${label(r, d)}: no schema for kind ${d.kind} in deploy/schemas/kubernetes-strict.schema.json (add one for a new kind)`);
        continue;
      }
      if (!validate(d)) problems.push(`${label(r, d)} does not match the strict schema: ${formatErrors(validate.errors)}`);
    }
  }
  return problems;
}

/** The upstream Kubernetes API schema (kubernetes-models), in a child process: see k8s-upstream.ts. */
export function k8sUpstreamProblems(rendered: Rendered[]): string[] {
  const items = rendered.flatMap((r) => r.docs.map((doc) => ({ where: label(r, doc), doc })));
  const res = spawnSync(process.execPath, ["--import", "tsx", path.join(__dirname, "k8s-upstream.ts")], {
    cwd: REPO_ROOT,
    input: JSON.stringify(items),
    encoding: "utf8",
    timeout: 120_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (res.status !== 0) return [`the upstream Kubernetes schema check could not run (exit ${res.status}): ${(res.stderr || "").trim().slice(0, 2000)}`];
  return JSON.parse(res.stdout) as string[];
}

function podTemplates(r: Rendered): Array<{ owner: Obj; template: Obj }> {
  return r.docs.filter((d) => ["Deployment", "StatefulSet"].includes(d.kind) && d.spec?.template).map((d) => ({ owner: d, template: d.spec.template }));
}

function isCarshareImage(image: unknown): boolean {
  const repo = String(image ?? "").split("@")[0].replace(/:[^/:]*$/, "");
  return repo.split("/").pop() === "carshare";
}

function matches(selector: Obj | undefined, labels: Obj | undefined): boolean {
  const want = (selector?.matchLabels ?? {}) as Obj;
  return Object.keys(want).length > 0 && Object.entries(want).every(([k, v]) => labels?.[k] === v);
}

/** Consistency with lib/config.ts, the Dockerfile, and the rules every pod follows. */
export function k8sConsistencyProblems(root: string, rendered: Rendered[]): string[] {
  const problems: string[] = [];
  const uid = imageUid(root);
  for (const r of rendered) {
    const at = (d: Obj) => label(r, d);
    const byKind = (kind: string) => r.docs.filter((d) => d.kind === kind);
    const configMaps = new Map(byKind("ConfigMap").map((d) => [d.metadata?.name, d]));
    const secrets = new Map(byKind("Secret").map((d) => [d.metadata?.name, d]));
    const deployments = byKind("Deployment");

    // One namespace, and everything in it.
    const namespaces = byKind("Namespace").map((d) => d.metadata?.name);
    if (namespaces.length !== 1) problems.push(`k8s ${r.name}: expected one Namespace, found ${namespaces.length}`);
    for (const d of r.docs) if (d.kind !== "Namespace" && d.metadata?.namespace !== namespaces[0]) problems.push(`${at(d)}: in namespace ${d.metadata?.namespace ?? "(none)"}, not ${namespaces[0]}`);

    for (const d of configMaps.values()) problems.push(...unknownVariables(Object.keys(d.data ?? {}), `${at(d)} data`));
    for (const d of secrets.values()) {
      problems.push(...unknownVariables([...Object.keys(d.data ?? {}), ...Object.keys(d.stringData ?? {})], `${at(d)}`));
      const jwt = d.stringData?.JWT_SECRET ?? (d.data?.JWT_SECRET ? Buffer.from(d.data.JWT_SECRET, "base64").toString() : undefined);
      if (jwt !== undefined && jwt.length >= MIN_SECRET && !/dev-only|insecure/.test(jwt)) problems.push(`${at(d)}: JWT_SECRET looks like a real secret; the repository keeps placeholders (or a value marked dev-only) only`);
    }
    for (const s of r.externalSecrets) if (secrets.has(s)) problems.push(`k8s ${r.name}: renders Secret ${s}, which is created out of band here; applying it would overwrite the real one`);

    // Every service: exactly one Deployment, named after it, with SERVICES set to it.
    const runs = new Map<string, Obj[]>();
    for (const d of deployments) {
      for (const c of (d.spec?.template?.spec?.containers ?? []) as Obj[]) {
        if (!isCarshareImage(c.image)) continue;
        const env = (c.env ?? []) as Obj[];
        const svc = env.find((e) => e.name === "SERVICES")?.value as string | undefined;
        if (!svc || !SERVICES.includes(svc)) problems.push(`${at(d)}: container ${c.name} has SERVICES=${JSON.stringify(svc ?? null)}, not one service of ALL_SERVICES (${SERVICES.join(", ")})`);
        else runs.set(svc, [...(runs.get(svc) ?? []), d]);
      }
    }
    for (const svc of SERVICES) {
      const ds = runs.get(svc) ?? [];
      if (ds.length === 0) problems.push(`k8s ${r.name}: no Deployment runs service "${svc}" (a carshare container with env SERVICES=${svc})`);
      if (ds.length > 1) problems.push(`k8s ${r.name}: ${ds.length} Deployments run service "${svc}"`);
      if (ds.length === 1 && ds[0].metadata?.name !== svc) problems.push(`k8s ${r.name}: the Deployment running "${svc}" is named "${ds[0].metadata?.name}"; name it "${svc}"`);
    }

    // Every pod: restricted security, resources, probes.
    for (const { owner, template } of podTemplates(r)) {
      const spec = template.spec ?? {};
      const podSc = spec.securityContext ?? {};
      if (!matches(owner.spec?.selector, template.metadata?.labels)) problems.push(`${at(owner)}: selector does not match the pod template's labels`);
      const carshareDeployment = owner.kind === "Deployment" && (spec.containers ?? []).some((c: Obj) => isCarshareImage(c.image));
      if (carshareDeployment) {
        const anti = spec.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution as Obj[] | undefined;
        if (!anti?.some((t) => matches(t.podAffinityTerm?.labelSelector, template.metadata?.labels))) problems.push(`${at(owner)}: no preferred podAntiAffinity that selects its own pods`);
        if (uid !== undefined && podSc.runAsUser !== undefined && podSc.runAsUser !== uid) problems.push(`${at(owner)}: runAsUser ${podSc.runAsUser}, but the image runs as ${uid} (Dockerfile USER)`);
      }
      for (const c of (spec.containers ?? []) as Obj[]) {
        const sc = c.securityContext ?? {};
        const where = `${at(owner)} container ${c.name}`;
        if ((sc.runAsNonRoot ?? podSc.runAsNonRoot) !== true) problems.push(`${where}: runAsNonRoot is not true`);
        if (sc.readOnlyRootFilesystem !== true) problems.push(`${where}: readOnlyRootFilesystem is not true`);
        if (sc.allowPrivilegeEscalation !== false) problems.push(`${where}: allowPrivilegeEscalation is not false`);
        if (!((sc.capabilities?.drop ?? []) as string[]).includes("ALL")) problems.push(`${where}: does not drop ALL capabilities`);
        if ((sc.seccompProfile?.type ?? podSc.seccompProfile?.type) !== "RuntimeDefault") problems.push(`${where}: seccompProfile is not RuntimeDefault`);
        if (!c.resources?.requests?.cpu || !c.resources?.requests?.memory || !c.resources?.limits?.memory) problems.push(`${where}: needs resources.requests.cpu, requests.memory and limits.memory`);
        if (!c.livenessProbe || !c.readinessProbe) problems.push(`${where}: needs a livenessProbe and a readinessProbe`);
        if (!isCarshareImage(c.image)) continue;

        // carshare: /tmp from an emptyDir, configuration from known variables, probes on its health port.
        const tmp = ((c.volumeMounts ?? []) as Obj[]).find((m) => m.mountPath === "/tmp");
        const vol = tmp && ((spec.volumes ?? []) as Obj[]).find((v) => v.name === tmp.name);
        if (!vol?.emptyDir) problems.push(`${where}: /tmp must be an emptyDir (the root filesystem is read-only)`);
        const env = (c.env ?? []) as Obj[];
        problems.push(...unknownVariables(env.map((e) => e.name), `${where} env`));
        const settings: Record<string, string> = {};
        for (const from of (c.envFrom ?? []) as Obj[]) {
          const cm = from.configMapRef?.name;
          const sec = from.secretRef?.name;
          if (cm) {
            if (!configMaps.has(cm)) problems.push(`${where}: envFrom ConfigMap ${cm} is not in the output`);
            else Object.assign(settings, configMaps.get(cm)!.data);
          }
          if (sec && !secrets.has(sec) && !r.externalSecrets.includes(sec)) problems.push(`${where}: envFrom Secret ${sec} is not in the output`);
        }
        for (const e of env) if (e.value !== undefined) settings[e.name] = e.value;
        const svc = settings.SERVICES ?? "";
        const isGateway = svc.split(",").includes("gateway");
        const portVar = isGateway ? "PORT" : "HEALTH_PORT";
        const port = Number(settings[portVar] ?? (isGateway ? 3000 : 3001));
        const namedPorts = new Map(((c.ports ?? []) as Obj[]).map((p) => [p.name, p.containerPort]));
        for (const [probe, wantPath] of [["livenessProbe", "/health/live"], ["readinessProbe", "/health/ready"]] as const) {
          const get = c[probe]?.httpGet;
          if (!get) continue;
          const actual = typeof get.port === "string" ? namedPorts.get(get.port) : get.port;
          if (get.path !== wantPath) problems.push(`${where}: ${probe} asks ${get.path}, expected ${wantPath}`);
          if (actual !== port) problems.push(`${where}: ${probe} asks port ${get.port} (${actual ?? "unknown"}), but the process serves health on ${portVar}=${port}`);
        }
      }
    }

    // Scaling: the gateway and bookings have an HPA and a PDB that select them.
    for (const name of ["gateway", "bookings"]) {
      const dep = deployments.find((d) => d.metadata?.name === name);
      if (!dep) continue;
      const hpa = byKind("HorizontalPodAutoscaler").filter((h) => h.spec?.scaleTargetRef?.kind === "Deployment" && h.spec?.scaleTargetRef?.name === name);
      if (hpa.length !== 1) problems.push(`k8s ${r.name}: Deployment ${name} needs exactly one HorizontalPodAutoscaler (has ${hpa.length})`);
      if (hpa.length === 1 && dep.spec?.replicas !== undefined) problems.push(`k8s ${r.name}: Deployment ${name} sets replicas, which fights its HorizontalPodAutoscaler`);
      const pdb = byKind("PodDisruptionBudget").filter((p) => matches(p.spec?.selector, dep.spec?.template?.metadata?.labels));
      if (pdb.length !== 1) problems.push(`k8s ${r.name}: Deployment ${name} needs exactly one PodDisruptionBudget selecting its pods (has ${pdb.length})`);
    }
    for (const h of byKind("HorizontalPodAutoscaler")) {
      if (!deployments.some((d) => d.metadata?.name === h.spec?.scaleTargetRef?.name)) problems.push(`${at(h)}: scales ${h.spec?.scaleTargetRef?.name}, which is not a Deployment here`);
      if ((h.spec?.minReplicas ?? 1) > h.spec?.maxReplicas) problems.push(`${at(h)}: minReplicas > maxReplicas`);
    }

    // The gateway's Service and Ingress reach its pods.
    const gw = deployments.find((d) => d.metadata?.name === "gateway");
    const services = byKind("Service");
    for (const ing of byKind("Ingress")) {
      for (const rule of (ing.spec?.rules ?? []) as Obj[]) {
        for (const p of (rule.http?.paths ?? []) as Obj[]) {
          const backend = p.backend?.service;
          const svc = services.find((s) => s.metadata?.name === backend?.name);
          if (!svc) problems.push(`${at(ing)}: backend Service ${backend?.name} is not in the output`);
          else if (!((svc.spec?.ports ?? []) as Obj[]).some((sp) => sp.name === backend.port?.name || sp.port === backend.port?.number)) problems.push(`${at(ing)}: Service ${backend.name} has no port ${JSON.stringify(backend.port)}`);
        }
      }
    }
    const gwSvc = services.find((s) => s.metadata?.name === "gateway");
    if (!gwSvc) problems.push(`k8s ${r.name}: no Service "gateway"`);
    else if (gw && !matches({ matchLabels: gwSvc.spec?.selector }, gw.spec?.template?.metadata?.labels)) problems.push(`${at(gwSvc)}: its selector does not select the gateway's pods`);
    if (!byKind("Ingress").length) problems.push(`k8s ${r.name}: no Ingress for the gateway`);
    for (const infra of ["nats", "mongodb", "redis"]) {
      if (r.name !== "base") continue;
      if (!byKind("StatefulSet").some((s) => s.metadata?.name === infra)) problems.push(`k8s base: no StatefulSet ${infra}`);
    }
  }
  return problems;
}

/** Every check on one root: the list of problems (empty = all fine). */
export function allProblems(root: string): string[] {
  const { rendered, problems } = renderK8s(root);
  return [
    ...problems,
    ...composeProblems(root),
    ...dockerfileProblems(root),
    ...k8sSchemaProblems(root, rendered),
    ...k8sUpstreamProblems(rendered),
    ...k8sConsistencyProblems(root, rendered),
  ];
}

/** A copy of the deployment files in a temp folder, to mutate. */
export function copyDeployFiles(dest: string, root = REPO_ROOT): string {
  for (const f of DEPLOY_FILES) {
    const from = path.join(root, f);
    if (fs.existsSync(from)) fs.cpSync(from, path.join(dest, f), { recursive: true });
  }
  return dest;
}
