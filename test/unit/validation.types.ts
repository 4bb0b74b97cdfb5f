import { defineParams, Params } from "../../lib/validation";
const _s = defineParams({ phone: "string", code: { type: "string", length: 6 }, role: { type: "enum", values: ["renter", "owner"], optional: true }, loc: { type: "object", props: { lat: "number|optional", address: "string" } }, tags: { type: "array", items: "string" } });
type P = Params<typeof _s>;
const p: P = { phone: "x", code: "1", loc: { address: "a" }, tags: ["a"] };
const r: "renter" | "owner" | undefined = p.role;
// @ts-expect-error lat is number
const bad: P = { phone: "x", code: "1", loc: { address: "a", lat: "s" }, tags: [] };
void r; void bad;
