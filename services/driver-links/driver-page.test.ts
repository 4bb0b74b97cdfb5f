/**
 * The driver's page in a real headless Chromium: open the link from the SMS,
 * fill the form, submit, see the confirmation; with JavaScript off, as the
 * page must work without it. Needs Debian's `chromium` (/usr/bin/chromium):
 * when it is missing this FAILS, it does not skip.
 */
import fs from "node:fs";
import { chromium, type Browser, type ConsoleMessage, type Page } from "playwright-core";
import { startSystem, type TestSystem } from "../../test/support/system";
import { linkedBooking, peerFakes, peerState, type PeerState } from "../../test/support/payments";

jest.setTimeout(90_000);

const CHROMIUM = "/usr/bin/chromium";
const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

describe("the driver page in Chromium", () => {
  let sys: TestSystem;
  let state: PeerState;
  let browser: Browser;

  beforeAll(async () => {
    if (!fs.existsSync(CHROMIUM)) {
      throw new Error(`${CHROMIUM} is missing: the test infrastructure must install Debian's chromium (apt-get install -y chromium)`);
    }
    state = peerState();
    sys = await startSystem({ SERVICES: "gateway,auth,notifications,payments,driver-links", DRIVER_LINK_RATE_LIMIT: "0" }, { extraServices: peerFakes(state) });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  });
  afterAll(async () => {
    await browser?.close();
    await sys?.stop();
  });

  async function open(javaScriptEnabled: boolean, locale = "en-US"): Promise<{ page: Page; problems: string[] }> {
    const context = await browser.newContext({ javaScriptEnabled, locale, viewport: { width: 390, height: 844 }, isMobile: true });
    const page = await context.newPage();
    const problems: string[] = [];
    // A CSP violation or a failed load shows up as a console error.
    page.on("console", (m: ConsoleMessage) => {
      if (m.type() === "error") problems.push(m.text());
    });
    page.on("requestfailed", (r) => problems.push(`failed: ${r.url()}`));
    return { page, problems };
  }

  const linkFor = () => linkedBooking(sys.broker, sys.dataDir, state, { renterId: "renter-1", ownerId: "owner-1" });
  const urlOf = (token: string) => `${sys.url}/d/${token}`;

  it("when the driver opens the link, reports the payment and submits, then the confirmation shows and the payment is paid", async () => {
    const b = await linkFor();
    const { page, problems } = await open(true);
    const res = await page.goto(urlOf(b.token));
    expect(res?.status()).toBe(200);
    await expect(page.title()).resolves.toContain("Payment confirmation");
    expect(await page.textContent("#vehicle")).toContain("Hyundai Avante");
    expect(await page.textContent("#expected")).toContain("55,000");
    // The inline stylesheet is allowed by its hash in the CSP, so it applies.
    expect(await page.$eval("button", (el) => (globalThis as any).getComputedStyle(el).backgroundColor)).toBe("rgb(11, 107, 203)");

    await page.check('input[name="paid"][value="yes"]');
    await page.fill("#amount", "55000");
    await page.selectOption("#method", "bank_transfer");
    await page.fill("#paidAt", "2026-01-15T10:30");
    await page.fill("#note", "계좌로 받음 <b>ok</b>");
    const posts: string[] = [];
    page.on("request", (r) => {
      if (r.method() === "POST") posts.push(r.url());
    });
    await Promise.all([page.waitForURL(urlOf(b.token)), page.click('button[type="submit"]')]);

    await expect(page.textContent("h1")).resolves.toBe("Thank you");
    expect(await page.textContent("#outcome")).toContain("The payment was recorded as paid.");
    expect(await page.textContent("#recorded")).toContain("55,000");
    expect(await page.textContent("#booking-status")).toBe("confirmed");
    expect(await page.getAttribute("#outcome", "data-status")).toBe("paid");
    expect(problems).toEqual([]);

    const stored = await sys.broker.call<any, any>("payments.adminList", { bookingId: b.bookingId }, { meta: { user: { id: "admin", roles: ["admin"], sid: "s" } } });
    expect(stored.items[0]).toMatchObject({ status: "paid", method: "bank_transfer", reportedAmount: 55_000, paidAt: "2026-01-15T01:30:00.000Z", note: "계좌로 받음 <b>ok</b>" });

    // Reloading the answer sends the same form (same hidden key) again: the same answer, nothing recorded twice.
    const before = posts.length;
    expect(before).toBe(1);
    await page.reload();
    expect(posts.length).toBe(before + 1);
    expect(await page.textContent("#outcome")).toContain("The payment was recorded as paid.");
    expect(state.confirmed.filter((c) => c.bookingId === b.bookingId)).toHaveLength(1);

    // Opened again later: the link is used.
    const again = await page.goto(urlOf(b.token));
    expect(again?.status()).toBe(410);
    expect(await page.textContent("h1")).toBe("This link has already been used");
    await page.context().close();
  });

  it("when JavaScript is off and the renter did not pay, then the plain form still works (in Korean)", async () => {
    const b = await linkFor();
    const { page, problems } = await open(false, "ko-KR");
    await page.goto(urlOf(b.token));
    expect(await page.textContent("h1")).toBe("결제 확인");
    await page.check('input[name="paid"][value="no"]');
    await page.fill("#amount", "");
    await Promise.all([page.waitForURL(urlOf(b.token)), page.click('button[type="submit"]')]);
    expect(await page.textContent("#outcome")).toContain("미결제로 기록되었습니다");
    expect(await page.getAttribute("#outcome", "data-status")).toBe("unpaid_reported");
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it("when the amount is wrong, then the form comes back with the problem, and a corrected submit works", async () => {
    const b = await linkFor();
    const { page } = await open(false);
    await page.goto(urlOf(b.token));
    await page.fill("#amount", "fifty");
    await Promise.all([page.waitForURL(urlOf(b.token)), page.click('button[type="submit"]')]);
    expect(await page.textContent(".errors")).toContain("Enter the amount as a number");
    await page.fill("#amount", "50000");
    await Promise.all([page.waitForURL(urlOf(b.token)), page.click('button[type="submit"]')]);
    expect(await page.textContent("#outcome")).toContain("The payment was recorded as paid.");
    expect(await page.textContent("#discrepancy")).toContain("differs from the expected");
    await page.context().close();
  });

  it("when the link is unknown, then a friendly 404 page shows", async () => {
    const { page, problems } = await open(true);
    const res = await page.goto(urlOf("Z".repeat(43)));
    expect(res?.status()).toBe(404);
    expect(await page.textContent("h1")).toBe("This link is not valid");
    expect(problems.filter((p) => !/404/.test(p))).toEqual([]);
    await page.context().close();
  });
});
