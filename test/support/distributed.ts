/**
 * Test rig for the integration tests of the distributed profile (real NATS,
 * Redis and MongoDB/FerretDB, as exported by test/infra/run-tests.ts): the
 * environment their brokers are configured from, and the cleanup that leaves
 * nothing of a test's namespace behind.
 */
import { connect } from "nats";
import Redis from "ioredis";
import { MongoClient } from "mongodb";

/** A variable test/infra/run-tests.ts exports (NATS_URL, REDIS_URL, MONGO_URL, TEST_NAMESPACE); missing infrastructure fails the test. */
export function requireEnv(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run through \`npx tsx test/infra/run-tests.ts\`, which starts NATS, Redis and MongoDB/FerretDB and exports it.`);
  return v;
}

/** This run's TEST_NAMESPACE, or a namespace of its own under it (`<TEST_NAMESPACE>-<suffix>`). */
export function testNamespace(suffix?: string): string {
  const base = requireEnv("TEST_NAMESPACE");
  return suffix ? `${base}-${suffix}` : base;
}

/**
 * The environment (for `loadConfig`, or a spawned process) of a distributed node in `namespace`:
 * the run's NATS, Redis and MongoDB, a fixed JWT secret, a free port, no rate limit; `extra` on top.
 */
export function distributedEnv(namespace: string, dataDir: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    TRANSPORTER: requireEnv("NATS_URL"),
    MONGO_URL: requireEnv("MONGO_URL"),
    REDIS_URL: requireEnv("REDIS_URL"),
    NAMESPACE: namespace,
    JWT_SECRET: "x".repeat(40),
    DATA_DIR: dataDir,
    PORT: "0",
    LOG_LEVEL: "warn",
    RATE_LIMIT_PER_MINUTE: "0",
    ...extra,
  };
}

/**
 * Leaves nothing of `namespace` behind: its MongoDB databases (`<namespace>_<service>`, see
 * lib/store), its JetStream streams (subjects `<namespace>.<channel>`, see @moleculer/channels) and
 * its Redis keys (`<namespace>:...`, see lib/kv and lib/queue).
 */
export async function cleanupNamespace(namespace: string): Promise<void> {
  const mongo = new MongoClient(requireEnv("MONGO_URL"), { serverSelectionTimeoutMS: 5000 });
  try {
    await mongo.connect();
    const dbPrefix = namespace.replace(/[^A-Za-z0-9_]/g, "_");
    const { databases } = await mongo.db().admin().listDatabases();
    for (const d of databases) if (d.name.startsWith(dbPrefix)) await mongo.db(d.name).dropDatabase();
  } finally {
    await mongo.close();
  }

  const nc = await connect({ servers: requireEnv("NATS_URL").split(",") });
  try {
    const jsm = await nc.jetstreamManager();
    for await (const s of jsm.streams.list()) {
      if (s.config.subjects?.some((subj) => subj.startsWith(`${namespace}.`))) await jsm.streams.delete(s.config.name);
    }
  } finally {
    await nc.drain();
  }

  const redis = new Redis(requireEnv("REDIS_URL"), { maxRetriesPerRequest: 1 });
  try {
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${namespace}:*`, "COUNT", 500);
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== "0");
  } finally {
    await redis.quit();
  }
}
