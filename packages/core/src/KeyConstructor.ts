/**
 * A `KeyConstructor` declares how the keys of a cached value are built: a namespace, a
 * version and an ordered list of key fields. Keys read
 * `<prefix>:<namespace>:<version>:<partition slices>:<suffix slices>`: partition fields
 * always come first, so a partition is a key prefix, and no two different inputs give
 * the same key.
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import type { CacheStoreError, KeyError } from "./CacheError.js"
import type * as CacheKey from "./CacheKey.js"
import type { CacheStore, InvalidateOptions } from "./CacheStore.js"
import * as registry from "./internal/constructorRegistry.js"
import * as internal from "./internal/keyConstructor.js"
import type * as KeyField from "./KeyField.js"

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
 * A key constructor. `I` is the input its fields read, `R` the services they need and
 * `PI` the input its partition fields read.
 *
 * @example
 * ```ts
 * import { KeyConstructor, KeyField } from "@cachefx/core"
 *
 * const Posts: KeyConstructor.KeyConstructor<{ readonly authorId: unknown }> = KeyConstructor.make({
 *   namespace: "posts",
 *   fields: [KeyField.arg("authorId", { partition: true })]
 * })
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface KeyConstructor<in I = unknown, out R = never, in PI = unknown> {
  readonly [TypeId]: {
    readonly _I: (_: I) => void
    readonly _R: () => R
    readonly _PI: (_: PI) => void
  }
  readonly namespace: string
  readonly version: string
  /** The fields in key order: partition fields first. */
  readonly fields: ReadonlyArray<KeyField.KeyField.Any>
  /** How many of `fields` are partition fields. */
  readonly partitionSize: number
}

/**
 * @since 0.1.0
 */
export declare namespace KeyConstructor {
  /**
   * Any key constructor.
   *
   * @since 0.1.0
   * @category models
   */
  export type Any = KeyConstructor<any, any, any>

  /**
   * The input a list of fields reads.
   *
   * @since 0.1.0
   * @category type-level
   */
  export type FieldsInput<Fields extends ReadonlyArray<KeyField.KeyField.Any>> = UnionToIntersection<
    KeyField.KeyField.Input<Fields[number]>
  >

  /**
   * The input the partition fields of a list read.
   *
   * @since 0.1.0
   * @category type-level
   */
  export type FieldsPartitionInput<Fields extends ReadonlyArray<KeyField.KeyField.Any>> = UnionToIntersection<
    KeyField.KeyField.Input<Extract<Fields[number], KeyField.KeyField<any, any, true>>>
  >

  /**
   * The services a list of fields needs.
   *
   * @since 0.1.0
   * @category type-level
   */
  export type FieldsContext<Fields extends ReadonlyArray<KeyField.KeyField.Any>> = KeyField.KeyField.Context<
    Fields[number]
  >

  /**
   * The input of a key constructor.
   *
   * @since 0.1.0
   * @category type-level
   */
  export type Input<K> = K extends KeyConstructor<infer I, infer _R, infer _PI> ? I : never

  /**
   * The partition input of a key constructor.
   *
   * @since 0.1.0
   * @category type-level
   */
  export type PartitionInput<K> = K extends KeyConstructor<infer _I, infer _R, infer PI> ? PI : never

  /**
   * The services of a key constructor.
   *
   * @since 0.1.0
   * @category type-level
   */
  export type Context<K> = K extends KeyConstructor<infer _I, infer R, infer _PI> ? R : never
}

type UnionToIntersection<U> = (U extends unknown ? (u: U) => void : never) extends (i: infer I) => void ? I
  : never

/**
 * Makes a key constructor. Throws a `CacheDefinitionError` when the namespace or version
 * contains a character keys reserve (`:`, `{`, `}`, `*`, `?`, `[`, `]`, `\`, space) or
 * two fields share a name.
 *
 * @example
 * ```ts
 * import { KeyConstructor, KeyField } from "@cachefx/core"
 *
 * const UserPayload = KeyConstructor.make({
 *   namespace: "users",
 *   version: 1,
 *   fields: [KeyField.arg("userId", { partition: true }), KeyField.constant("view", "full")]
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: <const Fields extends ReadonlyArray<KeyField.KeyField.Any> = readonly []>(options: {
  readonly namespace: string
  readonly version?: string | number | undefined
  readonly fields?: Fields | undefined
}) => KeyConstructor<
  KeyConstructor.FieldsInput<Fields>,
  KeyConstructor.FieldsContext<Fields>,
  KeyConstructor.FieldsPartitionInput<Fields>
> = internal.make

/**
 * Extends a key constructor with more fields (a field with the name of a base field
 * replaces it), and optionally a new namespace or version.
 *
 * @example
 * ```ts
 * import { KeyConstructor, KeyField } from "@cachefx/core"
 *
 * const Base = KeyConstructor.make({ namespace: "timeline", fields: [KeyField.arg("userId", { partition: true })] })
 * const Paged = KeyConstructor.extend(Base, { version: 2, fields: [KeyField.arg("page")] })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const extend: <
  I,
  R,
  PI,
  const Fields extends ReadonlyArray<KeyField.KeyField.Any> = readonly []
>(
  base: KeyConstructor<I, R, PI>,
  options: {
    readonly namespace?: string | undefined
    readonly version?: string | number | undefined
    readonly fields?: Fields | undefined
  }
) => KeyConstructor<
  I & KeyConstructor.FieldsInput<Fields>,
  R | KeyConstructor.FieldsContext<Fields>,
  PI & KeyConstructor.FieldsPartitionInput<Fields>
> = internal.extend

/**
 * Builds the key of an input, with the key prefix of the current `CacheSettings`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { KeyConstructor, KeyField } from "@cachefx/core"
 *
 * const Users = KeyConstructor.make({ namespace: "users", fields: [KeyField.arg("id", { partition: true })] })
 *
 * const program = Effect.gen(function*() {
 *   const key = yield* KeyConstructor.keyFor(Users, { id: 42 })
 *   console.log(key.key) // "cachefx:users:1:#42"
 * })
 * ```
 *
 * @since 0.1.0
 * @category keys
 */
export const keyFor: <I, R, PI>(
  self: KeyConstructor<I, R, PI>,
  input: I
) => Effect.Effect<CacheKey.CacheKey, KeyError, R> = internal.keyFor

/**
 * Builds the partition of an input from the partition fields only.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { KeyConstructor, KeyField } from "@cachefx/core"
 *
 * const Posts = KeyConstructor.make({
 *   namespace: "posts",
 *   fields: [KeyField.arg("authorId", { partition: true }), KeyField.arg("page")]
 * })
 *
 * const program = Effect.gen(function*() {
 *   const scope = yield* KeyConstructor.partitionFor(Posts, { authorId: 7 })
 *   console.log(scope.partition) // "cachefx:posts:1:#7"
 * })
 * ```
 *
 * @since 0.1.0
 * @category keys
 */
export const partitionFor: <I, R, PI>(
  self: KeyConstructor<I, R, PI>,
  input: PI
) => Effect.Effect<CacheKey.Partition, KeyError, R> = internal.partitionFor

/**
 * Wipes every cached value built on a key constructor (Restflow's `wipe()`): one O(1)
 * namespace invalidation per namespace, the constructor's own and one per cached value named apart
 * that this process defines on it; each cached value forgets its computations under
 * way, so no caller after the wipe joins one that began before it. Constructors that
 * share a namespace share its entries: the wipe covers all of them and every version.
 * With `{ soft: true }` (since 0.2.0) the entries stay as stale values: a cached value
 * whose TTL has a stale-while-revalidate window serves each once more while one
 * refresh runs.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Cached, CacheStore, KeyConstructor, KeyField } from "@cachefx/core"
 *
 * const Users = KeyConstructor.make({ namespace: "users", fields: [KeyField.arg("id")] })
 * const getUser = Cached.cached({ key: Users })((input: { readonly id: number }) => Effect.succeed(input.id))
 * const getProfile = Cached.cached({ key: Users, name: "profile" })((input: { readonly id: number }) => Effect.succeed(`#${input.id}`))
 *
 * const program = Effect.gen(function*() {
 *   yield* getUser({ id: 1 })
 *   yield* getProfile({ id: 1 })
 *   yield* KeyConstructor.invalidateAll(Users) // both are gone
 *   yield* KeyConstructor.invalidateAll(Users, { soft: true }) // or: both are stale
 * }).pipe(Effect.provide(CacheStore.layerMemory()))
 * ```
 *
 * @since 0.1.0
 * @category invalidation
 */
export const invalidateAll: (
  self: KeyConstructor.Any,
  options?: InvalidateOptions
) => Effect.Effect<void, CacheStoreError, CacheStore> = registry.invalidateAll

/**
 * Reclaims the memory of the entries of earlier versions of a constructor: bumping
 * `version` already makes them unreachable, and this deletes them instead of waiting
 * for their TTL. It deletes the keys of the constructor's namespace whose version is a
 * whole number lower than the constructor's, except versions a cached value of this
 * process still uses (another constructor that shares the namespace); it never touches
 * another namespace. The store works in bounded batches (the Redis store: `SCAN`
 * `MATCH` … `COUNT`, never `KEYS`), so run it in the background; it gives how many keys
 * were deleted (0 on a store without `deleteVersions`, or for a version that is not a
 * whole number).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { KeyConstructor, KeyField } from "@cachefx/core"
 *
 * const Users = KeyConstructor.make({ namespace: "users", version: 3, fields: [KeyField.arg("id")] })
 *
 * // at startup, after a deploy that bumped the version
 * const reclaim = Effect.forkDaemon(KeyConstructor.deletePreviousVersions(Users))
 * ```
 *
 * @since 0.1.0
 * @category invalidation
 */
export const deletePreviousVersions: (self: KeyConstructor.Any) => Effect.Effect<number, CacheStoreError, CacheStore> =
  registry.deletePreviousVersions

/**
 * Whether a value is a key constructor.
 *
 * @example
 * ```ts
 * import { KeyConstructor } from "@cachefx/core"
 *
 * console.log(KeyConstructor.isKeyConstructor(KeyConstructor.make({ namespace: "a" }))) // true
 * ```
 *
 * @since 0.1.0
 * @category guards
 */
export const isKeyConstructor: (u: unknown) => u is KeyConstructor.Any = internal.isKeyConstructor
