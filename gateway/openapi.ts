/**
 * The OpenAPI document, generated from the route table and the validation
 * schemas and access rules of the actions behind it (as the service registry
 * knows them), so it grows with every route added.
 */
import type { ServiceBroker } from "moleculer";

type Schema = Record<string, unknown>;

function ruleToSchema(rule: unknown): { schema: Schema; optional: boolean } {
  if (typeof rule === "string") {
    const [type, ...flags] = rule.split("|");
    return { schema: ruleToSchema({ type }).schema, optional: flags.includes("optional") };
  }
  if (Array.isArray(rule)) return { schema: { oneOf: rule.map((r) => ruleToSchema(r).schema) }, optional: rule.some((r) => ruleToSchema(r).optional) };
  const r = (rule ?? {}) as Record<string, any>;
  const optional = r.optional === true || r.default !== undefined;
  let schema: Schema;
  switch (r.type) {
    case "string":
      schema = { type: "string", ...(r.min !== undefined && { minLength: r.min }), ...(r.max !== undefined && { maxLength: r.max }), ...(typeof r.pattern === "string" && { pattern: r.pattern }) };
      break;
    case "email": schema = { type: "string", format: "email" }; break;
    case "url": schema = { type: "string", format: "uri" }; break;
    case "date": schema = { type: "string", format: "date-time" }; break;
    case "number":
      schema = { type: r.integer ? "integer" : "number", ...(r.min !== undefined && { minimum: r.min }), ...(r.max !== undefined && { maximum: r.max }) };
      break;
    case "boolean": schema = { type: "boolean" }; break;
    case "enum": schema = { type: "string", enum: r.values }; break;
    case "equal": schema = { const: r.value }; break;
    case "array": schema = { type: "array", ...(r.items && { items: ruleToSchema(r.items).schema }), ...(r.max !== undefined && { maxItems: r.max }) }; break;
    case "object": schema = r.props ? objectSchema(r.props) : { type: "object" }; break;
    default: schema = {};
  }
  if (r.description) schema.description = r.description;
  return { schema, optional };
}

function objectSchema(props: Record<string, unknown>): Schema {
  const properties: Record<string, Schema> = {};
  const required: string[] = [];
  for (const [k, v] of Object.entries(props)) {
    if (k.startsWith("$$")) continue;
    const { schema, optional } = ruleToSchema(v);
    properties[k] = schema;
    if (!optional) required.push(k);
  }
  return { type: "object", properties, ...(required.length && { required }) };
}

const ERROR_SCHEMA = {
  type: "object",
  properties: {
    error: {
      type: "object",
      required: ["code", "message", "status", "requestId"],
      properties: { code: { type: "string" }, message: { type: "string" }, status: { type: "integer" }, details: {}, requestId: { type: "string" } },
    },
  },
};

export function buildOpenApi(broker: ServiceBroker, routes: Record<string, string>, publicUrl: string) {
  const actions = new Map<string, Record<string, any>>();
  for (const item of broker.registry.getActionList({ withActions: true, onlyAvailable: false } as any) as any[]) {
    if (item.action) actions.set(item.name, item.action);
  }
  const paths: Record<string, Record<string, unknown>> = {};
  for (const [key, target] of Object.entries(routes)) {
    const [method, path] = key.split(" ");
    const multipart = target.startsWith("multipart:");
    const actionName = target.replace(/^(multipart|stream):/, "");
    const oaPath = path.replace(/:([A-Za-z_]+)/g, "{$1}");
    const action = actions.get(actionName) ?? {};
    const params = (action.params ?? {}) as Record<string, unknown>;
    const pathParams = [...path.matchAll(/:([A-Za-z_]+)/g)].map((m) => m[1]);
    const bodyProps = Object.fromEntries(Object.entries(params).filter(([k]) => !pathParams.includes(k)));
    const op: Record<string, unknown> = {
      operationId: actionName,
      summary: action.summary ?? actionName,
      tags: [actionName.split(".")[0]],
      parameters: pathParams.map((name) => ({ name, in: "path", required: true, schema: { type: "string" } })),
      responses: {
        "2XX": { description: "Success" },
        default: { description: "Error", content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } },
      },
    };
    if (action.auth !== "public") op.security = [{ bearerAuth: [] }];
    const rules = [action.roles?.length ? `roles: ${action.roles.join(" or ")}` : "", action.kyc ? "approved KYC" : ""].filter(Boolean);
    if (rules.length) op.description = `Requires ${rules.join(", ")}.`;
    if (multipart) {
      op.requestBody = { required: true, content: { "multipart/form-data": { schema: { type: "object", properties: { file: { type: "string", format: "binary" } }, required: ["file"] } } } };
    } else if (Object.keys(bodyProps).length) {
      if (method === "GET" || method === "DELETE") {
        (op.parameters as unknown[]).push(
          ...Object.entries(bodyProps).map(([name, rule]) => {
            const { schema, optional } = ruleToSchema(rule);
            return { name, in: "query", required: !optional, schema };
          }),
        );
      } else {
        op.requestBody = { required: true, content: { "application/json": { schema: objectSchema(bodyProps) } } };
      }
    }
    (paths[oaPath] ??= {})[method.toLowerCase()] = op;
  }
  return {
    openapi: "3.0.3",
    info: { title: "carshare API", version: "1.0.0", description: "Car-sharing and vehicle-rental marketplace. Errors always have the shape of components.schemas.Error." },
    servers: [{ url: publicUrl }],
    paths,
    components: { securitySchemes: { bearerAuth: { type: "http", scheme: "bearer", bearerFormat: "JWT" } }, schemas: { Error: ERROR_SCHEMA } },
  };
}
