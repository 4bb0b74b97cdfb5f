/**
 * The gateway: the only HTTP entry. REST routes come from gateway/routes/;
 * who may call each action is declared on the action (auth, roles, kyc) and
 * enforced here, once. Errors of every kind leave in the API's shape.
 */
import type { Context } from "moleculer";
import type { IncomingMessage, ServerResponse } from "node:http";
import ApiGateway from "moleculer-web";
import { config } from "../lib/config";
import { AppError, unauthenticated } from "../lib/errors";
import { runHealthChecks, transporterState } from "../lib/health";
import { prometheus } from "../lib/metrics";
import { defineService, resources, type WithResources } from "../lib/service";
import type { AuthUser, RequestMeta } from "../lib/auth-types";
import { sendApiError, toApiError } from "./errors";
import { rateLimit, requestContext, securityHeaders, type Req } from "./http";
import { busboyConfig, multipartError } from "./multipart";
import { buildOpenApi } from "./openapi";
import { ROUTES } from "./routes";
import { UserResolver } from "./users";
import { PAGE_HEADERS, pickLocale, renderProblem } from "../services/driver-links/page";

type Self = WithResources<{ users: UserResolver; openapi?: unknown; settings: any }>;
type GwReq = Req & { $action?: any; $alias?: { type?: string }; $ctx?: Context<unknown, RequestMeta>; $user?: AuthUser; $authError?: unknown };

const BODY_METHODS = new Set(["POST", "PUT", "PATCH"]);

function relativeAliases(prefix: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, action] of Object.entries(ROUTES)) {
    const [method, path] = key.split(" ");
    if (!path.startsWith(prefix + "/")) throw new Error(`Route ${key} is outside ${prefix}`);
    out[`${method} ${path.slice(prefix.length)}`] = action;
  }
  return out;
}

function json(res: ServerResponse, status: number, body: unknown) {
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader("Content-Type", "application/json; charset=utf-8");
  res.setHeader("Cache-Control", "no-store");
  res.end(text);
}

/** The driver page's errors are pages too (an unknown route, a body too large, driver links down). */
function sendDriverPageError(req: GwReq, res: ServerResponse, status: number, code: string) {
  if (res.headersSent) return void res.end();
  const accept = req.headers["accept-language"];
  const html = renderProblem(code, pickLocale(typeof accept === "string" ? accept : undefined));
  res.statusCode = status;
  for (const [k, v] of Object.entries(PAGE_HEADERS)) res.setHeader(k, v);
  res.setHeader("Content-Type", "text/html; charset=utf-8");
  res.end(html);
}

export default function createGateway() {
  const cfg = config();
  // The HTTP middlewares are built before the service exists; they reach it through this holder.
  const service: { current?: Self } = {};
  const kv = () => service.current!.kv;

  return defineService<Self>({
    name: "api",
    mixins: [ApiGateway as any, resources({ kv: true })],

    settings: {
      port: cfg.port,
      ip: "0.0.0.0",
      use: [requestContext(false), securityHeaders, rateLimit(cfg.rateLimitPerMinute, kv, (m) => service.current?.logger.warn(m))],
      cors: cfg.corsOrigins.length
        ? { origin: cfg.corsOrigins, methods: ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"], allowedHeaders: ["Authorization", "Content-Type", "Idempotency-Key", "X-Request-Id"], exposedHeaders: ["X-Request-Id", "Retry-After"], maxAge: 600 }
        : undefined,
      logRequestParams: null,
      logResponseData: null,
      log4XXResponses: false,
      routes: [
        {
          path: "",
          mappingPolicy: "restrict",
          bodyParsers: false,
          aliases: {
            "GET /health/live"(_req: IncomingMessage, res: ServerResponse) {
              json(res, 200, { status: "ok" });
            },
            async "GET /health/ready"(this: Self, _req: IncomingMessage, res: ServerResponse) {
              const [transporter, { ok, checks }] = await Promise.all([transporterState(this.broker), runHealthChecks()]);
              const ready = ok && transporter === "ok";
              json(res, ready ? 200 : 503, { status: ready ? "ready" : "unavailable", checks: { transporter, ...checks } });
            },
            "GET /metrics"(_req: IncomingMessage, res: ServerResponse) {
              res.setHeader("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
              res.end(prometheus.render());
            },
            "GET /v1/openapi.json"(this: Self, _req: IncomingMessage, res: ServerResponse) {
              json(res, 200, buildOpenApi(this.broker, ROUTES, cfg.publicUrl));
            },
          },
        },
        {
          path: "/v1",
          mappingPolicy: "restrict",
          aliases: relativeAliases("/v1"),
          authentication: true,
          authorization: true,
          bodyParsers: { json: { strict: true, limit: cfg.bodyLimit }, urlencoded: false },
          busboyConfig,
          // No route-wide timeout: the broker's default (10 s) applies, and actions that
          // take longer by nature (uploads) declare their own `timeout`.
          onBeforeCall(this: Self, ctx: Context<unknown, RequestMeta>, _route: unknown, req: GwReq) {
            if (BODY_METHODS.has(req.method ?? "")) {
              const type = String(req.headers["content-type"] ?? "");
              const hasBody = Number(req.headers["content-length"] ?? 0) > 0 || req.headers["transfer-encoding"] !== undefined;
              if (hasBody && type && !/^application\/json\b/i.test(type) && !/^multipart\/form-data\b/i.test(type)) {
                throw new AppError("UNSUPPORTED_MEDIA_TYPE", "Send the body as application/json");
              }
            }
            ctx.meta.requestId = req.$requestId;
            ctx.meta.ip = req.$ip;
            const key = req.headers["idempotency-key"];
            if (typeof key === "string" && key) ctx.meta.idempotencyKey = key.slice(0, 200);
          },
        },
        {
          // The driver's page (services/driver-links/page): HTML, no login, a plain urlencoded form. Not under /v1.
          path: "/d",
          mappingPolicy: "restrict",
          aliases: { "GET /:token": "driverLinks.page", "POST /:token": "driverLinks.submitForm" },
          authentication: false,
          authorization: false,
          logging: false, // the path holds the link's secret token
          bodyParsers: { json: false, urlencoded: { extended: false, limit: "16kb", parameterLimit: 20 } },
          callOptions: { timeout: 10_000 },
          onBeforeCall(this: Self, ctx: Context<unknown, RequestMeta & { acceptLanguage?: string }>, _route: unknown, req: GwReq) {
            ctx.meta.requestId = req.$requestId;
            ctx.meta.ip = req.$ip;
            const lang = req.headers["accept-language"];
            if (typeof lang === "string") ctx.meta.acceptLanguage = lang.slice(0, 200);
          },
          onError(this: Self, req: GwReq, res: ServerResponse, err: any) {
            const e = toApiError(err);
            if (e.status >= 500) this.logger.error(`${req.method} /d/… failed [${req.$requestId}]:`, err);
            sendDriverPageError(req, res, e.status, e.code);
          },
        },
      ],
      onError(this: Self, req: GwReq, res: ServerResponse, err: any) {
        const e = toApiError(req.$alias?.type === "multipart" ? multipartError(err) : err);
        if (e.status >= 500) this.logger.error(`${req.method} ${req.url?.split("?")[0]} failed [${req.$requestId}]:`, err);
        sendApiError(req, res, e);
      },
    },

    methods: {
      /** Resolves the token, if any. A bad token only matters where the action needs a user. */
      async authenticate(this: Self, _ctx: Context, _route: unknown, req: GwReq) {
        try {
          return await this.users.resolve(req.headers.authorization);
        } catch (err) {
          if (err instanceof AppError && err.code === 503) throw err;
          req.$authError = err;
          return null;
        }
      },

      /** Enforces the action's declared access rules: auth, roles, kyc. */
      async authorize(this: Self, ctx: Context<unknown, RequestMeta>, _route: unknown, req: GwReq) {
        const action = req.$action ?? {};
        if (action.auth === "public") return;
        const user = ctx.meta.user;
        if (!user) throw req.$authError ?? unauthenticated();
        const roles: string[] = action.roles ?? [];
        if (roles.length && !user.roles.includes("admin") && !roles.some((r) => user.roles.includes(r as any))) {
          throw new AppError("FORBIDDEN", `This needs the ${roles.join(" or ")} role`);
        }
        if (action.kyc && user.kycStatus !== "approved") {
          throw new AppError("KYC_REQUIRED", "Your identity must be verified (KYC approved) first");
        }
      },
    },

    events: {
      /** Cache hint from auth: the user's roles, status or KYC state changed. */
      "user.changed"(this: Self, ctx: Context<{ userId: string }>) {
        this.users.forget(ctx.params.userId);
      },
    },

    created(this: Self) {
      service.current = this;
      this.users = new UserResolver(this.broker, () => this.kv);
    },
  });
}
