/**
 * A `KeyField` is one deterministic slice of a cache key, read from the input of the
 * cached function. Partition fields come first in a key, so every key of one partition
 * shares a prefix and a partition can be wiped as a group.
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import type * as Schema from "effect/Schema"
import type { KeyError } from "./CacheError.js"
import * as internal from "./internal/keyField.js"

/**
 * @since 0.1.0
 * @category type ids
 */
export const TypeId: unique symbol = internal.TypeId

/**
 * @since 0.1.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * A key field. `I` is the part of the input it reads (used to check, at compile time,
 * that the cached function has that input), `R` the services it needs, and `P` whether
 * it is a partition field.
 *
 * @example
 * ```ts
 * import { KeyField } from "@cachefx/core"
 *
 * const user: KeyField.KeyField<{ readonly userId: unknown }, never, true> = KeyField.arg("userId", { partition: true })
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface KeyField<in I, out R = never, out P extends boolean = boolean> {
  readonly [TypeId]: {
    readonly _I: (_: I) => void
    readonly _R: () => R
    readonly _P: () => P
  }
  /** The field's name: unique within a key constructor. */
  readonly name: string
  /** Whether the field is part of the key's partition prefix. */
  readonly partition: P
  /** Whether the value is always hashed. */
  readonly hash: boolean
  /** The inputs the field reads: a list of names, `"*"` for all of them, or none. */
  readonly inputs: ReadonlyArray<string> | "*"
  /** How the value is read from the input. */
  readonly read: KeyField.Read
}

/**
 * @since 0.1.0
 */
export declare namespace KeyField {
  /**
   * How a field reads its value: synchronously (most fields, and the fast path of a key
   * lookup) or as an Effect that may use services.
   *
   * @since 0.1.0
   * @category models
   */
  export type Read =
    | { readonly _tag: "Sync"; readonly read: (input: any) => unknown }
    | { readonly _tag: "Effect"; readonly read: (input: any) => Effect.Effect<unknown, KeyError, any> }

  /**
   * @since 0.1.0
   * @category models
   */
  export interface Options<P extends boolean> {
    readonly partition?: P | undefined
    readonly hash?: boolean | undefined
    /**
     * How the value is encoded (since 0.3.0): the key is built from the Schema's
     * encoded side, so a class instance (which has no canonical form of its own) can be
     * a key value.
     */
    readonly schema?: Schema.Schema<any, any, never> | undefined
  }

  /**
   * Any key field.
   *
   * @since 0.1.0
   * @category models
   */
  export type Any = KeyField<any, any, boolean>

  /**
   * The input a field reads.
   *
   * @since 0.1.0
   * @category type-level
   */
  export type Input<F> = F extends KeyField<infer I, infer _R, infer _P> ? I : never

  /**
   * The services a field needs.
   *
   * @since 0.1.0
   * @category type-level
   */
  export type Context<F> = F extends KeyField<infer _I, infer R, infer _P> ? R : never
}

/**
 * A field that reads one named input. Its value must have a canonical form (strings,
 * numbers, plain objects and arrays, dates, maps, sets, byte and typed arrays); any
 * other value (a class instance, an `Error`, a `RegExp`, a `Proxy`) fails the key with
 * a `KeyError` naming the field, unless the field has a `schema` (since 0.3.0) that
 * encodes it into one.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { KeyField } from "@cachefx/core"
 *
 * const user = KeyField.arg("userId", { partition: true })
 * const query = KeyField.arg("search", { hash: true })
 *
 * class Filter extends Schema.Class<Filter>("Filter")({ tenant: Schema.Number, tags: Schema.Array(Schema.String) }) {}
 * const filter = KeyField.arg("filter", { schema: Filter })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const arg: {
  <const N extends string, A, I, P extends boolean = false>(
    name: N,
    options: KeyField.Options<P> & { readonly schema: Schema.Schema<A, I, never> }
  ): KeyField<{ readonly [K in N]: A }, never, P>
  <const N extends string, P extends boolean = false>(
    name: N,
    options?: KeyField.Options<P>
  ): KeyField<{ readonly [K in N]: unknown }, never, P>
} = internal.arg

/**
 * A field over every input, in canonical (sorted) order. Only `"*"` is accepted as the
 * selector, for symmetry with the HTTP fields.
 *
 * @example
 * ```ts
 * import { KeyField } from "@cachefx/core"
 *
 * const everything = KeyField.args("*", { hash: true })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const args: (
  selector: "*",
  options?: { readonly hash?: boolean | undefined }
) => KeyField<unknown, never, false> = internal.args

/**
 * A field with a fixed value, for instance a format or a schema version.
 *
 * @example
 * ```ts
 * import { KeyField } from "@cachefx/core"
 *
 * const format = KeyField.constant("format", "summary")
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const constant: (name: string, value: unknown) => KeyField<unknown, never, false> = internal.constant

/**
 * A custom field. `read` returns the field's value as an Effect, so it may read
 * services (the current tenant, a feature flag). `inputs` names the inputs it reads;
 * invalidation rules can resolve the field only when they map all of them.
 *
 * @example
 * ```ts
 * import { Context, Effect } from "effect"
 * import { KeyField } from "@cachefx/core"
 *
 * class Tenant extends Context.Tag("Tenant")<Tenant, { readonly id: string }>() {}
 *
 * const tenant = KeyField.make({
 *   name: "tenant",
 *   partition: true,
 *   read: () => Effect.map(Tenant, (tenant) => tenant.id)
 * })
 * const day = KeyField.make({
 *   name: "day",
 *   inputs: ["at"],
 *   read: (input: { readonly at: Date }) => Effect.succeed(input.at.toISOString().slice(0, 10))
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: <I = unknown, R = never, P extends boolean = false>(options: {
  readonly name: string
  readonly read: (input: I) => Effect.Effect<unknown, KeyError, R>
  readonly inputs?: ReadonlyArray<string> | "*" | undefined
  readonly partition?: P | undefined
  readonly hash?: boolean | undefined
}) => KeyField<I, R, P> = internal.make

/**
 * A custom field that reads its value synchronously and needs no service. Keys made
 * only of synchronous fields are built without an Effect per field: the fast path of
 * every cached hit. Throw a `KeyError` (or anything; it is wrapped in one) when the
 * value cannot be read.
 *
 * @example
 * ```ts
 * import { KeyField } from "@cachefx/core"
 *
 * const day = KeyField.makeSync({
 *   name: "day",
 *   inputs: ["at"],
 *   read: (input: { readonly at: Date }) => input.at.toISOString().slice(0, 10)
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeSync: <I = unknown, P extends boolean = false>(options: {
  readonly name: string
  readonly read: (input: I) => unknown
  readonly inputs?: ReadonlyArray<string> | "*" | undefined
  readonly partition?: P | undefined
  readonly hash?: boolean | undefined
}) => KeyField<I, never, P> = internal.makeSync

/**
 * Whether a value is a key field.
 *
 * @example
 * ```ts
 * import { KeyField } from "@cachefx/core"
 *
 * console.log(KeyField.isKeyField(KeyField.arg("id"))) // true
 * ```
 *
 * @since 0.1.0
 * @category guards
 */
export const isKeyField: (u: unknown) => u is KeyField.Any = internal.isKeyField
