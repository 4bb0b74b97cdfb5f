/**
 * Proves the integration-test dependencies are real and reachable through the URLs that
 * test/infra/run-tests.ts exports. No skipping: a missing variable is a failure.
 */
import { connect, StringCodec, NatsConnection } from "nats";
import Redis from "ioredis";
import { MongoClient, MongoServerError } from "mongodb";
import { requireEnv } from "../support/distributed";

const namespace = (): string => requireEnv("TEST_NAMESPACE");

jest.setTimeout(30_000);

describe("NATS", () => {
  let nc: NatsConnection;

  beforeAll(async () => {
    nc = await connect({ servers: requireEnv("NATS_URL").split(","), timeout: 5000 });
  });
  afterAll(async () => {
    await nc?.drain();
  });

  it("delivers a published message to a subscriber", async () => {
    const sc = StringCodec();
    const subject = `${namespace()}.infra.ping`;
    const sub = nc.subscribe(subject, { max: 1 });
    const received = (async () => {
      for await (const m of sub) return sc.decode(m.data);
      return undefined;
    })();
    await nc.flush();
    nc.publish(subject, sc.encode("hello"));
    await expect(received).resolves.toBe("hello");
  });

  it("has JetStream: creates a stream, publishes to it and deletes it", async () => {
    const jsm = await nc.jetstreamManager();
    const stream = `${namespace()}_infra`.replace(/[^A-Za-z0-9_-]/g, "_");
    const subject = `${namespace()}.infra.js`;
    await jsm.streams.add({ name: stream, subjects: [`${subject}.>`] });
    try {
      const js = nc.jetstream();
      const ack = await js.publish(`${subject}.one`, StringCodec().encode("persisted"));
      expect(ack.stream).toBe(stream);
      expect(ack.seq).toBe(1);
      const info = await jsm.streams.info(stream);
      expect(info.state.messages).toBe(1);
    } finally {
      await jsm.streams.delete(stream);
    }
    await expect(jsm.streams.info(stream)).rejects.toThrow(/stream not found/i);
  });
});

describe("Redis", () => {
  let redis: Redis;

  beforeAll(() => {
    redis = new Redis(requireEnv("REDIS_URL"), { maxRetriesPerRequest: 1 });
  });
  afterAll(async () => {
    await redis?.quit();
  });

  it("sets, reads and deletes a namespaced key", async () => {
    const key = `${namespace()}:infra:key`;
    expect(await redis.set(key, "value", "EX", 60)).toBe("OK");
    expect(await redis.get(key)).toBe("value");
    expect(await redis.del(key)).toBe(1);
    expect(await redis.get(key)).toBeNull();
  });
});

describe("MongoDB", () => {
  let client: MongoClient;
  const dbName = (): string => `${namespace()}_infra`;

  beforeAll(async () => {
    client = new MongoClient(requireEnv("MONGO_URL"), { serverSelectionTimeoutMS: 5000 });
    await client.connect();
  });
  afterAll(async () => {
    if (client) {
      await client.db(dbName()).dropDatabase();
      const { databases } = await client.db().admin().listDatabases();
      expect(databases.map((d) => d.name)).not.toContain(dbName());
      await client.close();
    }
  });

  it("reports what server it is", async () => {
    const info = await client.db().admin().command({ buildInfo: 1 });
    const kind = info.ferretdbVersion ? `FerretDB ${info.ferretdbVersion} (MongoDB ${info.version} compatible)` : `MongoDB ${info.version}`;
    console.log(`MONGO_URL server: ${kind}`);
    expect(typeof info.version).toBe("string");
    if (process.env.TEST_INFRA_MONGO_KIND === "ferretdb") {
      // run-tests.ts started the FerretDB stand-in; make sure that is what we are talking to.
      expect(info.ferretdbVersion).toEqual(expect.any(String));
    }
  });

  it("inserts, enforces a unique index and does conditional findOneAndUpdate", async () => {
    const cars = client.db(dbName()).collection<{ _id?: unknown; plate: string; status: string; version: number }>("cars");

    const ins = await cars.insertOne({ plate: "AB-123", status: "available", version: 1 });
    expect(ins.acknowledged).toBe(true);

    await cars.createIndex({ plate: 1 }, { unique: true });
    let dupError: unknown;
    try {
      await cars.insertOne({ plate: "AB-123", status: "available", version: 1 });
    } catch (e) {
      dupError = e;
    }
    expect(dupError).toBeInstanceOf(MongoServerError);
    expect((dupError as MongoServerError).code).toBe(11000);
    expect(await cars.countDocuments({ plate: "AB-123" })).toBe(1);

    // Optimistic "reserve if still available" update.
    const reserved = await cars.findOneAndUpdate(
      { plate: "AB-123", status: "available", version: 1 },
      { $set: { status: "reserved" }, $inc: { version: 1 } },
      { returnDocument: "after" },
    );
    expect(reserved).toMatchObject({ plate: "AB-123", status: "reserved", version: 2 });

    const again = await cars.findOneAndUpdate(
      { plate: "AB-123", status: "available", version: 1 },
      { $set: { status: "reserved" }, $inc: { version: 1 } },
      { returnDocument: "after" },
    );
    expect(again).toBeNull();
  });
});
