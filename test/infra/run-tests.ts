/**
 * Test entry point (`npm test` runs it after typecheck and lint; run with tsx).
 *
 *   npx tsx test/infra/run-tests.ts [jest args...]
 *   e.g. npx tsx test/infra/run-tests.ts --selectProjects unit
 *        npx tsx test/infra/run-tests.ts test/integration/infra.test.ts
 *
 * Brings up NATS, Redis and MongoDB/FerretDB (see ./services.ts), exports their URLs plus a
 * unique TEST_NAMESPACE, runs jest --runInBand with stdio inherited, tears the
 * infrastructure down (also on SIGINT/SIGTERM) and exits with jest's exit code after
 * printing a machine-readable `N passed, N failed` line.
 */
import { spawn, ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ensureInfra, Infra, InfraError, REPO_ROOT } from "./services";

interface JestJson {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTotalTests: number;
  numFailedTestSuites: number;
  numRuntimeErrorTestSuites: number;
  numTotalTestSuites: number;
  success: boolean;
}

const say = (msg: string): void => {
  process.stdout.write(`${msg}\n`);
};

async function main(): Promise<number> {
  const jestArgs = process.argv.slice(2);
  const namespace = `carshare-test-${randomBytes(5).toString("hex")}`;

  let infra: Infra;
  try {
    infra = await ensureInfra();
  } catch (e) {
    process.stderr.write(`\n${e instanceof InfraError ? e.message : (e as Error).stack}\n`);
    process.stderr.write("Integration tests need real NATS, Redis and MongoDB; refusing to run without them.\n");
    say("0 passed, 0 failed (infrastructure unavailable)");
    return 2;
  }

  let child: ChildProcess | null = null;
  let stopped = false;
  const stopInfra = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await infra.stop();
  };
  const onSignal = (sig: NodeJS.Signals): void => {
    process.stderr.write(`\n[test-infra] ${sig} received, stopping jest and test infrastructure\n`);
    if (child && child.exitCode === null) child.kill(sig);
    void stopInfra().finally(() => process.exit(sig === "SIGINT" ? 130 : 143));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);

  const resultsFile = path.join(os.tmpdir(), `${namespace}-jest-results.json`);
  try {
    const env = {
      ...process.env,
      NATS_URL: infra.natsUrl,
      REDIS_URL: infra.redisUrl,
      MONGO_URL: infra.mongoUrl,
      TEST_NAMESPACE: namespace,
      TEST_INFRA_MONGO_KIND: infra.sources.mongo,
      // "local" = the machine's own servers (tests may restart them), "env" or "docker" = someone else's.
      TEST_INFRA_NATS_SOURCE: infra.sources.nats,
      TEST_INFRA_REDIS_SOURCE: infra.sources.redis,
    };
    say(
      `[test-infra] NATS ${infra.natsUrl} (${infra.sources.nats}), Redis ${infra.redisUrl} (${infra.sources.redis}), ` +
        `MongoDB ${infra.mongoUrl} (${infra.sources.mongo}), TEST_NAMESPACE=${namespace}`,
    );

    // Run jest's own bin with this node (equivalent to `npx jest`, without npx's extra process in the signal path).
    const jestBin = require.resolve("jest/bin/jest", { paths: [REPO_ROOT] });
    const args = [jestBin, "--runInBand", "--json", `--outputFile=${resultsFile}`, ...jestArgs];
    const code = await new Promise<number>((resolve) => {
      child = spawn(process.execPath, args, { cwd: REPO_ROOT, env, stdio: "inherit" });
      child.once("error", (e) => {
        process.stderr.write(`[test-infra] could not start jest: ${e.message}\n`);
        resolve(1);
      });
      child.once("exit", (c, sig) => resolve(c ?? (sig === "SIGINT" ? 130 : 1)));
    });

    let exitCode = code;
    let results: JestJson | null = null;
    try {
      results = JSON.parse(fs.readFileSync(resultsFile, "utf8")) as JestJson;
    } catch {
      results = null;
    }
    if (!results) {
      say(`0 passed, 0 failed (jest wrote no results; exit code ${code})`);
      return exitCode === 0 ? 1 : exitCode;
    }
    if (results.numTotalTests === 0 && exitCode === 0) {
      process.stderr.write("[test-infra] jest ran no tests; failing\n");
      exitCode = 1;
    }
    const brokenSuites = results.numRuntimeErrorTestSuites;
    say(
      `${results.numPassedTests} passed, ${results.numFailedTests} failed` +
        (results.numPendingTests ? `, ${results.numPendingTests} skipped` : "") +
        (brokenSuites ? `, ${brokenSuites} suite(s) failed to run` : ""),
    );
    return exitCode;
  } finally {
    fs.rmSync(resultsFile, { force: true });
    await stopInfra();
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`[test-infra] ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  },
);
