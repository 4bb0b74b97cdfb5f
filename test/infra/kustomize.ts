/**
 * kustomize for the deploy checks (test/unit/deploy): a pinned version, built
 * once with `go install` through the Go module proxy into .test-infra/ and
 * reused after (like the FerretDB launcher in ./services.ts).
 *
 *   KUSTOMIZE_BIN=/path/to/kustomize   use that binary instead (checked, never built)
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { InfraError, REPO_ROOT } from "./services";

/** v5.8.2+ need Go 1.27; this is the newest that Go 1.24-1.26 builds. */
export const KUSTOMIZE_VERSION = "v5.8.1";
const MODULE = "sigs.k8s.io/kustomize/kustomize/v5";
const INSTALL_DIR = path.join(REPO_ROOT, ".test-infra", "kustomize", KUSTOMIZE_VERSION);

function versionOf(bin: string): string | null {
  const r = spawnSync(bin, ["version"], { encoding: "utf8", timeout: 20_000 });
  return r.status === 0 ? r.stdout.trim() : null;
}

let resolved: string | undefined;

/** The path of a working kustomize binary; builds the pinned version when missing. Throws InfraError when it cannot. */
export function ensureKustomize(): string {
  if (resolved) return resolved;
  const given = process.env.KUSTOMIZE_BIN?.trim();
  if (given) {
    if (!versionOf(given)) throw new InfraError(`KUSTOMIZE_BIN=${given} does not run \`kustomize version\``);
    return (resolved = given);
  }
  const bin = path.join(INSTALL_DIR, "kustomize");
  if (fs.existsSync(bin) && versionOf(bin)) return (resolved = bin);

  const go = spawnSync("go", ["version"], { encoding: "utf8" });
  if (go.status !== 0) {
    throw new InfraError(
      `the deploy checks render k8s/ with kustomize ${KUSTOMIZE_VERSION}, which is built with Go, but \`go\` is not on PATH. ` +
        `Install Go >= 1.24, or set KUSTOMIZE_BIN to a kustomize v5 binary.`,
    );
  }
  process.stderr.write(`[test-infra] building kustomize ${KUSTOMIZE_VERSION} -> ${path.relative(REPO_ROOT, bin)} (go install, once)...\n`);
  fs.mkdirSync(INSTALL_DIR, { recursive: true });
  // GOBIN is the install folder; go install writes the binary whole (no half-written file for a concurrent run).
  const r = spawnSync("go", ["install", `${MODULE}@${KUSTOMIZE_VERSION}`], {
    encoding: "utf8",
    env: { ...process.env, GOBIN: INSTALL_DIR, GOFLAGS: "-mod=mod" },
    timeout: 15 * 60_000,
  });
  if (r.status !== 0 || !versionOf(bin)) {
    throw new InfraError(
      `go install ${MODULE}@${KUSTOMIZE_VERSION} failed (exit ${r.status ?? "?"}):\n${(r.stderr || r.stdout || "").trim()}\n` +
        `Set KUSTOMIZE_BIN to a kustomize v5 binary to skip the build.`,
    );
  }
  return (resolved = bin);
}

/** `kustomize build <dir>`: the rendered YAML, or an error with kustomize's message. */
export function kustomizeBuild(dir: string): string {
  const r = spawnSync(ensureKustomize(), ["build", dir], { encoding: "utf8", timeout: 60_000, maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`kustomize build ${dir} failed: ${(r.stderr || r.stdout || `exit ${r.status}`).trim()}`);
  return r.stdout;
}
