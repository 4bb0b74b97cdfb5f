/**
 * Param types derived from the fastest-validator schema that validates them,
 * so the two cannot drift. Declare a schema `as const` with `defineParams`,
 * then use `Params<typeof schema>` as the action's context params.
 */

type Base<T extends string> = T extends `${infer H}|${string}` ? H : T;
type IsOptionalString<T extends string> = T extends `${string}|optional${string}` ? true : false;

type FromType<T extends string, R> =
  T extends "string" | "email" | "url" | "uuid" | "date" | "objectID" ? string
  : T extends "number" ? number
  : T extends "boolean" ? boolean
  : T extends "enum" ? R extends { values: readonly (infer V)[] } ? V : string
  : T extends "equal" ? R extends { value: infer V } ? V : unknown
  : T extends "object" ? R extends { props: infer P } ? Params<P> : Record<string, unknown>
  : T extends "array" ? R extends { items: infer I } ? RuleType<I>[] : unknown[]
  : T extends "multi" ? R extends { rules: readonly (infer M)[] } ? RuleType<M> : unknown
  : unknown;

export type RuleType<R> =
  R extends string ? FromType<Base<R>, R>
  : R extends readonly (infer M)[] ? RuleType<M>
  : R extends { type: infer T extends string } ? FromType<T, R>
  : unknown;

type IsOptional<R> =
  R extends string ? IsOptionalString<R>
  : R extends { optional: true } ? true
  : R extends { default: unknown } ? true
  : false;

type OptionalKeys<S> = { [K in keyof S]: IsOptional<S[K]> extends true ? K : never }[keyof S];
type RequiredKeys<S> = Exclude<keyof S, OptionalKeys<S> | "$$strict" | "$$async">;

export type Params<S> = { [K in RequiredKeys<S>]: RuleType<S[K]> } & { [K in OptionalKeys<S>]?: RuleType<S[K]> };

/** Identity at run time; keeps the literal types of the schema for `Params`. */
export function defineParams<const S extends Record<string, unknown>>(schema: S): S {
  return schema;
}
