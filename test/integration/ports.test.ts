/** The distributed adapters keep the same port contracts, on real MongoDB (FerretDB here) and Redis. */
import { MongoDatabase } from "../../lib/store/mongo";
import { RedisKv, newRedisClient } from "../../lib/kv";
import { BullQueue } from "../../lib/queue";
import { kvContract, queueContract, storeContract } from "../support/port-contracts";
import { requireEnv as env } from "../support/distributed";

const ns = () => env("TEST_NAMESPACE");
let n = 0;

describe("MongoDB store (mongoose)", () =>
  storeContract(async () => {
    const db = await MongoDatabase.connect(env("MONGO_URL"), `${ns()}_ports`.replace(/[^A-Za-z0-9_]/g, "_"), () => undefined);
    return db;
  }));

describe("Redis kv", () => kvContract(() => {
  const client = newRedisClient(env("REDIS_URL"));
  return new RedisKv(client, `${ns()}:`);
}, () => `kv${++n}`));

describe("Bull queue", () => queueContract(() => new BullQueue(env("REDIS_URL"), `${ns()}:bull:${++n}`)));

test("when MongoDB does not answer, then connecting fails with a clear message after a bounded number of tries", async () => {
  const started = Date.now();
  await expect(MongoDatabase.connect("mongodb://127.0.0.1:1/", "nothing", () => undefined)).rejects.toThrow(/Cannot connect to MongoDB at mongodb:\/\/127.0.0.1:1\//);
  expect(Date.now() - started).toBeLessThan(60_000);
}, 70_000);
