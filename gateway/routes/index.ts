/**
 * Every REST route of the API: "METHOD /v1/path" -> "service.action".
 * One file per area; the action lives in services/<service>/<service>.service.ts.
 */
import auth from "./auth";

export const ROUTES: Record<string, string> = {
  ...auth,
};
