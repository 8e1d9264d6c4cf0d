/**
 * `cached(options)(fn)` wraps `(input) => Effect<A, E, R>` in cache-aside with
 * single-flight per key (across processes on a store with leases), stale-while-revalidate,
 * refresh-ahead, the guarded fill and fail-open store access. The result is callable like `fn` and carries the management surface:
 * `bypass`, `refresh`, `delete`, `deletePartition`, `invalidateAll`, `peek`, `peekEntry`, `keyFor`,
 * `withStatus` (the value with its `CacheStatus` and times) and `many` (a batch read).
 * Every call is timed by cache and status (`CacheMetrics.callDuration`) and, when a
 * tracer exports spans, runs in a span `cachefx.cached`.
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type * as Schema from "effect/Schema"
import type { CacheError, CacheStoreError, CacheTimeoutError, KeyError } from "./CacheError.js"
import type { CacheStore, InvalidateOptions } from "./CacheStore.js"
import * as internal from "./internal/cached.js"
import type * as InvalidationRule from "./InvalidationRule.js"
import type * as KeyConstructor from "./KeyConstructor.js"
import type * as Ttl from "./Ttl.js"

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
 * How a call was answered.
 * - `Hit`: from a fresh entry.
 * - `Miss`: computed (no entry, an expired or undecodable one, or the store failed; or
 *   a stale entry whose refresh came within the soft timeout).
 * - `Stale`: from a stale entry, while one background refresh runs.
 * - `Bypass`: computed without the cache (`bypass`, or caching disabled).
 * - `Refresh`: recomputed and stored on request (`refresh`).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import type { Cached } from "@cachefx/core"
 *
 * const header = (status: Cached.CacheStatus) => status.toUpperCase() // "HIT", "MISS", …
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type CacheStatus = "Hit" | "Miss" | "Stale" | "Bypass" | "Refresh"

/**
 * A value with how it was answered. `cachedAt` is when the value was computed and
 * `expiresAt` when it stops being fresh (none: never, or not stored).
 *
 * @example
 * ```ts
 * import { Option } from "effect"
 * import type { Cached } from "@cachefx/core"
 *
 * const age = (result: Cached.CacheResult<unknown>, now: Date) =>
 *   Option.map(result.cachedAt, (at) => now.getTime() - at.getTime())
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface CacheResult<A> {
  readonly value: A
  readonly status: CacheStatus
  readonly cachedAt: Option.Option<Date>
  readonly expiresAt: Option.Option<Date>
}

/**
 * A stored entry as `peekEntry` reads it: its value and what governs it.
 * - `state`: `Fresh` (a call is answered from it, `Hit`), or `Stale` (past `expiresAt`,
 *   or invalidated softly, and within its stale-while-revalidate window: a call is
 *   served it while one refresh runs). An entry no call would be served is none.
 * - `cachedAt`: when the value was computed.
 * - `expiresAt`: when it stops being fresh (none: never). An entry invalidated softly
 *   is `Stale` before it.
 * - `staleUntil`: when it stops being served at all (none: never); `expiresAt` when the
 *   TTL has no stale window.
 *
 * It reads `state` and not `status`: it is the entry's state (`CacheEntry.State`), not
 * how a call was answered (`CacheStatus`).
 *
 * @example
 * ```ts
 * import { Effect, Option } from "effect"
 * import { Cached, KeyConstructor, KeyField } from "@cachefx/core"
 *
 * const getUser = Cached.cached({
 *   key: KeyConstructor.make({ namespace: "users", fields: [KeyField.arg("id")] })
 * })((input: { readonly id: number }) => Effect.succeed(`user ${input.id}`))
 *
 * // how long the entry of user 1 stays fresh, in milliseconds, without computing it
 * const freshFor = (now: Date) =>
 *   Effect.map(getUser.peekEntry({ id: 1 }), Option.flatMap((entry: Cached.PeekedEntry<string>) =>
 *     Option.map(entry.expiresAt, (at) => at.getTime() - now.getTime())
 *   ))
 * ```
 *
 * @since 0.3.0
 * @category models
 */
export interface PeekedEntry<A> {
  readonly value: A
  readonly state: "Fresh" | "Stale"
  readonly cachedAt: Date
  readonly expiresAt: Option.Option<Date>
  readonly staleUntil: Option.Option<Date>
}

/**
 * A cached function. `I` is its input, `A`, `E`, `R` those of the wrapped effect, `PI`
 * the input of its partition fields and `KR` the services its key fields need.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Cached, KeyConstructor, KeyField } from "@cachefx/core"
 *
 * const getUser: Cached.Cached<{ readonly id: number }, string> = Cached.cached({
 *   key: KeyConstructor.make({ namespace: "users", fields: [KeyField.arg("id")] })
 * })((input: { readonly id: number }) => Effect.succeed(`user ${input.id}`))
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Cached<in out I, in out A, out E = never, out R = never, in PI = unknown, out KR = never> {
  /** Cache-aside: a fresh entry, or the computation (once per key at a time). */
  (input: I): Effect.Effect<A, E, R | KR | CacheStore>
  readonly [TypeId]: TypeId
  /** The cached value's name: given, or the key constructor's namespace. */
  readonly name: string
  readonly key: KeyConstructor.KeyConstructor<I, KR, PI>
  /** The rules that invalidate it (`invalidatesOn`), applied by the `InvalidationEngine`. */
  readonly rules: ReadonlyArray<InvalidationRule.InvalidationRule>
  /** Like calling, with the status and times of the answer. */
  readonly withStatus: (input: I) => Effect.Effect<CacheResult<A>, E, R | KR | CacheStore>
  /** Computes without reading or writing the cache. */
  readonly bypass: (input: I) => Effect.Effect<A, E, R>
  /** Computes and stores, whatever is cached. */
  readonly refresh: (input: I) => Effect.Effect<A, E, R | KR | CacheStore>
  /**
   * Deletes the entry of an input. With `{ soft: true }` (since 0.2.0) the entry stays,
   * stale: with a stale-while-revalidate TTL the next call is served it while one
   * refresh runs; without one, the next call is a miss.
   */
  readonly delete: (input: I, options?: InvalidateOptions) => Effect.Effect<void, CacheError, KR | CacheStore>
  /**
   * Wipes this cached value's partition of an input (only the partition fields are
   * read); softly with `{ soft: true }` (since 0.2.0), as `delete`. Other cached values
   * on the constructor keep their entries of that partition.
   */
  readonly deletePartition: (input: PI, options?: InvalidateOptions) => Effect.Effect<void, CacheError, KR | CacheStore>
  /**
   * Wipes every entry of this cached value, all versions: one O(1) invalidation of its
   * namespace. Other cached values on the constructor keep theirs; the constructor-wide
   * wipe is `KeyConstructor.invalidateAll(cached.key)`.
   */
  readonly invalidateAll: Effect.Effect<void, CacheStoreError, CacheStore>
  /** The stored value of an input, fresh or stale, without computing. */
  readonly peek: (input: I) => Effect.Effect<Option.Option<A>, never, KR | CacheStore>
  /**
   * The stored entry of an input, fresh or stale, with its state and times, without
   * computing (since 0.3.0): what `peek` reads, with what the entry says of it.
   */
  readonly peekEntry: (input: I) => Effect.Effect<Option.Option<PeekedEntry<A>>, never, KR | CacheStore>
  /** The key of an input. */
  readonly keyFor: (input: I) => Effect.Effect<string, KeyError, KR>
  /**
   * Cache-aside for many inputs: their values in the order of `inputs`. Every key is
   * read in one store round trip; only the misses are computed (concurrently, once per
   * key), and inputs of one key are computed once.
   */
  readonly many: (inputs: Iterable<I>, options?: ManyOptions) => Effect.Effect<Array<A>, E, R | KR | CacheStore>
}

/**
 * Options of `many`.
 *
 * @example
 * ```ts
 * import type { Cached } from "@cachefx/core"
 *
 * const options: Cached.ManyOptions = { concurrency: 8 }
 * ```
 *
 * @since 0.2.0
 * @category models
 */
export interface ManyOptions {
  /** How many misses are computed at once. Default: all of them. */
  readonly concurrency?: number | "unbounded" | undefined
}

/**
 * Computation timeouts of `cached` (durations). Neither interrupts a computation: one a
 * caller stops waiting for finishes in the background and fills its key.
 *
 * - `soft`: when a stale value is at hand (within the stale-while-revalidate window),
 *   a caller waits this long for the refresh, then is served the stale value. Without
 *   it, a stale value is served at once.
 * - `hard`: a caller waits this long at most for a computation (a miss, or a refresh
 *   under `soft`), then fails with a `CacheTimeoutError`. `soft` must be shorter.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Cached, KeyConstructor, KeyField, Ttl } from "@cachefx/core"
 *
 * const getUser = Cached.cached({
 *   key: KeyConstructor.make({ namespace: "users", fields: [KeyField.arg("id")] }),
 *   ttl: Ttl.staleWhileRevalidate({ fresh: "1 minute", stale: "1 hour" }),
 *   timeout: { soft: "100 millis", hard: "2 seconds" }
 * })((input: { readonly id: number }) => Effect.succeed({ id: input.id }))
 * ```
 *
 * @since 0.2.0
 * @category models
 */
export interface Timeout {
  readonly soft?: Duration.DurationInput | undefined
  readonly hard?: Duration.DurationInput | undefined
}

/**
 * @since 0.2.0
 */
export declare namespace Timeout {
  /**
   * What timeout options add to a cached value's errors: `CacheTimeoutError` when they
   * may set `hard`, else nothing.
   *
   * @since 0.2.0
   * @category type-level
   */
  export type Error<T> = T extends unknown ? "hard" extends keyof T ? T extends { readonly hard?: undefined } ? never
      : CacheTimeoutError
    : never
    : never
}

/**
 * @since 0.1.0
 */
export declare namespace Cached {
  /**
   * Any cached function.
   *
   * @since 0.1.0
   * @category models
   */
  export type Any = Cached<any, any, any, any, any, any>
}

/**
 * Options of `cached`.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { type Cached, KeyConstructor, KeyField, Ttl } from "@cachefx/core"
 *
 * const Users = KeyConstructor.make({ namespace: "users", fields: [KeyField.arg("id")] })
 * const options: Cached.Options<typeof Users, string> = { key: Users, ttl: Ttl.minutes(5), value: Schema.String }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Options<
  K extends KeyConstructor.KeyConstructor.Any,
  A,
  T extends Timeout | undefined = Timeout | undefined
> {
  /** How keys are built. */
  readonly key: K
  /**
   * How long values live: a policy, a duration, or a function of the value. Default:
   * the `defaultTtl` setting.
   */
  readonly ttl?: Ttl.TtlInput | ((value: A) => Ttl.TtlInput) | undefined
  /**
   * Encodes and decodes stored values. Without it values must be JSON (checked on every
   * fill: a value that is not is returned, not stored, and counted).
   */
  readonly value?: Schema.Schema<A, any, never> | undefined
  /**
   * Whether keys carry a fingerprint of the `value` Schema (a slice after the partition
   * slices), so a changed Schema reads no entry of the old shape. Default: the
   * `fingerprint` setting (true). Values without a Schema have no fingerprint.
   */
  readonly fingerprint?: boolean | undefined
  /**
   * The cached value's name (default: the key constructor's namespace), its identity
   * across processes. Named apart from the namespace, it has a namespace of its own
   * (`<prefix>:<namespace>:#@<name>`), so it shares no entry and no wipe with another
   * cached value on the constructor. Two cached values with one constructor and one
   * name would share entries: the second to use a store dies with a
   * `CacheDefinitionError`.
   */
  readonly name?: string | undefined
  /** Writes that invalidate it: give the cached value to `InvalidationEngine.layer` to apply them. */
  readonly invalidatesOn?: ReadonlyArray<InvalidationRule.InvalidationRule> | undefined
  /**
   * Computation timeouts: `soft` (serve a stale value after this long) and `hard` (fail
   * with a `CacheTimeoutError` after this long; the cached value's error type then
   * includes it). Default: none.
   */
  readonly timeout?: T
  /**
   * On a store with leases (Redis), how long the process computing a key holds its
   * lease: give more than the computation usually takes; zero: no lease (for a cheap
   * computation, where a miss in every process costs less than waiting for another's).
   * Default: the `leaseDuration` setting (5 seconds).
   */
  readonly leaseDuration?: Duration.DurationInput | undefined
  /**
   * Stores a computed value only when this gives true (since 0.3.0). A value it refuses
   * is still returned, to the caller and to every caller that joined the computation;
   * it is just not stored, so the next call computes again. Excludes `cacheUnless`
   * (giving both throws a `CacheDefinitionError`). It runs on every computed value to
   * be stored (a miss, a refresh, a background refresh, each miss of `many`), before
   * the value is encoded.
   */
  readonly cacheIf?: ((value: A) => boolean) | undefined
  /**
   * Does not store a computed value when this gives true (since 0.3.0): `cacheIf`
   * negated, with the same rules (the value is still returned; it excludes `cacheIf`).
   */
  readonly cacheUnless?: ((value: A) => boolean) | undefined
}

/**
 * What `cached(options)` returns: it wraps a function of the key's input (giving a
 * `Cached`), or a single effect when the key reads no input (giving an effect). One
 * generic signature, so it also works inside `pipe`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Cached, KeyConstructor } from "@cachefx/core"
 *
 * const wrap = Cached.cached({ key: KeyConstructor.make({ namespace: "config" }), ttl: "1 hour" })
 * const config = Effect.succeed({ theme: "dark" }).pipe(wrap)
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Wrap<K extends KeyConstructor.KeyConstructor.Any, S, X = never> {
  <F extends Effect.Effect<S, any, any> | ((input: any) => Effect.Effect<S, any, any>)>(
    self: F & Wrap.CheckInput<K, F>
  ): Wrap.Wrapped<K, F, X>
}

/**
 * @since 0.1.0
 */
export declare namespace Wrap {
  /**
   * `unknown` when the wrapped function's input has every input the key reads (or it
   * reads no input); else a
   * type naming the missing inputs, which the function then fails to match.
   *
   * @since 0.1.0
   * @category type-level
   */
  export type CheckInput<K, F> = F extends (input: infer I) => any
    ? unknown extends I ? unknown
    : [I] extends [KeyConstructor.KeyConstructor.Input<K>] ? unknown
    : { readonly "cachefx: the function's input lacks key inputs": Exclude<keyof KeyConstructor.KeyConstructor.Input<K>, keyof I> }
    : unknown

  /**
   * What wrapping `F` gives; `X` is what the options add to its errors.
   *
   * @since 0.1.0
   * @category type-level
   */
  export type Wrapped<K, F, X = never> = F extends Effect.Effect<infer A, infer E, infer R>
    ? Effect.Effect<A, E | X, R | KeyConstructor.KeyConstructor.Context<K> | CacheStore>
    : F extends (input: infer I) => Effect.Effect<infer A, infer E, infer R> ? Cached<
        unknown extends I ? KeyConstructor.KeyConstructor.Input<K> : I,
        A,
        E | X,
        R,
        KeyConstructor.KeyConstructor.PartitionInput<K>,
        KeyConstructor.KeyConstructor.Context<K>
      >
    : never
}

/**
 * Wraps a function (or a single effect) in a cache.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Cached, CacheStore, KeyConstructor, KeyField, Ttl } from "@cachefx/core"
 *
 * const User = Schema.Struct({ id: Schema.Number, name: Schema.String, joined: Schema.Date })
 *
 * const getUser = Cached.cached({
 *   key: KeyConstructor.make({ namespace: "users", fields: [KeyField.arg("id", { partition: true })] }),
 *   ttl: Ttl.staleWhileRevalidate({ fresh: "1 minute", stale: "10 minutes" }),
 *   value: User
 * })((input: { readonly id: number }) =>
 *   Effect.succeed({ id: input.id, name: "Ada", joined: new Date(0) })
 * )
 *
 * const config = Effect.succeed({ theme: "dark" }).pipe(
 *   Cached.cached({ key: KeyConstructor.make({ namespace: "config" }), ttl: "1 hour" })
 * )
 *
 * const program = Effect.gen(function*() {
 *   const user = yield* getUser({ id: 1 })
 *   const { status } = yield* getUser.withStatus({ id: 1 }) // "Hit"
 *   yield* getUser.deletePartition({ id: 1 })
 *   const settings = yield* config
 * }).pipe(Effect.provide(CacheStore.layerMemory()))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const cached: <
  K extends KeyConstructor.KeyConstructor.Any,
  S = unknown,
  T extends Timeout | undefined = undefined
>(
  options: Options<K, S, T>
) => Wrap<K, S, Timeout.Error<T>> = internal.cached

/**
 * Whether a value is a cached function.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Cached, KeyConstructor } from "@cachefx/core"
 *
 * const f = Cached.cached({ key: KeyConstructor.make({ namespace: "a" }) })(() => Effect.succeed(1))
 * console.log(Cached.isCached(f)) // true
 * ```
 *
 * @since 0.1.0
 * @category guards
 */
export const isCached: (u: unknown) => u is Cached.Any = internal.isCached
