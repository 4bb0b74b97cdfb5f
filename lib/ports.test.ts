/** The embedded adapters keep the port contracts (test/support/port-contracts.ts). */
import path from "node:path";
import fs from "node:fs";
import { NedbDatabase } from "./store/nedb";
import { MemoryKv } from "./kv";
import { MemoryQueue } from "./queue";
import { kvContract, queueContract, storeContract } from "../test/support/port-contracts";
import { tempDir } from "../test/support/system";

const dir = tempDir("carshare-ports-");
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("NeDB store", () => storeContract(async () => new NedbDatabase(path.join(dir, "store"))));
describe("memory kv", () => kvContract(() => new MemoryKv(), () => "k"));
describe("memory queue", () => queueContract(() => new MemoryQueue()));

test("when the embedded store is closed and opened again, then the data is still there", async () => {
  const where = path.join(dir, "reopen");
  const a = new NedbDatabase(where);
  await a.collection<{ _id: string; n: number }>("c").insert({ _id: "x", n: 1 });
  await a.collection<{ _id: string; n: number }>("c").updateOne({ _id: "x" }, { $inc: { n: 1 } });
  await a.close();
  const b = new NedbDatabase(where);
  expect(await b.collection<{ _id: string; n: number }>("c").findById("x")).toEqual({ _id: "x", n: 2 });
  await b.close();
});

test("when the memory kv is closed with a snapshot file, then a new one reads the live keys back", async () => {
  const file = path.join(dir, "kv.json");
  const a = new MemoryKv(file);
  await a.set("keep", "1", 60_000);
  await a.set("gone", "1", 1);
  await new Promise((r) => setTimeout(r, 5));
  await a.close();
  const b = new MemoryKv(file);
  expect(await b.get("keep")).toBe("1");
  expect(await b.get("gone")).toBeNull();
  await b.close();
});
