import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { NedbDatabase } from "../../../lib/store/nedb";
import type { AuthUser } from "../../../lib/auth-types";
import { Kyc } from "./kyc";
import type { OutboxEntry } from "./model";

const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(300, 9)]);
const admin: AuthUser = { id: "admin-1", roles: ["admin"], sid: "s" };

describe("Kyc (domain, on NeDB files)", () => {
  let dir: string;
  let db: NedbDatabase;
  let sent: OutboxEntry[];
  let failing: boolean;
  let kyc: Kyc;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "kyc-domain-"));
    db = new NedbDatabase(dir);
    sent = [];
    failing = false;
    kyc = new Kyc(db, async (e) => {
      if (failing) throw new Error("channel down");
      sent.push(e);
    });
  });
  afterEach(async () => {
    await db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function ready(userId: string) {
    await kyc.uploadDocument(userId, "id_front", Readable.from([JPEG]), { filename: "id.jpg" });
    await kyc.uploadDocument(userId, "selfie", Readable.from([JPEG]), { filename: "me.jpg" });
    await kyc.setAddress(userId, { line1: "1 Sejong-daero", city: "Seoul", postalCode: "04524", country: "KR" });
  }

  it("when a decision is made, then its fact and audit entry go out and the outbox is emptied", async () => {
    await ready("u1");
    await kyc.submit("u1");
    const approved = await kyc.decide("u1", admin, "approved");
    expect(approved.status).toBe("approved");
    expect(sent.map((e) => e.type)).toEqual(["kyc.submitted", "kyc.approved", "audit.recorded"]);
    expect(sent[1].data).toMatchObject({ userId: "u1", status: "approved", version: 2, decidedBy: "admin-1" });
    expect(sent[2].data).toMatchObject({ entityType: "kyc", entityId: "u1", action: "kyc.approve", actor: { id: "admin-1", kind: "admin" }, before: { status: "submitted" }, after: { status: "approved" } });
    expect((await kyc.profiles.findById("u1"))!.outbox).toBeUndefined();
  });

  it("when the facts cannot be sent, then the decision stays with them and they are sent later, in order, with the same ids", async () => {
    await ready("u2");
    failing = true;
    await kyc.submit("u2");
    expect(sent).toEqual([]);
    expect((await kyc.profiles.findById("u2"))!.outbox!.map((e) => e.type)).toEqual(["kyc.submitted"]);
    failing = false;
    await kyc.decide("u2", admin, "rejected", "The selfie is blurred");
    expect(sent.map((e) => e.type)).toEqual(["kyc.submitted", "kyc.rejected", "audit.recorded"]);
    expect((sent[1].data as any).reason).toBe("The selfie is blurred");

    failing = true;
    await kyc.submit("u2");
    const pending = (await kyc.profiles.findById("u2"))!.outbox!;
    failing = false;
    expect(await kyc.flushPending(-1000)).toBe(1);
    expect(sent.slice(3).map((e) => e.id)).toEqual(pending.map((e) => e.id));
    expect((await kyc.profiles.findById("u2"))!.outbox).toBeUndefined();
  });

  it("when sending failed and the channel is still down at the next decision, then nothing changes (503-like error)", async () => {
    await ready("u3");
    failing = true;
    await kyc.submit("u3");
    await expect(kyc.decide("u3", admin, "approved")).rejects.toMatchObject({ type: "SERVICE_UNAVAILABLE", code: 503 });
    expect((await kyc.profiles.findById("u3"))!.status).toBe("submitted");
  });

  it("when two admins decide at once, then one wins and the other gets INVALID_STATE", async () => {
    await ready("u4");
    await kyc.submit("u4");
    const results = await Promise.allSettled([kyc.decide("u4", admin, "approved"), kyc.decide("u4", { ...admin, id: "admin-2" }, "rejected", "no")]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    const lost = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
    expect(lost.reason.type).toBe("INVALID_STATE");
    expect(sent.filter((e) => e.type === "audit.recorded")).toHaveLength(1);
  });
});
