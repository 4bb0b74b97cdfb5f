/**
 * KYC through the real gateway, embedded profile: gateway, auth, notifications
 * and kyc in one broker, documents in DATA_DIR. Users act as API users would.
 */
import fs from "node:fs";
import path from "node:path";
import type { Fact } from "../../lib/events";
import { publishFact } from "../../lib/facts";
import { loginByOtp, newPhone, startSystem, waitFor, type Answer, type Session, type TestSystem } from "../../test/support/system";

jest.setTimeout(30_000);

const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10]), Buffer.from("JFIF\0"), Buffer.alloc(2048, 0x5a), Buffer.from([0xff, 0xd9])]);
const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(512, 3)]);
const PDF = Buffer.from("%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n", "latin1");
const ADDRESS = { line1: "1 Sejong-daero", line2: "Apt 101", city: "Seoul", postalCode: "04524", country: "KR" };

let sys: TestSystem;
let adminPhone: string;
let admin: Session;
/** Facts seen on the channels, as any consumer would see them. */
const facts: Fact<any>[] = [];

beforeAll(async () => {
  adminPhone = newPhone();
  sys = await startSystem({ SERVICES: "gateway,auth,notifications,kyc", ADMIN_PHONES: adminPhone });
  // A consumer of the facts, and an action behind the KYC gate with a route to it.
  const spy = (fact: Fact<any>) => {
    facts.push(fact);
  };
  sys.broker.createService({ name: "factspy", channels: { "kyc.submitted": spy, "kyc.approved": spy, "kyc.rejected": spy, "audit.recorded": spy } } as any);
  sys.broker.createService({ name: "gated", actions: { create: { roles: ["owner"], kyc: true, handler: () => ({ created: true }) } } });
  await sys.broker.waitForServices(["factspy", "gated"]);
  (sys.broker.getLocalService("api") as any).addRoute({
    path: "/test",
    mappingPolicy: "restrict",
    authentication: true,
    authorization: true,
    bodyParsers: { json: true },
    aliases: { "POST /gated": "gated.create" },
  });
  admin = await loginByOtp(sys, adminPhone);
});
afterAll(() => sys.stop());

function upload(token: string, type: string | undefined, content: Buffer, options: { filename?: string; contentType?: string } = {}): Promise<Answer> {
  const form = new FormData();
  if (type !== undefined) form.append("type", type);
  form.append("file", new Blob([content], { type: options.contentType ?? "image/jpeg" }), options.filename ?? "upload.jpg");
  return sys.api.request("POST", "/v1/kyc/documents", { token, raw: form });
}

async function download(pathname: string, token: string) {
  const res = await fetch(sys.url + pathname, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, contentType: res.headers.get("content-type"), length: res.headers.get("content-length"), bytes: Buffer.from(await res.arrayBuffer()) };
}

/** A user with an ID, a selfie and an address, ready to submit. */
async function readyUser(): Promise<Session & { phone: string }> {
  const u = await loginByOtp(sys);
  expect((await upload(u.accessToken, "id_front", JPEG)).status).toBe(201);
  expect((await upload(u.accessToken, "selfie", PNG, { filename: "me.png", contentType: "image/png" })).status).toBe(201);
  expect((await sys.api.put("/v1/kyc/address", ADDRESS, u.accessToken)).status).toBe(200);
  return u;
}

const storedFiles = () => {
  const dir = path.join(sys.dataDir, "kyc", "kyc");
  return fs.existsSync(dir) ? fs.readdirSync(dir) : [];
};

describe("the whole KYC flow, as a new owner and an admin would do it", () => {
  test("when an owner is verified, then the KYC gate lets the next request through at once", async () => {
    const owner = await loginByOtp(sys);
    expect((await sys.api.post("/v1/auth/me/roles", { role: "owner" }, owner.accessToken)).status).toBe(200);

    // Not verified yet: the gate refuses.
    const refused = await sys.api.post("/test/gated", {}, owner.accessToken);
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe("KYC_REQUIRED");
    expect((await sys.api.get("/v1/kyc/status", owner.accessToken)).body).toMatchObject({ status: "none", documents: [], address: null, missing: ["documents.id_front", "documents.selfie", "address"] });

    // ID and selfie, address, submit.
    const idFront = await upload(owner.accessToken, "id_front", JPEG, { filename: "id.jpg" });
    expect(idFront.status).toBe(201);
    expect(idFront.body).toEqual({ id: expect.any(String), type: "id_front", size: JPEG.length, contentType: "image/jpeg", uploadedAt: expect.stringMatching(/Z$/) });
    expect(idFront.headers.get("location")).toBe(`/v1/kyc/documents/${idFront.body.id}`);
    const selfie = await upload(owner.accessToken, "selfie", PNG, { filename: "selfie.png", contentType: "image/png" });
    expect(selfie.status).toBe(201);
    expect(selfie.body).toMatchObject({ type: "selfie", size: PNG.length, contentType: "image/png" });
    const address = await sys.api.put("/v1/kyc/address", ADDRESS, owner.accessToken);
    expect(address.status).toBe(200);
    expect(address.body.address).toEqual(ADDRESS);
    expect(address.body.missing).toEqual([]);

    const submitted = await sys.api.post("/v1/kyc/submit", {}, owner.accessToken);
    expect(submitted.status).toBe(200);
    expect(submitted.body).toMatchObject({ status: "submitted", submittedAt: expect.any(String) });
    await waitFor(async () => (await sys.api.get("/v1/auth/me", owner.accessToken)).body.kycStatus === "submitted", "kycStatus submitted", 1000);
    expect((await sys.api.post("/test/gated", {}, owner.accessToken)).body.error.code).toBe("KYC_REQUIRED");

    // The admin finds it in the queue and looks at it.
    let queued: any;
    for (let cursor: string | null = ""; !queued && cursor !== null; ) {
      const page: Answer = await sys.api.get(`/v1/admin/kyc?status=submitted&limit=100${cursor ? `&cursor=${cursor}` : ""}`, admin.accessToken);
      expect(page.status).toBe(200);
      queued = page.body.items.find((i: any) => i.userId === owner.user.id);
      cursor = page.body.nextCursor;
    }
    expect(queued).toMatchObject({ status: "submitted", address: ADDRESS, documents: [{ id: idFront.body.id, type: "id_front" }, { id: selfie.body.id, type: "selfie" }] });
    const detail = await sys.api.get(`/v1/admin/kyc/${owner.user.id}`, admin.accessToken);
    expect(detail.status).toBe(200);
    expect(detail.body.history).toHaveLength(2);

    // Downloads the exact bytes, with the right type.
    const file = await download(`/v1/admin/kyc/${owner.user.id}/documents/${idFront.body.id}`, admin.accessToken);
    expect(file.status).toBe(200);
    expect(file.contentType).toBe("image/jpeg");
    expect(file.length).toBe(String(JPEG.length));
    expect(file.bytes.equals(JPEG)).toBe(true);
    const png = await download(`/v1/admin/kyc/${owner.user.id}/documents/${selfie.body.id}`, admin.accessToken);
    expect(png.contentType).toBe("image/png");
    expect(png.bytes.equals(PNG)).toBe(true);

    // Approves: the owner passes the gate within a second, without logging in again.
    const approved = await sys.api.post(`/v1/admin/kyc/${owner.user.id}/approve`, {}, admin.accessToken);
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({ userId: owner.user.id, status: "approved", decidedBy: admin.user.id, decidedAt: expect.any(String) });
    const decidedAt = Date.now();
    const passed = await waitFor(async () => {
      const r = await sys.api.post("/test/gated", {}, owner.accessToken);
      return r.status === 200 && r;
    }, "the gate to open", 1000);
    expect(passed.body).toEqual({ created: true });
    expect(Date.now() - decidedAt).toBeLessThan(1000);
    expect((await sys.api.get("/v1/auth/me", owner.accessToken)).body.kycStatus).toBe("approved");
    expect((await sys.api.get("/v1/kyc/status", owner.accessToken)).body).toMatchObject({ status: "approved" });

    // The facts, and the decision in the audit trail with actor and time.
    await waitFor(() => facts.some((f) => f.type === "audit.recorded" && f.data.entityId === owner.user.id), "the audit entry");
    expect(facts.filter((f) => f.type.startsWith("kyc.") && f.data.userId === owner.user.id).map((f) => [f.type, f.data.version])).toEqual([["kyc.submitted", 1], ["kyc.approved", 2]]);
    const audit = facts.find((f) => f.type === "audit.recorded" && f.data.entityId === owner.user.id)!;
    expect(audit.data).toMatchObject({ entityType: "kyc", action: "kyc.approve", actor: { id: admin.user.id, kind: "admin" }, before: { status: "submitted" }, after: { status: "approved" }, at: expect.any(String) });

    // Approved is final: no second decision, no changes.
    expect((await sys.api.post(`/v1/admin/kyc/${owner.user.id}/approve`, {}, admin.accessToken)).body.error.code).toBe("INVALID_STATE");
    expect((await upload(owner.accessToken, "id_front", JPEG)).status).toBe(409);
  });

  test("when the owner downloads their own document, then they get the exact bytes; another user gets 404", async () => {
    const me = await loginByOtp(sys);
    const other = await loginByOtp(sys);
    const doc = await upload(me.accessToken, "business_registration", PDF, { filename: "biz.pdf", contentType: "application/pdf" });
    expect(doc.status).toBe(201);
    expect(doc.body.contentType).toBe("application/pdf");
    const mine = await download(`/v1/kyc/documents/${doc.body.id}`, me.accessToken);
    expect(mine.status).toBe(200);
    expect(mine.contentType).toBe("application/pdf");
    expect(mine.bytes.equals(PDF)).toBe(true);
    const theirs = await download(`/v1/kyc/documents/${doc.body.id}`, other.accessToken);
    expect(theirs.status).toBe(404);
    expect((await download(`/v1/admin/kyc/${me.user.id}/documents/${doc.body.id}`, other.accessToken)).status).toBe(403);
    // An admin asking under the wrong user finds nothing either.
    expect((await download(`/v1/admin/kyc/${other.user.id}/documents/${doc.body.id}`, admin.accessToken)).status).toBe(404);
    expect((await download(`/v1/kyc/documents/${doc.body.id}`, "")).status).toBe(401);
  });
});

describe("uploading documents", () => {
  test("when the file is over 10 MB, then 413 PAYLOAD_TOO_LARGE and nothing is stored", async () => {
    const u = await loginByOtp(sys);
    const before = storedFiles();
    const big = Buffer.concat([JPEG, Buffer.alloc(10 * 1024 * 1024 + 1 - JPEG.length, 1)]);
    const res = await upload(u.accessToken, "id_front", big);
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe("PAYLOAD_TOO_LARGE");
    expect((await sys.api.get("/v1/kyc/documents", u.accessToken)).body).toEqual({ items: [], nextCursor: null });
    expect((await sys.api.get("/v1/kyc/status", u.accessToken)).body.documents).toEqual([]);
    await waitFor(() => storedFiles().length === before.length, "no new file in the store", 2000);
  });

  test("when the file is exactly 10 MB, then it is accepted", async () => {
    const u = await loginByOtp(sys);
    const max = Buffer.concat([PDF, Buffer.alloc(10 * 1024 * 1024 - PDF.length, 0x20)]);
    const res = await upload(u.accessToken, "driver_license", max, { filename: "license.pdf", contentType: "application/pdf" });
    expect(res.status).toBe(201);
    expect(res.body.size).toBe(10 * 1024 * 1024);
  });

  test("when the content is not JPEG, PNG or PDF, then 415 whatever its name and Content-Type say, and nothing is stored", async () => {
    const u = await loginByOtp(sys);
    const before = storedFiles();
    const exe = Buffer.concat([Buffer.from("MZ\x90\x00\x03\x00\x00\x00\x04\x00", "latin1"), Buffer.alloc(4096)]);
    for (const [content, filename] of [[exe, "photo.jpg"], [Buffer.from("just some text, honestly a JPEG"), "id.jpg"], [Buffer.from("GIF89a\x01\x00\x01\x00", "latin1"), "id.png"]] as const) {
      const res = await upload(u.accessToken, "id_front", content, { filename, contentType: "image/jpeg" });
      expect(res.status).toBe(415);
      expect(res.body.error.code).toBe("UNSUPPORTED_MEDIA_TYPE");
    }
    expect((await sys.api.get("/v1/kyc/documents", u.accessToken)).body.items).toEqual([]);
    expect(storedFiles()).toEqual(before);
  });

  test("when the type field is missing, unknown or sent after the file, then 400 naming `type`", async () => {
    const u = await loginByOtp(sys);
    for (const type of [undefined, "passport", ""]) {
      const res = await upload(u.accessToken, type, JPEG);
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({ code: "VALIDATION_ERROR", details: [{ field: "type" }] });
    }
    const late = new FormData();
    late.append("file", new Blob([JPEG], { type: "image/jpeg" }), "id.jpg");
    late.append("type", "id_front");
    const res = await sys.api.request("POST", "/v1/kyc/documents", { token: u.accessToken, raw: late });
    expect(res.status).toBe(400);
    expect(res.body.error.details[0].field).toBe("type");
  });

  test("when there is no file, or the body is not multipart, then 400 or 415 (never 500)", async () => {
    const u = await loginByOtp(sys);
    const noFile = new FormData();
    noFile.append("type", "id_front");
    const missing = await sys.api.request("POST", "/v1/kyc/documents", { token: u.accessToken, raw: noFile });
    expect(missing.status).toBe(400);
    expect(missing.body.error).toMatchObject({ code: "VALIDATION_ERROR", details: [{ field: "file" }] });
    const json = await sys.api.post("/v1/kyc/documents", { type: "id_front" }, u.accessToken);
    expect(json.status).toBe(415);
    const broken = await sys.api.request("POST", "/v1/kyc/documents", { token: u.accessToken, raw: "--xyz\r\nContent-Disposition: form-data; name=\"type\"\r\n\r\nid_front", headers: { "content-type": "multipart/form-data; boundary=xyz" } });
    expect(broken.status).toBe(400);
  });

  test("when no token is sent, then 401 and nothing is stored", async () => {
    const before = storedFiles();
    const res = await upload("", "id_front", JPEG);
    expect(res.status).toBe(401);
    expect(storedFiles()).toEqual(before);
  });

  test("when a type is uploaded again, then the new one is current and the old one stays in the history", async () => {
    const u = await loginByOtp(sys);
    const first = await upload(u.accessToken, "id_front", JPEG, { filename: "old.jpg" });
    const second = await upload(u.accessToken, "id_front", PNG, { filename: "new.png", contentType: "image/png" });
    expect([first.status, second.status]).toEqual([201, 201]);
    const status = await sys.api.get("/v1/kyc/status", u.accessToken);
    expect(status.body.documents).toEqual([second.body]);
    const history = await sys.api.get("/v1/kyc/documents", u.accessToken);
    expect(history.body.items.map((d: any) => [d.id, d.current])).toEqual([[second.body.id, true], [first.body.id, false]]);
    const paged = await sys.api.get("/v1/kyc/documents?limit=1", u.accessToken);
    expect(paged.body.items.map((d: any) => d.id)).toEqual([second.body.id]);
    const rest = await sys.api.get(`/v1/kyc/documents?limit=1&cursor=${paged.body.nextCursor}`, u.accessToken);
    expect(rest.body).toEqual({ items: [{ ...first.body, current: false }], nextCursor: null });
    // The replaced file is still there, byte for byte.
    expect((await download(`/v1/kyc/documents/${first.body.id}`, u.accessToken)).bytes.equals(JPEG)).toBe(true);
    const detail = await sys.api.get(`/v1/admin/kyc/${u.user.id}`, admin.accessToken);
    expect(detail.body.history.map((d: any) => d.id)).toEqual([second.body.id, first.body.id]);
  });
});

describe("address and company", () => {
  test("when the address misses a field, then 400 naming it", async () => {
    const u = await loginByOtp(sys);
    const res = await sys.api.put("/v1/kyc/address", { line1: "1 Sejong-daero", postalCode: "04524", country: "KR" }, u.accessToken);
    expect(res.status).toBe(400);
    expect(res.body.error.details.map((d: any) => d.field)).toEqual(["city"]);
  });

  test("when the business registration number has a right check digit, then it is kept (with or without dashes)", async () => {
    const u = await loginByOtp(sys);
    for (const brn of ["220-81-62517", "2208162517"]) {
      const res = await sys.api.put("/v1/kyc/corporate", { companyName: "Carshare Co., Ltd.", businessRegistrationNumber: brn, taxId: "T-1" }, u.accessToken);
      expect(res.status).toBe(200);
      expect(res.body.corporate).toEqual({ companyName: "Carshare Co., Ltd.", businessRegistrationNumber: "220-81-62517", taxId: "T-1" });
    }
  });

  test("when the business registration number's check digit is wrong, then 400 on that field", async () => {
    const u = await loginByOtp(sys);
    for (const brn of ["220-81-62518", "123-45-67890", "22081625"]) {
      const res = await sys.api.put("/v1/kyc/corporate", { companyName: "Carshare", businessRegistrationNumber: brn }, u.accessToken);
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({ code: "VALIDATION_ERROR", details: [{ field: "businessRegistrationNumber" }] });
    }
    expect((await sys.api.get("/v1/kyc/status", u.accessToken)).body.corporate).toBeUndefined();
  });
});

describe("submitting", () => {
  test("when the ID, the selfie or the address is missing, then 400 listing what is missing", async () => {
    const u = await loginByOtp(sys);
    const none = await sys.api.post("/v1/kyc/submit", {}, u.accessToken);
    expect(none.status).toBe(400);
    expect(none.body.error.code).toBe("VALIDATION_ERROR");
    expect(none.body.error.details.map((d: any) => d.field)).toEqual(["documents.id_front", "documents.selfie", "address"]);
    await upload(u.accessToken, "selfie", JPEG);
    const some = await sys.api.post("/v1/kyc/submit", {}, u.accessToken);
    expect(some.body.error.details.map((d: any) => d.field)).toEqual(["documents.id_front", "address"]);
    expect((await sys.api.get("/v1/kyc/status", u.accessToken)).body.status).toBe("none");
  });

  test("when already submitted, then submitting again or changing anything is 409 INVALID_STATE", async () => {
    const u = await readyUser();
    expect((await sys.api.post("/v1/kyc/submit", {}, u.accessToken)).status).toBe(200);
    const again = await sys.api.post("/v1/kyc/submit", {}, u.accessToken);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe("INVALID_STATE");
    expect((await upload(u.accessToken, "id_back", JPEG)).body.error.code).toBe("INVALID_STATE");
    expect((await sys.api.put("/v1/kyc/address", ADDRESS, u.accessToken)).body.error.code).toBe("INVALID_STATE");
  });
});

describe("admin review", () => {
  test("when a non-admin calls an admin route, then 403 FORBIDDEN", async () => {
    const u = await readyUser();
    await sys.api.post("/v1/kyc/submit", {}, u.accessToken);
    const doc = (await sys.api.get("/v1/kyc/status", u.accessToken)).body.documents[0].id;
    for (const [method, p] of [
      ["GET", "/v1/admin/kyc?status=submitted"],
      ["GET", `/v1/admin/kyc/${u.user.id}`],
      ["GET", `/v1/admin/kyc/${u.user.id}/documents/${doc}`],
      ["POST", `/v1/admin/kyc/${u.user.id}/approve`],
      ["POST", `/v1/admin/kyc/${u.user.id}/reject`],
    ]) {
      const res = method === "GET" ? await sys.api.get(p, u.accessToken) : await sys.api.post(p, { reason: "me" }, u.accessToken);
      expect([p, res.status, res.body.error?.code]).toEqual([p, 403, "FORBIDDEN"]);
    }
    expect((await sys.api.get("/v1/kyc/status", u.accessToken)).body.status).toBe("submitted");
  });

  test("when rejected with a reason, then the user sees the reason, may fix and resubmit, and the reason is gone", async () => {
    const u = await readyUser();
    await sys.api.post("/v1/kyc/submit", {}, u.accessToken);
    const noReason = await sys.api.post(`/v1/admin/kyc/${u.user.id}/reject`, {}, admin.accessToken);
    expect(noReason.status).toBe(400);
    expect(noReason.body.error.details[0].field).toBe("reason");
    const rejected = await sys.api.post(`/v1/admin/kyc/${u.user.id}/reject`, { reason: "The selfie is blurred" }, admin.accessToken);
    expect(rejected.status).toBe(200);
    expect(rejected.body).toMatchObject({ status: "rejected", reason: "The selfie is blurred", decidedBy: admin.user.id });
    expect((await sys.api.get("/v1/kyc/status", u.accessToken)).body).toMatchObject({ status: "rejected", reason: "The selfie is blurred" });
    await waitFor(async () => (await sys.api.get("/v1/auth/me", u.accessToken)).body.kycStatus === "rejected", "kycStatus rejected", 1000);
    await waitFor(() => facts.some((f) => f.type === "audit.recorded" && f.data.entityId === u.user.id && f.data.action === "kyc.reject" && f.data.reason === "The selfie is blurred"), "the audit entry");

    expect((await upload(u.accessToken, "selfie", PNG, { contentType: "image/png" })).status).toBe(201);
    const again = await sys.api.post("/v1/kyc/submit", {}, u.accessToken);
    expect(again.status).toBe(200);
    expect(again.body.status).toBe("submitted");
    expect(again.body.reason).toBeUndefined();
    await waitFor(async () => (await sys.api.get("/v1/auth/me", u.accessToken)).body.kycStatus === "submitted", "kycStatus submitted", 1000);
  });

  test("when nothing was submitted, then approving is 409, and an unknown user is 404", async () => {
    const u = await loginByOtp(sys);
    await upload(u.accessToken, "id_front", JPEG);
    expect((await sys.api.post(`/v1/admin/kyc/${u.user.id}/approve`, {}, admin.accessToken)).body.error.code).toBe("INVALID_STATE");
    expect((await sys.api.post("/v1/admin/kyc/nobody/approve", {}, admin.accessToken)).status).toBe(404);
    expect((await sys.api.get("/v1/admin/kyc/nobody", admin.accessToken)).status).toBe(404);
  });

  test("when the queue is longer than a page, then pages follow the cursor, oldest first, without repeats", async () => {
    const from = new Date().toISOString();
    const users = [];
    for (let i = 0; i < 3; i++) {
      const u = await readyUser();
      expect((await sys.api.post("/v1/kyc/submit", {}, u.accessToken)).status).toBe(200);
      users.push(u.user.id);
    }
    const q = `/v1/admin/kyc?status=submitted&from=${encodeURIComponent(from)}`;
    const first = await sys.api.get(`${q}&limit=2`, admin.accessToken);
    expect(first.status).toBe(200);
    expect(first.body.items.map((i: any) => i.userId)).toEqual(users.slice(0, 2));
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const second = await sys.api.get(`${q}&limit=2&cursor=${first.body.nextCursor}`, admin.accessToken);
    expect(second.body).toMatchObject({ items: [{ userId: users[2] }], nextCursor: null });
    expect((await sys.api.get(`${q}&offset=1&limit=1`, admin.accessToken)).body.items.map((i: any) => i.userId)).toEqual([users[1]]);
    expect((await sys.api.get(`${q}&limit=500`, admin.accessToken)).body.items).toHaveLength(3);
    expect((await sys.api.get(`${q}&corporate=true`, admin.accessToken)).body.items).toEqual([]);
    expect((await sys.api.get(`/v1/admin/kyc?status=approved&from=${encodeURIComponent(from)}`, admin.accessToken)).body.items).toEqual([]);
    expect((await sys.api.get(`${q}&cursor=garbage`, admin.accessToken)).status).toBe(400);
    expect((await sys.api.get("/v1/admin/kyc?status=maybe", admin.accessToken)).status).toBe(400);
  });
});

describe("auth applies KYC facts", () => {
  test("when an older fact arrives after a newer one, then the newer status stays", async () => {
    const u = await loginByOtp(sys);
    await publishFact(sys.broker, "kyc.approved", { userId: u.user.id, status: "approved", version: 2, decidedBy: "x", decidedAt: new Date().toISOString() });
    await waitFor(async () => (await sys.api.get("/v1/auth/me", u.accessToken)).body.kycStatus === "approved", "kycStatus approved", 1000);
    await publishFact(sys.broker, "kyc.submitted", { userId: u.user.id, status: "submitted", version: 1, submittedAt: new Date().toISOString(), documentTypes: [], corporate: false });
    await new Promise((r) => setTimeout(r, 200));
    expect((await sys.api.get("/v1/auth/me", u.accessToken)).body.kycStatus).toBe("approved");
  });
});
