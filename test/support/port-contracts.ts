/**
 * One behaviour, every adapter: the same suites run against the embedded
 * adapters (unit) and the distributed ones (integration, real servers).
 */
import { Readable } from "node:stream";
import { DuplicateKeyError } from "../../lib/errors";
import type { Database } from "../../lib/store";
import type { Kv } from "../../lib/kv";
import type { Queue } from "../../lib/queue";

interface Car { _id: string; plate: string; owner: string; seats: number; tags?: string[]; status: string; at: string; version: number; history?: unknown[] }

async function collect(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream as AsyncIterable<Buffer>) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

export function storeContract(open: () => Promise<Database>) {
  let db: Database;
  beforeAll(async () => {
    db = await open();
  });
  afterAll(() => db.close());

  const cars = (name: string) => db.collection<Car>(name, [{ fields: { plate: 1 }, unique: true }, { fields: { owner: 1, at: -1 } }]);
  const car = (over: Partial<Car> = {}): Car => ({ _id: Math.random().toString(36).slice(2), plate: Math.random().toString(36).slice(2), owner: "o1", seats: 4, status: "active", at: new Date().toISOString(), version: 0, ...over });

  test("when a document is inserted, then it is found by id and by query", async () => {
    const c = cars("find");
    const a = await c.insert(car({ plate: "A1", seats: 5, tags: ["suv", "ev"] }));
    expect(await c.findById(a._id)).toEqual(a);
    expect(await c.findOne({ plate: "A1" })).toEqual(a);
    expect(await c.findOne({ tags: "ev" })).toEqual(a);
    expect(await c.findById("missing")).toBeNull();
  });

  test("when a returned document is changed by the caller, then the stored one is not", async () => {
    const c = cars("copies");
    const a = await c.insert(car({ tags: ["x"] }));
    a.tags!.push("inserted");
    const found = (await c.findById(a._id))!;
    found.tags!.push("found");
    (await c.find({ _id: a._id }))[0].tags!.push("listed");
    (await c.updateOne({ _id: a._id }, { $set: { seats: 9 } }))!.tags!.push("updated");
    expect((await c.findById(a._id))!.tags).toEqual(["x"]);
  });

  test("when a unique field repeats, then DuplicateKeyError and the first document stays", async () => {
    const c = cars("unique");
    await c.insert(car({ plate: "DUP" }));
    await expect(c.insert(car({ plate: "DUP" }))).rejects.toBeInstanceOf(DuplicateKeyError);
    await expect(c.insert(car({ _id: "same", plate: "X" }))).resolves.toBeTruthy();
    await expect(c.insert(car({ _id: "same", plate: "Y" }))).rejects.toBeInstanceOf(DuplicateKeyError);
    expect(await c.count({})).toBe(2);
  });

  test("when queried with operators, sort, skip and limit, then every store answers alike", async () => {
    const c = cars("query");
    for (let i = 0; i < 10; i++) await c.insert(car({ _id: `c${i}`, seats: i, owner: i % 2 ? "odd" : "even", at: new Date(Date.UTC(2026, 0, 1, i)).toISOString(), tags: i > 6 ? ["big"] : [] }));
    const ids = (xs: Car[]) => xs.map((x) => x._id);
    expect(ids(await c.find({ seats: { $gte: 3, $lt: 6 } }, { sort: { seats: 1 } }))).toEqual(["c3", "c4", "c5"]);
    expect(ids(await c.find({ owner: "odd" }, { sort: { at: -1 }, skip: 1, limit: 2 }))).toEqual(["c7", "c5"]);
    expect(ids(await c.find({ _id: { $in: ["c1", "c9", "nope"] } }, { sort: { _id: 1 } }))).toEqual(["c1", "c9"]);
    expect(ids(await c.find({ $or: [{ seats: 0 }, { tags: "big" }] }, { sort: { seats: 1 } }))).toEqual(["c0", "c7", "c8", "c9"]);
    expect(ids(await c.find({ at: { $gt: "2026-01-01T07:30:00.000Z" } }, { sort: { at: 1 } }))).toEqual(["c8", "c9"]);
    expect(await c.count({ owner: { $ne: "odd" } })).toBe(5);
    expect(ids(await c.find({ seats: { $nin: [0, 1, 2, 3, 4, 5, 6, 7] } }, { sort: { seats: -1 } }))).toEqual(["c9", "c8"]);
  });

  test("when a conditional update's condition holds, then it returns the new document; when not, then null and nothing changes", async () => {
    const c = cars("cond");
    const a = await c.insert(car({ status: "requested" }));
    const won = await c.updateOne({ _id: a._id, status: "requested" }, { $set: { status: "accepted" }, $inc: { version: 1 }, $push: { history: { to: "accepted" } } });
    expect(won).toMatchObject({ status: "accepted", version: 1, history: [{ to: "accepted" }] });
    expect(await c.updateOne({ _id: a._id, status: "requested" }, { $set: { status: "declined" } })).toBeNull();
    expect((await c.findById(a._id))!.status).toBe("accepted");
    const unset = await c.updateOne({ _id: a._id }, { $unset: { history: true } });
    expect(unset!.history).toBeUndefined();
  });

  test("when many updates race on one version, then exactly one wins", async () => {
    const c = cars("race");
    const a = await c.insert(car({ version: 0 }));
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => c.updateOne({ _id: a._id, version: 0 }, { $set: { status: `w${i}` }, $inc: { version: 1 } })));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect((await c.findById(a._id))!.version).toBe(1);
  });

  test("when many inserts race on one unique key, then exactly one succeeds", async () => {
    const c = cars("insert-race");
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => c.insert(car({ _id: "only-one" }))));
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
  });

  test("when many writers increment one document at once, then no increment is lost", async () => {
    const c = cars("inc-race");
    const a = await c.insert(car({ seats: 0 }));
    await Promise.all(Array.from({ length: 25 }, () => c.updateOne({ _id: a._id }, { $inc: { seats: 1 } })));
    expect((await c.findById(a._id))!.seats).toBe(25);
  });

  test("when two conditional deletes race, then only one reports the delete", async () => {
    const c = cars("delete-race");
    const a = await c.insert(car({ status: "live" }));
    const results = await Promise.all(Array.from({ length: 10 }, () => c.deleteOne({ _id: a._id, status: "live" })));
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  test("when a conditional update names no id, then it still changes exactly one matching document", async () => {
    const c = cars("no-id");
    await c.insert(car({ owner: "n", status: "free" }));
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => c.updateOne({ owner: "n", status: "free" }, { $set: { status: `taken${i}` } })));
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  test("when upsert finds nothing it inserts, else it updates", async () => {
    const c = cars("upsert");
    const first = await c.upsert({ _id: "u1" }, { $inc: { seats: 1 } }, car({ _id: "u1", seats: 1 }));
    expect(first.seats).toBe(1);
    const second = await c.upsert({ _id: "u1" }, { $inc: { seats: 1 } }, car({ _id: "u1", seats: 1 }));
    expect(second.seats).toBe(2);
  });

  test("when many documents are updated or deleted, then the counts are right", async () => {
    const c = cars("many");
    for (let i = 0; i < 4; i++) await c.insert(car({ owner: i < 3 ? "x" : "y" }));
    expect(await c.updateMany({ owner: "x" }, { $set: { status: "inactive" } })).toBe(3);
    expect(await c.count({ status: "inactive" })).toBe(3);
    expect(await c.deleteOne({ owner: "y" })).toBe(true);
    expect(await c.deleteOne({ owner: "y" })).toBe(false);
    expect(await c.deleteMany({ owner: "x" })).toBe(3);
    expect(await c.count({})).toBe(0);
  });

  test("when a file is stored, then the same bytes come back with its type, and delete removes it", async () => {
    const files = db.files("contract");
    const bytes = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff]), Buffer.alloc(300_000, 7)]);
    const info = await files.put(Readable.from([bytes.subarray(0, 1000), bytes.subarray(1000)]), { contentType: "image/jpeg", filename: "a.jpg", metadata: { owner: "u1" } });
    expect(info).toMatchObject({ size: bytes.length, contentType: "image/jpeg", filename: "a.jpg" });
    const got = await files.get(info.id);
    expect(got!.info).toMatchObject({ id: info.id, size: bytes.length, contentType: "image/jpeg", metadata: { owner: "u1" } });
    expect((await collect(got!.stream)).equals(bytes)).toBe(true);
    expect(await files.delete(info.id)).toBe(true);
    expect(await files.get(info.id)).toBeNull();
    expect(await files.delete(info.id)).toBe(false);
  });

  test("when the database is reachable, then ping resolves", async () => {
    await expect(db.ping()).resolves.toBeUndefined();
  });
}

export function kvContract(open: () => Kv, prefix: () => string) {
  let kv: Kv;
  beforeAll(() => {
    kv = open();
  });
  afterAll(() => kv.close());

  test("when a value is set, then it is read until it expires", async () => {
    const k = `${prefix()}:a`;
    await kv.set(k, "v", 150);
    expect(await kv.get(k)).toBe("v");
    await new Promise((r) => setTimeout(r, 250));
    expect(await kv.get(k)).toBeNull();
  });

  test("when two callers set-if-absent, then only the first wins", async () => {
    const k = `${prefix()}:nx`;
    const results = await Promise.all(Array.from({ length: 10 }, () => kv.setIfAbsent(k, "x", 5000)));
    expect(results.filter(Boolean)).toHaveLength(1);
    await kv.del(k);
    expect(await kv.setIfAbsent(k, "y", 5000)).toBe(true);
  });

  test("when a counter is hit, then it counts within its window and says when it resets", async () => {
    const k = `${prefix()}:hits`;
    const hits = [];
    for (let i = 0; i < 3; i++) hits.push(await kv.hit(k, 10_000));
    expect(hits.map((h) => h.count)).toEqual([1, 2, 3]);
    expect(hits[2].resetInMs).toBeGreaterThan(8000);
    expect(hits[2].resetInMs).toBeLessThanOrEqual(10_000);
  });
}

export function queueContract(open: () => Queue) {
  let q: Queue;
  beforeEach(() => {
    q = open();
  });
  afterEach(() => q.close());

  test("when a job is added, then its handler runs with the data", async () => {
    const seen: unknown[] = [];
    const done = new Promise<void>((resolve) => q.process<{ n: number }>("basic", async (d) => { seen.push(d); resolve(); }));
    await q.add("basic", { n: 1 });
    await done;
    expect(seen).toEqual([{ n: 1 }]);
  });

  test("when a handler fails, then the job is retried until it succeeds", async () => {
    let tries = 0;
    const done = new Promise<number>((resolve) =>
      q.process("flaky", async (_d, job) => {
        tries++;
        if (job.attempt < 3) throw new Error("not yet");
        resolve(job.attempt);
      }),
    );
    await q.add("flaky", {}, { attempts: 5, backoffMs: 20 });
    expect(await done).toBe(3);
    expect(tries).toBe(3);
  });

  test("when a job keeps failing, then it ends in the dead letters", async () => {
    q.process("doomed", async () => {
      throw new Error("always");
    });
    await q.add("doomed", { x: 1 }, { attempts: 2, backoffMs: 20, jobId: "doomed-1" });
    const until = Date.now() + 10_000;
    let dead: Awaited<ReturnType<Queue["failed"]>> = [];
    while (Date.now() < until && !(dead = await q.failed("doomed")).length) await new Promise((r) => setTimeout(r, 50));
    expect(dead).toEqual([expect.objectContaining({ id: "doomed-1", data: { x: 1 }, error: "always", attempts: 2 })]);
  });

  test("when the same job id is added twice while waiting, then it runs once", async () => {
    let runs = 0;
    await q.add("once", {}, { jobId: "same", delayMs: 100 });
    await q.add("once", {}, { jobId: "same", delayMs: 100 });
    q.process("once", async () => {
      runs++;
    });
    await new Promise((r) => setTimeout(r, 600));
    expect(runs).toBe(1);
  });

  test("when a job is delayed, then it does not run before its time", async () => {
    const started = Date.now();
    const ran = new Promise<number>((resolve) => q.process("later", async () => resolve(Date.now() - started)));
    await q.add("later", {}, { delayMs: 300 });
    expect(await ran).toBeGreaterThanOrEqual(250);
  });
}
