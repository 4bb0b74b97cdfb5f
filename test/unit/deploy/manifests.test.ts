/**
 * The deployment files (Dockerfile, docker-compose.yml, deploy/, k8s/) checked
 * offline: schemas, kustomize renders, and consistency with lib/config.ts.
 * The second half mutates a copy and sees each check fail.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ALL_SERVICES, configVariables } from "../../../lib/config";
import { ensureKustomize } from "../../infra/kustomize";
import {
  REPO_ROOT,
  allProblems,
  composeProblems,
  copyDeployFiles,
  dockerfileProblems,
  k8sConsistencyProblems,
  k8sSchemaProblems,
  k8sUpstreamProblems,
  renderK8s,
  type Rendered,
} from "./checks";

jest.setTimeout(120_000);

beforeAll(() => {
  ensureKustomize(); // built once with go install (minutes on a cold Go cache)
}, 15 * 60_000);

describe("the repository's deployment files", () => {
  let rendered: Rendered[];

  beforeAll(() => {
    const r = renderK8s(REPO_ROOT);
    expect(r.problems).toEqual([]);
    rendered = r.rendered;
  });

  test("when lib/config.ts is read, then configVariables() lists every variable it names", () => {
    const source = fs.readFileSync(path.join(REPO_ROOT, "lib/config.ts"), "utf8");
    const named = [...source.matchAll(/\(env, "([A-Z][A-Z0-9_]*)"/g)].map((m) => m[1]);
    expect(named.length).toBeGreaterThan(20);
    expect(configVariables()).toEqual(expect.arrayContaining([...new Set(named)]));
  });

  test("when docker-compose.yml is checked, then it matches the Compose specification and runs every service", () => {
    expect(composeProblems(REPO_ROOT)).toEqual([]);
  });

  test("when the Dockerfile is checked, then it builds in stages and runs node as a non-root uid", () => {
    expect(dockerfileProblems(REPO_ROOT)).toEqual([]);
  });

  test("when the base and the overlays are rendered, then each has a Deployment per service and the infrastructure", () => {
    expect(rendered.map((r) => r.name)).toEqual(["base", "dev", "prod"]);
    for (const r of rendered) {
      const deployments = r.docs.filter((d) => d.kind === "Deployment").map((d) => d.metadata.name);
      expect(deployments.sort()).toEqual([...ALL_SERVICES].sort());
      const kinds = new Set(r.docs.map((d) => d.kind));
      for (const k of ["Namespace", "ConfigMap", "StatefulSet", "Service", "Ingress", "HorizontalPodAutoscaler", "PodDisruptionBudget"]) expect(kinds).toContain(k);
    }
    const ns = (name: string) => rendered.find((r) => r.name === name)!.docs.find((d) => d.kind === "Namespace")!.metadata.name;
    expect([ns("dev"), ns("prod")]).toEqual(["carshare-dev", "carshare"]);
    expect(rendered.find((r) => r.name === "prod")!.docs.some((d) => d.kind === "Secret")).toBe(false);
  });

  test("when every rendered object is validated, then it matches the strict schema", () => {
    expect(k8sSchemaProblems(REPO_ROOT, rendered)).toEqual([]);
  });

  test("when every rendered object is validated, then it matches the upstream Kubernetes API schema", () => {
    expect(k8sUpstreamProblems(rendered)).toEqual([]);
  });

  test("when the renders are compared with lib/config.ts and the Dockerfile, then they agree", () => {
    expect(k8sConsistencyProblems(REPO_ROOT, rendered)).toEqual([]);
  });
});

describe("a mutated copy of the deployment files", () => {
  let root: string;

  beforeEach(() => {
    root = copyDeployFiles(fs.mkdtempSync(path.join(os.tmpdir(), "carshare-deploy-")));
  });

  afterEach(() => {
    fs.rmSync(root, { recursive: true, force: true });
  });

  /** Replaces `from` with `to` in a file of the copy; fails if `from` is not there (the test would prove nothing). */
  function edit(file: string, from: string | RegExp, to: string): void {
    const full = path.join(root, file);
    const text = fs.readFileSync(full, "utf8");
    const next = text.replace(from, to);
    if (next === text) throw new Error(`${file} does not contain ${from}`);
    fs.writeFileSync(full, next);
  }

  /** Removes the YAML documents of a multi-document file that `drop` selects. */
  function dropDocuments(file: string, drop: (doc: string) => boolean): void {
    const full = path.join(root, file);
    const docs = fs.readFileSync(full, "utf8").split(/^---\n/m);
    const kept = docs.filter((d) => !drop(d));
    if (kept.length === docs.length) throw new Error(`${file}: no document to drop`);
    fs.writeFileSync(full, kept.join("---\n"));
  }

  const k8s = () => {
    const r = renderK8s(root);
    return { ...r, consistency: k8sConsistencyProblems(root, r.rendered), strict: k8sSchemaProblems(root, r.rendered) };
  };

  test("when nothing is changed, then the copy passes every check", () => {
    expect(allProblems(root)).toEqual([]);
  });

  test("when compose loses a service's container, then the check names the service", () => {
    edit("docker-compose.yml", /\n {2}vehicles:\n( {4}.*\n)+/, "\n");
    expect(composeProblems(root)).toContainEqual(expect.stringMatching(/no container runs service "vehicles"/));
  });

  test("when a compose container runs the wrong SERVICES, then it is reported", () => {
    edit("docker-compose.yml", "SERVICES: kyc", "SERVICES: kyc-service");
    const problems = composeProblems(root);
    expect(problems).toContainEqual(expect.stringMatching(/kyc has SERVICES="kyc-service"/));
    expect(problems).toContainEqual(expect.stringMatching(/no container runs service "kyc"/));
  });

  test("when compose has a misspelt key or a bad condition, then the Compose schema rejects it", () => {
    edit("docker-compose.yml", "  nats:\n    image:", "  nats:\n    helthcheck: {}\n    image:");
    edit("docker-compose.yml", /condition: service_healthy/, "condition: service_happy");
    const problems = composeProblems(root).join("\n");
    expect(problems).toMatch(/does not match the Compose specification: .*\/services\/nats must NOT have additional properties "helthcheck"/);
    expect(problems).toMatch(/condition must be equal to one of the allowed values/);
  });

  test("when a carshare container starts before its dependencies are healthy, then it is reported", () => {
    edit("docker-compose.yml", /x-infra: &infra\n {2}nats:\n {4}condition: service_healthy/, "x-infra: &infra\n  nats:\n    condition: service_started");
    expect(composeProblems(root)).toContainEqual(expect.stringMatching(/auth must depend on nats with condition service_healthy/));
  });

  test("when the env file sets a variable lib/config.ts does not read, then it is reported", () => {
    edit("deploy/carshare.env", "LOG_LEVEL=info", "LOG_LEVEL=info\nLOGLEVEL=debug");
    expect(composeProblems(root)).toContainEqual(expect.stringMatching(/deploy\/carshare\.env: sets LOGLEVEL, which lib\/config\.ts does not read/));
  });

  test("when a real-looking JWT secret is committed to the env file, then it is reported", () => {
    edit("deploy/carshare.env", "JWT_SECRET=CHANGE_ME", "JWT_SECRET=4f3c2b1a0f9e8d7c6b5a4f3c2b1a0f9e8d7c6b5a");
    expect(composeProblems(root)).toContainEqual(expect.stringMatching(/JWT_SECRET looks like a real secret/));
  });

  test("when the Dockerfile runs as root, by name, or through a shell, then it is reported", () => {
    edit("Dockerfile", "USER 10001:10001", "USER root");
    expect(dockerfileProblems(root)).toContainEqual(expect.stringMatching(/runs as root/));
    edit("Dockerfile", "USER root", "USER carshare");
    expect(dockerfileProblems(root)).toContainEqual(expect.stringMatching(/not numeric/));
    edit("Dockerfile", "USER carshare\n", "");
    edit("Dockerfile", 'ENTRYPOINT ["node", "dist/bin/carshare.js"]', "ENTRYPOINT node dist/bin/carshare.js");
    const problems = dockerfileProblems(root);
    expect(problems).toContainEqual(expect.stringMatching(/no USER: it would run as root/));
    expect(problems).toContainEqual(expect.stringMatching(/ENTRYPOINT must be/));
  });

  test("when the Dockerfile copies sources into the runtime image or drops the health check, then it is reported", () => {
    edit("Dockerfile", "COPY package.json ./\n", "COPY package.json ./\nCOPY lib/ lib/\n");
    edit("Dockerfile", /HEALTHCHECK .*\n/, "");
    const problems = dockerfileProblems(root);
    expect(problems).toContainEqual(expect.stringMatching(/copies lib\/ from the build context/));
    expect(problems).toContainEqual(expect.stringMatching(/no HEALTHCHECK/));
  });

  test("when the base loses a service's Deployment, then every render reports it", () => {
    edit("k8s/base/kustomization.yaml", "  - services/trust.yaml\n", "");
    const { problems, consistency } = k8s();
    for (const r of ["base", "dev"]) expect(consistency).toContainEqual(`k8s ${r}: no Deployment runs service "trust" (a carshare container with env SERVICES=trust)`);
    // prod sets the replicas of trust, so its render fails outright.
    expect(problems).toEqual([expect.stringMatching(/^k8s\/overlays\/prod: kustomize build .* failed: .*resource with name trust/)]);
  });

  test("when a Deployment runs the wrong SERVICES, then it is reported", () => {
    edit("k8s/base/services/kyc.yaml", "value: kyc", "value: kyc,auth");
    expect(k8s().consistency).toContainEqual(expect.stringMatching(/k8s base: Deployment kyc: container carshare has SERVICES="kyc,auth"/));
  });

  test("when the ConfigMap sets a variable lib/config.ts does not read, then it is reported", () => {
    edit("k8s/base/carshare.env", "LOG_LEVEL=info", "LOG_LEVEL=info\nMONGO_URI=mongodb://x/");
    expect(k8s().consistency).toContainEqual(expect.stringMatching(/k8s dev: ConfigMap carshare-config-\w+ data: sets MONGO_URI/));
  });

  test("when a manifest has a misspelt field, then the strict schema rejects it", () => {
    edit("k8s/base/services/auth.yaml", "          readinessProbe:", "          readinessProbee:");
    expect(k8s().strict).toContainEqual(expect.stringMatching(/k8s base: Deployment auth does not match the strict schema: .*must NOT have additional properties "readinessProbee"/));
  });

  test("when a manifest has a wrong type or misses a required field, then the upstream API schema rejects it", () => {
    edit("k8s/base/services/payments.yaml", "containerPort: 3001", 'containerPort: "3001"');
    edit("k8s/base/gateway.yaml", /\n {2}selector:\n {4}matchLabels:\n( {6}.*\n)+/, "\n");
    const problems = k8sUpstreamProblems(renderK8s(root).rendered).join("\n");
    expect(problems).toMatch(/k8s base: Deployment payments: apps\/v1 Deployment does not match the Kubernetes API schema: \/spec\/template\/spec\/containers\/0\/ports\/0\/containerPort must be integer/);
    expect(problems).toMatch(/k8s prod: Deployment gateway: apps\/v1 Deployment does not match the Kubernetes API schema: \/spec must have required property '?selector'?/);
  });

  test("when an HPA uses an older API version, then the strict schema rejects it (the upstream one allows unknown fields)", () => {
    edit("k8s/base/autoscaling.yaml", "apiVersion: autoscaling/v2", "apiVersion: autoscaling/v1");
    expect(k8s().strict).toContainEqual(expect.stringMatching(/k8s base: HorizontalPodAutoscaler gateway does not match the strict schema: \/apiVersion must be equal to constant/));
  });

  test("when an overlay names a patch that is not there, then rendering fails", () => {
    edit("k8s/overlays/dev/kustomization.yaml", "  - path: ingress.yaml", "  - path: ingres.yaml");
    expect(k8s().problems).toContainEqual(expect.stringMatching(/^k8s\/overlays\/dev: kustomize build .* failed: .*ingres\.yaml/s));
  });

  test("when a pod may write its root filesystem or keeps capabilities, then it is reported", () => {
    edit("k8s/base/gateway.yaml", "readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false");
    edit("k8s/base/redis.yaml", 'drop: ["ALL"]', 'drop: ["NET_RAW"]');
    const { consistency } = k8s();
    expect(consistency).toContainEqual("k8s prod: Deployment gateway container carshare: readOnlyRootFilesystem is not true");
    expect(consistency).toContainEqual("k8s base: StatefulSet redis container redis: does not drop ALL capabilities");
  });

  test("when a probe asks a port the process does not serve health on, then it is reported", () => {
    edit("k8s/base/services/notifications.yaml", /readinessProbe:\n {12}httpGet:\n {14}path: \/health\/ready\n {14}port: health/, "readinessProbe:\n            httpGet:\n              path: /health/ready\n              port: 3000");
    expect(k8s().consistency).toContainEqual(expect.stringMatching(/Deployment notifications container carshare: readinessProbe asks port 3000 \(3000\), but the process serves health on HEALTH_PORT=3001/));
  });

  test("when bookings loses its autoscaler, then it is reported", () => {
    for (const f of ["k8s/base/autoscaling.yaml", "k8s/overlays/dev/autoscaling.yaml", "k8s/overlays/prod/autoscaling.yaml"]) {
      dropDocuments(f, (doc) => /kind: HorizontalPodAutoscaler/.test(doc) && /name: bookings/.test(doc));
    }
    const { problems, consistency } = k8s();
    expect(problems).toEqual([]);
    for (const r of ["base", "dev", "prod"]) expect(consistency).toContainEqual(`k8s ${r}: Deployment bookings needs exactly one HorizontalPodAutoscaler (has 0)`);
  });

  test("when the prod overlay would render the placeholder Secret, then it is reported", () => {
    edit("k8s/overlays/prod/kustomization.yaml", "  - path: no-secret.yaml\n", "");
    expect(k8s().consistency).toContainEqual("k8s prod: renders Secret carshare-secrets, which is created out of band here; applying it would overwrite the real one");
  });

  test("when the image's uid and the pods' runAsUser differ, then it is reported", () => {
    edit("Dockerfile", "USER 10001:10001", "USER 10002:10002");
    expect(k8s().consistency).toContainEqual(expect.stringMatching(/Deployment auth: runAsUser 10001, but the image runs as 10002/));
  });
});
