/**
 * The Kakao adapter against a local HTTP fake that answers like Kakao Local:
 * hits, misses, errors (500, 401), slowness (timeouts), and the circuit
 * breaker opening, refusing at once, and closing again.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { CircuitBreaker } from "./breaker";
import { GeocodingUnavailable } from "./geocoder";
import { KakaoGeocoder } from "./kakao";

type Behaviour = (req: http.IncomingMessage, res: http.ServerResponse) => void;

const CITY_HALL = { x: "126.977829174031", y: "37.5663174209601", address_name: "서울 중구 태평로1가 31" };

function answer(documents: unknown[]): Behaviour {
  return (_req, res) => {
    res.setHeader("Content-Type", "application/json;charset=UTF-8");
    res.end(JSON.stringify({ meta: { total_count: documents.length, pageable_count: documents.length, is_end: true }, documents }));
  };
}
const status = (code: number, body = { errorType: "Error", message: "error" }): Behaviour => (_req, res) => {
  res.statusCode = code;
  res.setHeader("Content-Type", "application/json");
  res.end(JSON.stringify(body));
};

class FakeKakao {
  server!: http.Server;
  hits: { url: string; authorization?: string }[] = [];
  /** Each request takes the next behaviour; the last one repeats. */
  script: Behaviour[] = [answer([CITY_HALL])];
  private sockets = new Set<import("node:net").Socket>();

  async start() {
    this.server = http.createServer((req, res) => {
      this.hits.push({ url: req.url ?? "", authorization: req.headers.authorization });
      const next = this.script.length > 1 ? this.script.shift()! : this.script[0];
      next(req, res);
    });
    this.server.on("connection", (s) => {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
    });
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop() {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => this.server.close(r));
  }
}

describe("KakaoGeocoder", () => {
  const fake = new FakeKakao();
  let baseUrl: string;
  const geocoder = (opts: Partial<ConstructorParameters<typeof KakaoGeocoder>[0]> = {}) =>
    new KakaoGeocoder({ baseUrl, apiKey: "test-key", timeoutMs: 300, retries: 2, backoffMs: 5, ...opts });

  beforeAll(async () => {
    baseUrl = await fake.start();
  });
  afterAll(() => fake.stop());
  beforeEach(() => {
    fake.hits = [];
    fake.script = [answer([CITY_HALL])];
  });

  test("when the address is known, then its coordinates come back and the key is sent as KakaoAK", async () => {
    const point = await geocoder().geocode("서울 중구 세종대로 110");
    expect(point).toEqual({ lat: 37.5663174209601, lng: 126.977829174031, address: "서울 중구 태평로1가 31" });
    expect(fake.hits).toHaveLength(1);
    expect(fake.hits[0].authorization).toBe("KakaoAK test-key");
    const url = new URL(fake.hits[0].url, baseUrl);
    expect(url.pathname).toBe("/v2/local/search/address.json");
    expect(url.searchParams.get("query")).toBe("서울 중구 세종대로 110");
  });

  test("when Kakao finds nothing, then the answer is null, with no retry", async () => {
    fake.script = [answer([])];
    await expect(geocoder().geocode("nowhere at all")).resolves.toBeNull();
    expect(fake.hits).toHaveLength(1);
  });

  test("when Kakao fails with 500 once, then the lookup is tried again and succeeds", async () => {
    fake.script = [status(500), answer([CITY_HALL])];
    await expect(geocoder().geocode("서울 중구 세종대로 110")).resolves.toMatchObject({ lat: 37.5663174209601 });
    expect(fake.hits).toHaveLength(2);
  });

  test("when Kakao keeps failing with 500, then it is tried 3 times and reported unavailable", async () => {
    fake.script = [status(500)];
    await expect(geocoder().geocode("x")).rejects.toMatchObject({ name: "GeocodingUnavailable", reason: "http" });
    expect(fake.hits).toHaveLength(3);
  });

  test("when Kakao refuses the key with 401, then it is not tried again and is reported unavailable", async () => {
    fake.script = [status(401, { errorType: "AccessDeniedError", message: "wrong appKey" })];
    await expect(geocoder().geocode("x")).rejects.toMatchObject({ reason: "auth" });
    expect(fake.hits).toHaveLength(1);
  });

  test("when Kakao is slower than the time limit, then each try times out and the lookup fails in bounded time", async () => {
    fake.script = [(_req, res) => void setTimeout(() => !res.destroyed && answer([CITY_HALL])(_req, res), 2000).unref()];
    const started = Date.now();
    await expect(geocoder({ timeoutMs: 100, retries: 1 }).geocode("x")).rejects.toMatchObject({ reason: "timeout" });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(fake.hits).toHaveLength(2);
  });

  test("when Kakao answers garbage or coordinates out of range, then it is unavailable, not a wrong place", async () => {
    fake.script = [answer([{ x: null, y: "37.5" }])];
    await expect(geocoder({ retries: 0 }).geocode("x")).rejects.toMatchObject({ reason: "bad_answer" });
    fake.script = [answer([{ x: "500", y: "37.5" }])];
    await expect(geocoder({ retries: 0 }).geocode("x")).rejects.toMatchObject({ reason: "bad_answer" });
    fake.script = [(_req, res) => res.end("<html>oops</html>")];
    await expect(geocoder({ retries: 0 }).geocode("x")).rejects.toBeInstanceOf(GeocodingUnavailable);
  });

  test("when lookups keep failing, then the circuit opens and refuses at once without calling Kakao, then closes after a good trial", async () => {
    let clock = 1_000_000;
    const breaker = new CircuitBreaker({ threshold: 3, openMs: 10_000, now: () => clock });
    const g = geocoder({ breaker, retries: 0 });
    fake.script = [status(503)];
    for (let i = 0; i < 3; i++) await expect(g.geocode("x")).rejects.toMatchObject({ reason: "http" });
    expect(breaker.state).toBe("open");
    expect(fake.hits).toHaveLength(3);

    await expect(g.geocode("x")).rejects.toMatchObject({ reason: "circuit_open" });
    expect(fake.hits).toHaveLength(3); // refused without a call

    clock += 10_000;
    expect(breaker.state).toBe("half_open");
    fake.script = [answer([CITY_HALL])];
    await expect(g.geocode("x")).resolves.toMatchObject({ lng: 126.977829174031 });
    expect(breaker.state).toBe("closed");
    expect(fake.hits).toHaveLength(4);
  });

  test("when the half-open trial fails, then the circuit opens again", async () => {
    let clock = 0;
    const breaker = new CircuitBreaker({ threshold: 1, openMs: 100, now: () => clock });
    const g = geocoder({ breaker, retries: 0 });
    fake.script = [status(500)];
    await expect(g.geocode("x")).rejects.toMatchObject({ reason: "http" });
    clock += 100;
    await expect(g.geocode("x")).rejects.toMatchObject({ reason: "http" });
    expect(breaker.state).toBe("open");
    await expect(g.geocode("x")).rejects.toMatchObject({ reason: "circuit_open" });
    expect(fake.hits).toHaveLength(2);
  });

  test("when Kakao cannot be reached at all, then it is unavailable", async () => {
    const g = new KakaoGeocoder({ baseUrl: "http://127.0.0.1:1", apiKey: "k", timeoutMs: 300, retries: 1, backoffMs: 1 });
    await expect(g.geocode("x")).rejects.toMatchObject({ reason: "network" });
  });
});

describe("CircuitBreaker", () => {
  test("when half-open, then only one trial call is let through at a time", () => {
    let clock = 0;
    const b = new CircuitBreaker({ threshold: 1, openMs: 50, now: () => clock });
    b.failure();
    expect(b.tryAcquire()).toBe(false);
    clock = 50;
    expect(b.tryAcquire()).toBe(true);
    expect(b.tryAcquire()).toBe(false);
    b.success();
    expect(b.tryAcquire()).toBe(true);
    expect(b.tryAcquire()).toBe(true);
  });

  test("when failures are not consecutive, then the circuit stays closed", () => {
    const b = new CircuitBreaker({ threshold: 3 });
    b.failure();
    b.failure();
    b.success();
    b.failure();
    b.failure();
    expect(b.state).toBe("closed");
    b.failure();
    expect(b.state).toBe("open");
  });
});
