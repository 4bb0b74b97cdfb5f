/** Who may call an action, declared on the action and enforced once, in the gateway. */
import "moleculer";
import type { Role } from "../lib/auth-types";

declare module "moleculer" {
  interface ActionSchema {
    /** "public": anyone; "required" (default for routed actions): a valid access token. */
    auth?: "public" | "required";
    /** Any of these roles may call it (admins always may). */
    roles?: Role[];
    /** The caller's KYC must be approved. */
    kyc?: boolean;
    /** Short description for the OpenAPI document. */
    summary?: string;
  }
}
