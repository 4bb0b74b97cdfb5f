import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { NedbDatabase } from "../../../lib/store/nedb";
import { AuditLog, GENESIS, canonicalJson, hashEntry, seqId, type AuditInput } from "./audit-log";

const actor = { id: "admin-1", roles: ["admin"], kind: "admin" as const };
const entry = (key: string, extra: Partial<AuditInput> = {}): AuditInput => ({ key, entityType: "payment", entityId: "p1", action: "payment.override", actor, before: { status: "pending" }, after: { status: "paid" }, reason: "test", ...extra });

describe("audit log", () => {
  let dir: string;
  let db: NedbDatabase;
  let log: AuditLog;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "audit-test-"));
    db = new NedbDatabase(dir);
    log = new AuditLog(db);
  });
  afterEach(async () => {
    await db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("when entries are appended, then each links to the one before and the chain verifies", async () => {
    const a = await log.append(entry("a"));
    const b = await log.append(entry("b"));
    expect(a.seq).toBe(1);
    expect(a.prevHash).toBe(GENESIS);
    expect(b.seq).toBe(2);
    expect(b.prevHash).toBe(a.hash);
    expect(await log.verify()).toEqual({ ok: true, checked: 2 });
  });

  it("when the same key is appended twice, then it is written once", async () => {
    const first = await log.append(entry("same"));
    const again = await log.append(entry("same", { reason: "different" }));
    expect(again.seq).toBe(first.seq);
    expect(await log.entries.count({})).toBe(1);
  });

  it("when many appenders race, then the sequence has no gap and no duplicate, and it verifies", async () => {
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => log.append(entry(`k${i % 30}`))));
    const seqs = [...new Set(results.map((r) => r.seq))].sort((x, y) => x - y);
    expect(seqs).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(await log.entries.count({})).toBe(30);
    expect(await log.verify()).toEqual({ ok: true, checked: 30 });
  });

  it("when a crash left an entry written but the head not advanced, then the next append continues after it", async () => {
    await log.append(entry("a"));
    // The crash: entry 2 inserted, head still at 1.
    const body = { seq: 2, key: "crashed", entityType: "payment", entityId: "p1", action: "x", actor, before: null, after: null, at: new Date().toISOString(), prevHash: (await log.tail()).hash };
    await log.entries.insert({ _id: seqId(2), ...body, hash: hashEntry(body.prevHash, body) });
    const c = await log.append(entry("c"));
    expect(c.seq).toBe(3);
    expect(await log.verify()).toEqual({ ok: true, checked: 3 });
  });

  it("when a stored entry is changed, then verification names it", async () => {
    for (const k of ["a", "b", "c", "d"]) await log.append(entry(k));
    await log.entries.updateOne({ _id: seqId(3) }, { $set: { after: { status: "refunded" } } });
    expect(await log.verify()).toMatchObject({ ok: false, checked: 2, brokenAt: 3 });
  });

  it("when an entry is removed or the tail cut off, then verification notices", async () => {
    for (const k of ["a", "b", "c", "d"]) await log.append(entry(k));
    await log.entries.deleteOne({ _id: seqId(2) });
    expect(await log.verify()).toMatchObject({ ok: false, brokenAt: 2 });

    const secondDb = new NedbDatabase(path.join(dir, "second"));
    const other = new AuditLog(secondDb);
    for (const k of ["a", "b", "c"]) await other.append(entry(k));
    await other.entries.deleteOne({ _id: seqId(3) });
    expect(await other.verify()).toMatchObject({ ok: false, checked: 2, brokenAt: 3 });
    await secondDb.close();
  });

  it("when a tampered entry is re-hashed, then the next entry's link breaks", async () => {
    for (const k of ["a", "b", "c"]) await log.append(entry(k));
    const two = (await log.entries.findById(seqId(2)))!;
    const { _id, hash: _h, ...body } = two;
    const forged = { ...body, reason: "forged" };
    await log.entries.updateOne({ _id }, { $set: { reason: "forged", hash: hashEntry(forged.prevHash, forged) } });
    expect(await log.verify()).toMatchObject({ ok: false, brokenAt: 3 });
  });

  it("canonical JSON ignores key order and undefined members", () => {
    expect(canonicalJson({ b: 1, a: { d: [1, undefined], c: "x" }, u: undefined })).toBe('{"a":{"c":"x","d":[1,null]},"b":1}');
  });
});
