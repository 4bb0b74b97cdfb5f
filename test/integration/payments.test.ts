/**
 * Payments, driver links and notifications through the gateway, as their users
 * see them: the driver's report by link, parties' and admins' views of a
 * payment, the audit chain, owners' settlements and in-app notifications.
 * The embedded profile, with fakes of vehicles and bookings.
 */
import fs from "node:fs";
import path from "node:path";
import { recordAudit } from "../../lib/audit";
import { AppError } from "../../lib/errors";
import { sha256 } from "../../lib/ids";
import { loginByOtp, newPhone, outbox, startSystem, waitFor, type Answer, type Session, type TestSystem } from "../support/system";
import { factsOf, linkedBooking, peerFakes, peerState, VEHICLE, type PeerState } from "../support/payments";

jest.setTimeout(60_000);

const SERVICES = "gateway,auth,notifications,payments,driver-links";
const PUBLIC_URL = "https://carshare.example";
const ADMIN_PHONE = newPhone();

const paidReport = (amount: number, extra: Record<string, unknown> = {}) => ({ paid: true, amount, method: "cash", paidAt: "2026-01-15T10:30:00+09:00", ...extra });

describe("payments, driver links and notifications over HTTP", () => {
  let sys: TestSystem;
  let state: PeerState;
  let admin: Session;
  let owner: Session;
  let renter: Session;
  let stranger: Session;

  const link = (opts: { amount?: number; currency?: string; vehicle?: typeof VEHICLE } = {}) => linkedBooking(sys.broker, sys.dataDir, state, { renterId: renter.user.id, ownerId: owner.user.id, ...opts });
  const report = (token: string, body: unknown, key?: string) => sys.api.post(`/v1/driver-links/${token}/payment`, body, undefined, key ? { "idempotency-key": key } : {});
  const payment = async (id: string) => (await sys.api.get(`/v1/payments/${id}`, admin.accessToken)).body;
  const inbox = async (s: Session, query = "") => (await sys.api.get(`/v1/notifications${query}`, s.accessToken)).body;

  beforeAll(async () => {
    state = peerState();
    sys = await startSystem({ SERVICES, PUBLIC_URL, ADMIN_PHONES: ADMIN_PHONE, DRIVER_LINK_RATE_LIMIT: "0" }, { extraServices: peerFakes(state) });
    [admin, owner, renter, stranger] = await Promise.all([loginByOtp(sys, ADMIN_PHONE), loginByOtp(sys), loginByOtp(sys), loginByOtp(sys)]);
    expect((await sys.api.post("/v1/auth/me/roles", { role: "owner" }, owner.accessToken)).status).toBe(200);
  });
  afterAll(async () => {
    await sys?.stop();
  });

  describe("payments.createForBooking", () => {
    it("when the saga asks twice (even at once), then there is one payment and one payment.created fact", async () => {
      const cmd = { bookingId: "bk-idem-1", renterId: renter.user.id, ownerId: owner.user.id, driverId: null, amount: 10_000, platformFee: 1_500, hostAmount: 8_500, currency: "KRW", source: "online" };
      const [a, b] = await Promise.all([sys.broker.call<any, any>("payments.createForBooking", cmd), sys.broker.call<any, any>("payments.createForBooking", cmd)]);
      const c = await sys.broker.call<any, any>("payments.createForBooking", { ...cmd, amount: 99_999, platformFee: 15_000, hostAmount: 84_999 });
      expect(b.id).toBe(a.id);
      expect(c.id).toBe(a.id);
      expect(c).toMatchObject({ bookingId: "bk-idem-1", status: "pending", amount: 10_000, discrepancy: false, source: "online" });
      const listed = await sys.api.get("/v1/payments?bookingId=bk-idem-1", renter.accessToken);
      expect(listed.body.items.map((p: any) => p.id)).toEqual([a.id]);
      const created = await factsOf(state, "payment.created", 1, (f) => f.data.bookingId === "bk-idem-1");
      await new Promise((r) => setTimeout(r, 100));
      expect(state.facts.filter((f) => f.type === "payment.created" && f.data.bookingId === "bk-idem-1")).toHaveLength(1);
      expect(created[0].data).toMatchObject({ paymentId: a.id, renterId: renter.user.id, ownerId: owner.user.id });
    });

    it("when the split does not add up, then it is refused", async () => {
      await expect(sys.broker.call("payments.createForBooking", { bookingId: "bk-bad", renterId: "r", ownerId: "o", amount: 100, platformFee: 10, hostAmount: 10, currency: "KRW", source: "online" })).rejects.toMatchObject({ type: "BAD_REQUEST" });
    });

    it("when a pending payment is voided twice, then it is voided once; a paid one stays paid", async () => {
      const cmd = { bookingId: "bk-void", renterId: renter.user.id, ownerId: owner.user.id, amount: 1000, platformFee: 150, hostAmount: 850, currency: "KRW", source: "online" };
      const p = await sys.broker.call<any, any>("payments.createForBooking", cmd);
      const v1 = await sys.broker.call<any, any>("payments.voidForBooking", { bookingId: "bk-void", reason: "booking cancelled" });
      const v2 = await sys.broker.call<any, any>("payments.voidForBooking", { bookingId: "bk-void", reason: "booking cancelled" });
      expect(v1).toMatchObject({ id: p.id, status: "voided" });
      expect(v2).toMatchObject({ id: p.id, status: "voided" });
      expect(await sys.broker.call("payments.voidForBooking", { bookingId: "bk-none", reason: "x" })).toBeNull();
      const audit = await sys.api.get(`/v1/admin/audit?entityType=payment&entityId=${p.id}`, admin.accessToken);
      expect(audit.body.items.map((e: any) => e.action)).toEqual(["payment.void", "payment.create"]);

      const paid = await link();
      expect((await report(paid.token, paidReport(55_000), "void-paid")).status).toBe(200);
      expect(await sys.broker.call("payments.voidForBooking", { bookingId: paid.bookingId, reason: "late cancel" })).toMatchObject({ status: "paid" });
    });
  });

  describe("the driver link", () => {
    it("when the driver reports the exact amount, then the payment is paid, the booking confirmed and payment.paid published", async () => {
      const b = await link();
      expect(b.sms.to).toBe(b.driverPhone);
      expect(b.sms.body).toContain(`${PUBLIC_URL}/d/${b.token}`);
      expect(b.token).toHaveLength(43);

      const summary = await sys.api.get(`/v1/driver-links/${b.token}`);
      expect(summary.status).toBe(200);
      expect(summary.body).toEqual({
        booking: { id: b.bookingId, vehicle: VEHICLE, start: expect.any(String), end: expect.any(String), expectedAmount: 55_000, currency: "KRW" },
        expiresAt: expect.any(String),
      });
      const hours = (Date.parse(summary.body.expiresAt) - Date.now()) / 3_600_000;
      expect(hours).toBeGreaterThan(47.9);
      expect(hours).toBeLessThanOrEqual(48);

      const res = await report(b.token, paidReport(55_000), "key-exact-1");
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        payment: { id: b.payment.id, bookingId: b.bookingId, amount: 55_000, currency: "KRW", status: "paid", method: "cash", reportedAmount: 55_000, discrepancy: false, paidAt: "2026-01-15T01:30:00.000Z" },
        booking: { id: b.bookingId, status: "confirmed" },
      });
      expect(state.confirmed).toContainEqual({ bookingId: b.bookingId, paymentId: b.payment.id });
      const [paidFact] = await factsOf(state, "payment.paid", 1, (f) => f.data.paymentId === b.payment.id);
      expect(paidFact.data).toMatchObject({ bookingId: b.bookingId, paymentId: b.payment.id, status: "paid", via: "driver_link", amount: 55_000 });
      await factsOf(state, "driverlink.used", 1, (f) => f.data.linkId === b.linkId);
      expect(await payment(b.payment.id)).toMatchObject({ status: "paid", method: "cash", reportedAmount: 55_000, discrepancy: false });
      expect(state.facts.some((f) => f.type === "payment.discrepancy" && f.data.paymentId === b.payment.id)).toBe(false);

      // The owner hears about it in the app (Korean: the default locale).
      const note = await waitFor(async () => (await inbox(owner)).items.find((n: any) => n.kind === "payment.paid" && n.data.paymentId === b.payment.id), "the owner's payment.paid notification");
      expect(note).toMatchObject({ title: "결제가 확인되었습니다", read: false });
      expect(note.body).toContain("₩55,000");
    });

    it("when the same Idempotency-Key is replayed, then it gets the first answer; another key gets 410 LINK_USED", async () => {
      const b = await link();
      const first = await report(b.token, paidReport(55_000), "replay-key-1");
      expect(first.status).toBe(200);
      const again = await report(b.token, paidReport(1, { method: "card" }), "replay-key-1");
      expect(again.status).toBe(200);
      expect(again.body).toEqual(first.body);
      const other = await report(b.token, paidReport(55_000), "replay-key-2");
      expect(other.status).toBe(410);
      expect(other.body.error).toMatchObject({ code: "LINK_USED", status: 410 });
      const unkeyed = await report(b.token, paidReport(55_000));
      expect(unkeyed.body.error.code).toBe("LINK_USED");
      expect((await sys.api.get(`/v1/driver-links/${b.token}`)).body.error.code).toBe("LINK_USED");
      expect(state.confirmed.filter((c) => c.bookingId === b.bookingId)).toHaveLength(1);
    });

    it("when two reports race with different keys, then exactly one wins", async () => {
      const b = await link();
      const answers = await Promise.all([1, 2, 3, 4].map((i) => report(b.token, paidReport(55_000), `race-${i}`)));
      expect(answers.map((a) => a.status).sort()).toEqual([200, 410, 410, 410]);
    });

    it("when the token is unknown or malformed, then 404", async () => {
      const unknown = "A".repeat(43);
      expect((await sys.api.get(`/v1/driver-links/${unknown}`)).status).toBe(404);
      const post = await report(unknown, paidReport(1), "k-unknown");
      expect(post.status).toBe(404);
      expect(post.body.error.code).toBe("NOT_FOUND");
      expect((await sys.api.get("/v1/driver-links/not-a-token")).status).toBe(404);
    });

    it("when the amount differs, then it is kept and flagged, and payment.discrepancy is published", async () => {
      const b = await link();
      const res = await report(b.token, paidReport(50_000, { method: "bank_transfer", note: "5천원 할인 요청" }), "disc-1");
      expect(res.status).toBe(200);
      expect(res.body.payment).toMatchObject({ status: "paid", amount: 55_000, reportedAmount: 50_000, discrepancy: true, method: "bank_transfer" });
      expect(res.body.booking.status).toBe("confirmed");
      const [fact] = await factsOf(state, "payment.discrepancy", 1, (f) => f.data.paymentId === b.payment.id);
      expect(fact.data).toMatchObject({ bookingId: b.bookingId, expectedAmount: 55_000, reportedAmount: 50_000, difference: -5_000, discrepancy: true });
      expect(await payment(b.payment.id)).toMatchObject({ reportedAmount: 50_000, discrepancy: true, note: "5천원 할인 요청" });
      await waitFor(async () => (await inbox(owner)).items.find((n: any) => n.kind === "payment.discrepancy" && n.data.paymentId === b.payment.id), "the owner's discrepancy notification");
    });

    it("when the driver reports not paid, then the payment is unpaid_reported and the owner is told once", async () => {
      const b = await link();
      const res = await report(b.token, { paid: false, note: "연락 두절" }, "unpaid-1");
      expect(res.status).toBe(200);
      expect(res.body.payment).toMatchObject({ id: b.payment.id, status: "unpaid_reported", discrepancy: false });
      expect(res.body.booking).toEqual({ id: b.bookingId, status: "accepted" });
      expect(state.confirmed.some((c) => c.bookingId === b.bookingId)).toBe(false);
      await factsOf(state, "payment.unpaid_reported", 1, (f) => f.data.paymentId === b.payment.id);
      const told = await waitFor(async () => (await inbox(owner)).items.filter((n: any) => n.kind === "payment.unpaid_reported" && n.data.paymentId === b.payment.id), "the owner's unpaid notification");
      await new Promise((r) => setTimeout(r, 300)); // the fact consumer's copy, if there were one, would be in by now
      expect((await inbox(owner)).items.filter((n: any) => n.kind === "payment.unpaid_reported" && n.data.paymentId === b.payment.id)).toHaveLength(1);
      expect(told[0].title).toBe("미결제 신고");
      expect(await payment(b.payment.id)).toMatchObject({ status: "unpaid_reported", note: "연락 두절" });
    });

    it("when paid is true without amount, method or time, then 400 names them", async () => {
      const b = await link();
      const res = await report(b.token, { paid: true }, "incomplete");
      expect(res.status).toBe(400);
      expect(res.body.error.details.map((d: any) => d.field).sort()).toEqual(["amount", "method", "paidAt"]);
      expect((await sys.api.get(`/v1/driver-links/${b.token}`)).status).toBe(200); // still usable
    });

    it("when bookings cannot be reached, then the driver still gets the payment and the booking as far as known", async () => {
      const b = await link();
      state.bookingsDown = true;
      try {
        const res = await report(b.token, paidReport(55_000), "bookings-down");
        expect(res.status).toBe(200);
        expect(res.body.payment.status).toBe("paid");
        expect(res.body.booking).toEqual({ id: b.bookingId, status: "accepted", confirmationPending: true });
        await factsOf(state, "payment.paid", 1, (f) => f.data.paymentId === b.payment.id);
      } finally {
        state.bookingsDown = false;
      }
    });

    it("when a link is issued again with the same key, then the same link comes back and no second SMS is sent; a new key revokes the old link", async () => {
      const b = await link();
      const cmd = { bookingId: b.bookingId, paymentId: b.payment.id, driverId: b.driverId, issueKey: `accept:${b.bookingId}`, booking: { vehicle: VEHICLE, start: "2026-12-01T09:00:00+09:00", end: "2026-12-01T12:00:00+09:00", expectedAmount: 55_000, currency: "KRW" } };
      const again = await sys.broker.call<any, any>("driverLinks.issue", cmd);
      expect(again.linkId).toBe(b.linkId);
      await new Promise((r) => setTimeout(r, 200));
      expect(outbox(sys.dataDir).filter((m) => m.to === b.driverPhone)).toHaveLength(1);

      const reissued = await sys.broker.call<any, any>("driverLinks.issue", { ...cmd, issueKey: "owner-reissue-1" });
      expect(reissued.linkId).not.toBe(b.linkId);
      const sms = await waitFor(() => outbox(sys.dataDir).filter((m) => m.to === b.driverPhone)[1], "the second SMS");
      const token2 = /\/d\/([A-Za-z0-9_-]{43})/.exec(sms.body)![1];
      const old = await sys.api.get(`/v1/driver-links/${b.token}`);
      expect(old.status).toBe(410);
      expect(old.body.error.code).toBe("LINK_EXPIRED");
      expect((await sys.api.get(`/v1/driver-links/${token2}`)).status).toBe(200);
      expect(await sys.broker.call("driverLinks.revokeForBooking", { bookingId: b.bookingId })).toEqual({ revoked: 1 });
      expect(await sys.broker.call("driverLinks.revokeForBooking", { bookingId: b.bookingId })).toEqual({ revoked: 0 });
      expect((await sys.api.get(`/v1/driver-links/${token2}`)).status).toBe(410);
    });

    it("stores only the token's hash", async () => {
      const b = await link();
      const files = fs.readdirSync(path.join(sys.dataDir, "driverLinks"));
      const stored = files.map((f) => fs.readFileSync(path.join(sys.dataDir, "driverLinks", f), "utf8")).join("\n");
      expect(stored).not.toContain(b.token);
      expect(stored).toContain(sha256(b.token));
    });
  });

  describe("the driver page (HTML, without a browser)", () => {
    it("when the link is opened, then the page escapes what it shows and has a strict CSP", async () => {
      const b = await link({ vehicle: { id: "v-x", make: `<script>alert("x")</script>`, model: "Avante & Co", licensePlate: "12가3456" } });
      const res = await sys.api.get(`/d/${b.token}`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/^text\/html/);
      const csp = res.headers.get("content-security-policy")!;
      expect(csp).toMatch(/default-src 'none'/);
      expect(csp).toMatch(/style-src 'sha256-[A-Za-z0-9+/=]+'/);
      expect(csp).toMatch(/form-action 'self'/);
      expect(csp).toMatch(/frame-ancestors 'none'/);
      expect(res.headers.get("cache-control")).toBe("no-store");
      expect(res.text).not.toContain("<script>");
      expect(res.text).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;");
      expect(res.text).toContain("Avante &amp; Co");
      expect(res.text).toMatch(/<form[^>]+method="post"[^>]+action="\/d\//);
      expect(res.text).not.toMatch(/<script|<img|<link|https?:\/\//i);
    });

    it("when the form is posted twice with the same hidden key, then both show the confirmation; a fresh form shows the link is used", async () => {
      const b = await link();
      const page = await sys.api.get(`/d/${b.token}`, undefined);
      const key = /name="idempotencyKey" value="([^"]+)"/.exec(page.text)![1];
      const form = (k: string) => new URLSearchParams({ idempotencyKey: k, paid: "yes", amount: "55,000", method: "cash", paidAt: "2026-01-15T10:30", note: "" }).toString();
      const post = (k: string) => sys.api.request("POST", `/d/${b.token}`, { raw: form(k), headers: { "content-type": "application/x-www-form-urlencoded", "accept-language": "en-US,en;q=0.9" } });
      const first = await post(key);
      expect(first.status).toBe(200);
      expect(first.text).toContain("The payment was recorded as paid.");
      const second = await post(key);
      expect(second.status).toBe(200);
      expect(second.text).toContain("The payment was recorded as paid.");
      const third = await post("a-completely-different-key-123");
      expect(third.status).toBe(410);
      expect(third.text).toContain("This link has already been used");
      expect(await payment(b.payment.id)).toMatchObject({ status: "paid", paidAt: "2026-01-15T01:30:00.000Z" });
    });

    it("when the form is incomplete, then it comes back with the problems and the same key; unknown links get a 404 page", async () => {
      const b = await link();
      const res = await sys.api.request("POST", `/d/${b.token}`, { raw: "idempotencyKey=kkkkkkkkkkkkkkkkkkkk&paid=yes&amount=abc&method=cash", headers: { "content-type": "application/x-www-form-urlencoded", "accept-language": "en" } });
      expect(res.status).toBe(400);
      expect(res.text).toContain("Enter the amount as a number");
      expect(res.text).toContain('value="kkkkkkkkkkkkkkkkkkkk"');
      const unknown = await sys.api.get(`/d/${"B".repeat(43)}`);
      expect(unknown.status).toBe(404);
      expect(unknown.headers.get("content-type")).toMatch(/^text\/html/);
      expect(unknown.text).toContain("링크를 찾을 수 없습니다");
    });
  });

  describe("who sees a payment", () => {
    it("when parties and others ask, then parties and admins see it and others get 403", async () => {
      const b = await link();
      for (const s of [renter, owner, admin]) expect((await sys.api.get(`/v1/payments/${b.payment.id}`, s.accessToken)).status).toBe(200);
      expect((await sys.api.get(`/v1/payments/${b.payment.id}`, stranger.accessToken)).status).toBe(403);
      expect((await sys.api.get(`/v1/payments?bookingId=${b.bookingId}`, stranger.accessToken)).status).toBe(403);
      expect((await sys.api.get(`/v1/payments/${b.payment.id}`)).status).toBe(401);
      expect((await sys.api.get("/v1/payments/nope", admin.accessToken)).status).toBe(404);
      const mine = await sys.api.get("/v1/payments?limit=2", renter.accessToken);
      expect(mine.body.items).toHaveLength(2);
      expect(mine.body.nextCursor).toEqual(expect.any(String));
      const next = await sys.api.get(`/v1/payments?limit=2&cursor=${mine.body.nextCursor}`, renter.accessToken);
      expect(next.body.items[0].id < mine.body.items[1].id).toBe(true);
      expect((await sys.api.get("/v1/payments", stranger.accessToken)).body).toEqual({ items: [], nextCursor: null });
    });
  });

  describe("admin override and the audit log", () => {
    it("when a non-admin overrides, then 403; without a reason, 400; an admin's override is audited with before and after", async () => {
      const b = await link();
      expect((await report(b.token, paidReport(55_000), "ovr")).status).toBe(200);
      expect((await sys.api.patch(`/v1/admin/payments/${b.payment.id}`, { status: "refunded", reason: "customer complaint" }, owner.accessToken)).status).toBe(403);
      const noReason = await sys.api.patch(`/v1/admin/payments/${b.payment.id}`, { status: "refunded" }, admin.accessToken);
      expect(noReason.status).toBe(400);
      expect(noReason.body.error.details[0].field).toBe("reason");
      const res = await sys.api.patch(`/v1/admin/payments/${b.payment.id}`, { status: "refunded", reason: "customer complaint" }, admin.accessToken);
      expect(res.status).toBe(200);
      expect(res.body.status).toBe("refunded");
      expect((await sys.api.patch(`/v1/admin/payments/${b.payment.id}`, { status: "refunded", reason: "again" }, admin.accessToken)).status).toBe(409);

      const audit = await sys.api.get(`/v1/admin/audit?entityType=payment&entityId=${b.payment.id}`, admin.accessToken);
      expect(audit.status).toBe(200);
      expect(audit.body.items.map((e: any) => e.action)).toEqual(["payment.override", "payment.driver_paid", "payment.create"]);
      const [override, driverPaid] = audit.body.items;
      expect(override).toMatchObject({ actor: { id: admin.user.id, kind: "admin" }, reason: "customer complaint", before: { status: "paid" }, after: { status: "refunded" }, at: expect.any(String), hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
      expect(driverPaid).toMatchObject({ actor: { id: b.driverId, kind: "driver" }, before: { status: "pending" }, after: { status: "paid", reportedAmount: 55_000 } });
      await factsOf(state, "payment.refunded", 1, (f) => f.data.paymentId === b.payment.id);
      expect((await sys.api.get("/v1/admin/audit", owner.accessToken)).status).toBe(403);
      expect((await sys.api.get("/v1/admin/audit/verify", renter.accessToken)).status).toBe(403);
      const adminList = await sys.api.get(`/v1/admin/payments?status=refunded`, admin.accessToken);
      expect(adminList.body.items.map((p: any) => p.id)).toContain(b.payment.id);
    });

    it("when another service records an audit fact, then it joins the chain once", async () => {
      await recordAudit(sys.broker, { entityType: "kyc", entityId: renter.user.id, action: "kyc.approve", actor: { id: admin.user.id, kind: "admin" }, before: { status: "submitted" }, after: { status: "approved" } }, "audit-fact-1");
      await recordAudit(sys.broker, { entityType: "kyc", entityId: renter.user.id, action: "kyc.approve", actor: { id: admin.user.id, kind: "admin" }, before: { status: "submitted" }, after: { status: "approved" } }, "audit-fact-1");
      const found = await waitFor(async () => {
        const items = (await sys.api.get(`/v1/admin/audit?entityType=kyc&entityId=${renter.user.id}`, admin.accessToken)).body.items;
        return items.length ? items : undefined;
      }, "the kyc audit entry");
      await new Promise((r) => setTimeout(r, 200));
      expect((await sys.api.get(`/v1/admin/audit?entityType=kyc&entityId=${renter.user.id}`, admin.accessToken)).body.items).toHaveLength(1);
      expect(found[0]).toMatchObject({ action: "kyc.approve", after: { status: "approved" } });
    });

    it("when the log is paged, then pages follow each other without overlap", async () => {
      const p1 = await sys.api.get("/v1/admin/audit?limit=3", admin.accessToken);
      expect(p1.body.items).toHaveLength(3);
      const p2 = await sys.api.get(`/v1/admin/audit?limit=3&cursor=${p1.body.nextCursor}`, admin.accessToken);
      expect(p2.body.items[0].seq).toBe(p1.body.items[2].seq - 1);
    });

    it("when an entry is tampered with in the database, then verification finds it; restored, the chain verifies again", async () => {
      const ok = await sys.api.get("/v1/admin/audit/verify", admin.accessToken);
      expect(ok.status).toBe(200);
      expect(ok.body).toEqual({ ok: true, checked: expect.any(Number) });
      expect(ok.body.checked).toBeGreaterThan(5);

      const entries = (sys.broker.getLocalService("payments") as any).db.collection("audit_entries");
      const target = await entries.findOne({ seq: 3 });
      await entries.updateOne({ _id: target._id }, { $set: { after: { ...target.after, amount: 1 } } });
      const broken = await sys.api.get("/v1/admin/audit/verify", admin.accessToken);
      expect(broken.body).toMatchObject({ ok: false, brokenAt: 3, checked: 2 });

      await entries.updateOne({ _id: target._id }, { $set: { after: target.after } });
      expect((await sys.api.get("/v1/admin/audit/verify", admin.accessToken)).body.ok).toBe(true);
    });
  });

  describe("settlements", () => {
    it("when an owner asks for a period, then the paid payments in it are totalled per currency", async () => {
      const soloOwner = await loginByOtp(sys);
      await sys.api.post("/v1/auth/me/roles", { role: "owner" }, soloOwner.accessToken);
      const mk = (amount: number, currency = "KRW") => linkedBooking(sys.broker, sys.dataDir, state, { renterId: renter.user.id, ownerId: soloOwner.user.id, amount, currency });
      const [a, b2, c, d, e] = await Promise.all([mk(10_000), mk(20_001), mk(30_000), mk(1_250, "USD"), mk(40_000)]);
      expect((await report(a.token, paidReport(10_000, { paidAt: "2026-03-01T09:00:00+09:00" }), "s-a")).status).toBe(200);
      expect((await report(b2.token, paidReport(19_000, { paidAt: "2026-03-15T09:00:00+09:00" }), "s-b")).status).toBe(200);
      expect((await report(c.token, paidReport(30_000, { paidAt: "2026-04-01T09:00:00+09:00" }), "s-c")).status).toBe(200); // after the period
      expect((await report(d.token, paidReport(1_250, { paidAt: "2026-03-10T09:00:00+09:00" }), "s-d")).status).toBe(200);
      expect((await report(e.token, { paid: false }, "s-e")).status).toBe(200); // not paid

      const res = await sys.api.get(`/v1/payments/settlements?from=${encodeURIComponent("2026-03-01T00:00:00+09:00")}&to=${encodeURIComponent("2026-04-01T00:00:00+09:00")}`, soloOwner.accessToken);
      expect(res.status).toBe(200);
      expect(res.body.totals).toEqual([
        { currency: "KRW", count: 2, gross: 30_001, platformFee: 1_500 + 3_000, hostAmount: 8_500 + 17_001, reportedGross: 29_000, discrepancies: 1 },
        { currency: "USD", count: 1, gross: 1_250, platformFee: 188, hostAmount: 1_062, reportedGross: 1_250, discrepancies: 0 },
      ]);
      expect(res.body.items.map((p: any) => p.bookingId).sort()).toEqual([a.bookingId, b2.bookingId, d.bookingId].sort());
      expect(res.body).toMatchObject({ ownerId: soloOwner.user.id, from: "2026-02-28T15:00:00.000Z", to: "2026-03-31T15:00:00.000Z", truncated: false });

      expect((await sys.api.get("/v1/payments/settlements", renter.accessToken)).status).toBe(403);
      expect((await sys.api.get("/v1/payments/settlements?from=2026-05-01T00:00:00Z&to=2026-04-01T00:00:00Z", soloOwner.accessToken)).status).toBe(400);
      const byAdmin = await sys.api.get(`/v1/payments/settlements?ownerId=${soloOwner.user.id}&from=2026-01-01T00:00:00Z&to=2027-01-01T00:00:00Z`, admin.accessToken);
      expect(byAdmin.body.totals[0]).toMatchObject({ currency: "KRW", count: 3 });
    });
  });

  describe("in-app notifications and devices", () => {
    it("when a user lists and reads notifications, then only their own are listed, paged, and marked read", async () => {
      const list = await sys.api.get("/v1/notifications?limit=2", owner.accessToken);
      expect(list.status).toBe(200);
      expect(list.body.items).toHaveLength(2);
      expect(list.body.nextCursor).toEqual(expect.any(String));
      expect(list.body.unread).toBeGreaterThanOrEqual(2);
      const target = list.body.items[0];
      expect(target).toMatchObject({ id: expect.any(String), kind: expect.any(String), title: expect.any(String), body: expect.any(String), read: false, readAt: null });

      expect((await sys.api.post(`/v1/notifications/${target.id}/read`, {}, stranger.accessToken)).status).toBe(404);
      const read = await sys.api.post(`/v1/notifications/${target.id}/read`, {}, owner.accessToken);
      expect(read.status).toBe(200);
      expect(read.body).toMatchObject({ id: target.id, read: true, readAt: expect.any(String) });
      const again = await sys.api.post(`/v1/notifications/${target.id}/read`, {}, owner.accessToken);
      expect(again.body.readAt).toBe(read.body.readAt);

      const unreadOnly = await sys.api.get("/v1/notifications?unread=true&limit=100", owner.accessToken);
      expect(unreadOnly.body.items.some((n: any) => n.id === target.id)).toBe(false);
      const page2 = await sys.api.get(`/v1/notifications?limit=2&cursor=${list.body.nextCursor}`, owner.accessToken);
      expect(page2.body.items.map((n: any) => n.id)).not.toContain(target.id);
      expect((await sys.api.get("/v1/notifications", stranger.accessToken)).body.items).toEqual([]);
      expect((await sys.api.get("/v1/notifications")).status).toBe(401);
    });

    it("when a device is registered, then payment events reach it as pushes", async () => {
      const res = await sys.api.put("/v1/notifications/devices", { pushToken: "fcm-token-renter-0001", platform: "android" }, renter.accessToken);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: expect.any(String), platform: "android" });
      expect((await sys.api.put("/v1/notifications/devices", { pushToken: "x", platform: "android" }, renter.accessToken)).status).toBe(400);
      expect((await sys.api.put("/v1/notifications/devices", { pushToken: "fcm-token-renter-0001", platform: "blackberry" }, renter.accessToken)).status).toBe(400);

      const b = await link();
      expect((await report(b.token, paidReport(55_000), "push-1")).status).toBe(200);
      const pushFile = path.join(sys.dataDir, "outbox", "push.jsonl");
      const push = await waitFor(() => {
        if (!fs.existsSync(pushFile)) return undefined;
        return fs.readFileSync(pushFile, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l)).find((m) => m.kind === "payment.paid" && m.data.paymentId === b.payment.id);
      }, "a push about the payment");
      expect(push).toMatchObject({ to: "fcm-token-renter-0001", platform: "android", title: "결제가 확인되었습니다" });
      // The renter also has it in the app.
      await waitFor(async () => (await inbox(renter)).items.find((n: any) => n.kind === "payment.paid" && n.data.paymentId === b.payment.id), "the renter's in-app notification");
    });

    it("when a booking fact arrives, then the parties it concerns are notified once", async () => {
      const { publishFact } = await import("../../lib/facts");
      const data = { bookingId: "bk-fact-1", vehicleId: "v1", renterId: renter.user.id, ownerId: owner.user.id, driverId: null, start: "2026-12-01T00:00:00Z", end: "2026-12-01T03:00:00Z", status: "requested", from: null, actor: { id: renter.user.id, kind: "renter" }, at: new Date().toISOString(), price: { hours: 3, hourlyRate: 10_000, total: 30_000, platformFee: 4_500, hostAmount: 25_500, currency: "KRW" } };
      await publishFact(sys.broker, "booking.requested", data, { id: "fact-booking-requested-1" });
      await publishFact(sys.broker, "booking.requested", data, { id: "fact-booking-requested-1" });
      const note = await waitFor(async () => (await inbox(owner, "?limit=100")).items.find((n: any) => n.data.bookingId === "bk-fact-1"), "the owner's booking request notification");
      expect(note).toMatchObject({ kind: "booking.requested", title: "새 예약 요청" });
      expect(note.body).toContain("₩30,000");
      await new Promise((r) => setTimeout(r, 200));
      expect((await inbox(owner, "?limit=100")).items.filter((n: any) => n.data.bookingId === "bk-fact-1")).toHaveLength(1);
      expect((await inbox(renter, "?limit=100")).items.some((n: any) => n.data.bookingId === "bk-fact-1")).toBe(false);
    });

    it("when notifications.send is asked for an in-app message without a user, then 400", async () => {
      await expect(sys.broker.call("notifications.send", { key: "x1", channel: "in_app", kind: "t", template: "payment_paid" })).rejects.toMatchObject({ type: "VALIDATION_ERROR" });
      await expect(sys.broker.call("notifications.send", { key: "x2", channel: "push", kind: "t", userId: "u", template: "nope" })).rejects.toMatchObject({ type: "BAD_REQUEST" });
    });
  });

  it("the OpenAPI document lists the new routes", async () => {
    const doc = (await sys.api.get("/v1/openapi.json")).body;
    for (const p of ["/v1/payments/{id}", "/v1/payments/settlements", "/v1/admin/payments/{id}", "/v1/admin/audit", "/v1/admin/audit/verify", "/v1/driver-links/{token}/payment", "/v1/notifications/{id}/read", "/v1/notifications/devices"]) {
      expect(doc.paths[p]).toBeDefined();
    }
    expect(doc.paths["/v1/driver-links/{token}/payment"].post.security).toBeUndefined();
  });
});

describe("driver links that expire, and their rate limit", () => {
  let sys: TestSystem;
  let state: PeerState;

  beforeAll(async () => {
    state = peerState();
    sys = await startSystem({ SERVICES, DRIVER_LINK_TTL: "1s", DRIVER_LINK_RATE_LIMIT: "6" }, { extraServices: peerFakes(state) });
  });
  afterAll(async () => {
    await sys?.stop();
  });

  it("when the link has expired, then 410 LINK_EXPIRED for the summary, the report and the page", async () => {
    const b = await linkedBooking(sys.broker, sys.dataDir, state, { renterId: "r-1", ownerId: "o-1" });
    await new Promise((r) => setTimeout(r, 1100));
    const view = await sys.api.get(`/v1/driver-links/${b.token}`);
    expect(view.status).toBe(410);
    expect(view.body.error.code).toBe("LINK_EXPIRED");
    const post = await sys.api.post(`/v1/driver-links/${b.token}/payment`, paidReport(55_000), undefined, { "idempotency-key": "late" });
    expect(post.status).toBe(410);
    expect(post.body.error.code).toBe("LINK_EXPIRED");
    const page = await sys.api.request("GET", `/d/${b.token}`, { headers: { "accept-language": "en" } });
    expect(page.status).toBe(410);
    expect(page.text).toContain("This link has expired");
  });

  it("when one address asks too often, then 429 with Retry-After", async () => {
    let last: Answer | undefined;
    for (let i = 0; i < 8; i++) last = await sys.api.get(`/v1/driver-links/${"C".repeat(43)}`);
    expect(last!.status).toBe(429);
    expect(last!.body.error.code).toBe("RATE_LIMITED");
    expect(Number(last!.headers.get("retry-after"))).toBeGreaterThan(0);
    const page = await sys.api.get(`/d/${"C".repeat(43)}`);
    expect(page.status).toBe(429);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
  });
});

describe("a driver report while payments is down", () => {
  let sys: TestSystem;
  let state: PeerState;
  let failures = 1;

  beforeAll(async () => {
    state = peerState();
    const payments = {
      name: "payments",
      actions: {
        createForBooking: {
          visibility: "public",
          handler(ctx: any) {
            return { id: `pay-${ctx.params.bookingId}`, ...ctx.params, status: "pending", discrepancy: false, createdAt: new Date().toISOString(), updatedAt: new Date().toISOString() };
          },
        },
        recordDriverReport: {
          visibility: "public",
          handler(ctx: any) {
            if (failures-- > 0) throw new AppError("SERVICE_UNAVAILABLE", "payments is down (test)");
            const p = ctx.params;
            return { id: p.paymentId, bookingId: "bk", amount: 55_000, platformFee: 8_250, hostAmount: 46_750, currency: "KRW", status: "paid", source: "driver_link", method: p.method, reportedAmount: p.amount, discrepancy: false, paidAt: p.paidAt, createdAt: "", updatedAt: "" };
          },
        },
      },
    };
    sys = await startSystem({ SERVICES: "gateway,auth,notifications,driver-links", DRIVER_LINK_RATE_LIMIT: "0" }, { extraServices: [...peerFakes(state, ["vehicles", "bookings"]), payments as any] });
  });
  afterAll(async () => {
    await sys?.stop();
  });

  it("when recording the payment fails, then 503 and the link is still usable: nothing was half-written", async () => {
    const b = await linkedBooking(sys.broker, sys.dataDir, state, { renterId: "r-1", ownerId: "o-1" });
    const down = await sys.api.post(`/v1/driver-links/${b.token}/payment`, paidReport(55_000), undefined, { "idempotency-key": "first-try" });
    expect(down.status).toBe(503);
    expect(down.body.error.code).toBe("SERVICE_UNAVAILABLE");
    expect((await sys.api.get(`/v1/driver-links/${b.token}`)).status).toBe(200);
    const retry = await sys.api.post(`/v1/driver-links/${b.token}/payment`, paidReport(55_000), undefined, { "idempotency-key": "second-try" });
    expect(retry.status).toBe(200);
    expect(retry.body).toMatchObject({ payment: { status: "paid" }, booking: { status: "confirmed" } });
    expect((await sys.api.post(`/v1/driver-links/${b.token}/payment`, paidReport(55_000), undefined, { "idempotency-key": "first-try" })).status).toBe(410);
  });

  it("when the user's locale is English, then in-app messages are in English; auth.claims tells the locale", async () => {
    const user = await loginByOtp(sys);
    expect(await sys.broker.call("auth.claims", { userId: user.user.id })).toMatchObject({ locale: "ko" });
    await sys.broker.call("notifications.send", { key: "en-1", channel: "in_app", kind: "payment.paid", userId: user.user.id, template: "payment_paid", params: { amount: 1250, currency: "USD" }, locale: "en" });
    const note = await waitFor(async () => (await sys.api.get("/v1/notifications", user.accessToken)).body.items[0], "the English notification");
    expect(note).toMatchObject({ title: "Payment received", body: "A payment of $12.50 was confirmed." });
  });
});
