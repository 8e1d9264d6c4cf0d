/**
 * The `CacheStore` service: where encoded entries live. Cached values talk to whichever
 * store the application provides: `layerMemory` here, the Redis store in
 * `@cachefx/redis`, the SQL store in `@cachefx/sql`, `TestCache.layer` in tests.
 *
 * A store is three operations (`get`, `set`, `invalidate`) and a protocol between them,
 * the guarded fill: a value whose computation began before an invalidation of its key,
 * partition or namespace is never stored after it.
 *
 * 1. `get(key)` answers the entry, if a live one is stored, and a `FillGuard`: the
 *    store's record of what the reader saw (a sequence number, stamps, a read time).
 * 2. The caller computes, then calls `set(key, entry, guard)`. The store stores only
 *    when nothing the guard covers (the key, its partition, its namespace) was
 *    invalidated since the `get`, and only within the `fillWindow` setting of it; it
 *    answers whether it stored. An invalidation is remembered for the fill window at
 *    least (a tombstone, a stamp, a sequence number), and no longer need be.
 * 3. `invalidate(target)` reaches a key, a partition or a namespace (`CacheKey.Target`)
 *    and voids every fill in flight under it. Hard (the default), the entries are gone;
 *    soft (`{ soft: true }`), they stay and read back with `stale: true`, to be served
 *    while one refresh runs. A store that cannot keep stale entries invalidates hard.
 * 4. Leases (optional): a `get` asked for the key's lease (`GetOptions.lease`) takes it
 *    when the key holds no entry, and the `set` under that read's guard gives it back,
 *    stored or not, so that a miss is computed once across processes.
 * 5. Every operation ends within the `operationTimeout` setting, failing with a
 *    `CacheStoreError` (reason `"Timeout"`) past it, and fails with a `CacheStoreError`
 *    when the store cannot answer: callers compute through both (fail-open). A read that
 *    takes a lease runs uninterruptibly in `cached()` (so that the lease it took is
 *    always given back); `withTimeout` still bounds it (it makes the operation itself
 *    interruptible by its timer), but a lease the interrupted read took on the server is
 *    then left to expire: a store with leases is better off bounding its calls with
 *    timers of its own that give such a lease back (as the Redis store does).
 *
 * `make` builds a full `Service` from those operations and derives the rest (`getMany`
 * from `get`; a read that takes a lease from `get` and `Leases.acquire`). The suite
 * `@cachefx/testkit/StoreContract` checks a store against the protocol.
 *
 * @since 0.1.0
 */
import type * as Brand from "effect/Brand"
import type * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import type { CacheStoreError } from "./CacheError.js"
import type * as CacheEntry from "./CacheEntry.js"
import type * as CacheKey from "./CacheKey.js"
import * as CacheSync from "./CacheSync.js"
import * as config from "./internal/config.js"
import * as derived from "./internal/storeMake.js"
import type * as CircuitBreaker from "./CircuitBreaker.js"
import * as internal from "./internal/memoryStore.js"
import * as telemetry from "./internal/storeTelemetry.js"
import * as timeouts from "./internal/storeTimeout.js"
import * as tiered from "./internal/tieredStore.js"

/**
 * An opaque token from `get` that `set` checks: the store's record of what the reader
 * saw.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { CacheStore, type CacheKey } from "@cachefx/core"
 *
 * const guardOf = (key: CacheKey.CacheKey) =>
 *   Effect.flatMap(CacheStore.CacheStore, (store) => Effect.map(store.get(key), (lookup) => lookup.guard))
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type FillGuard = unknown & Brand.Brand<"@cachefx/core/FillGuard">

/**
 * The answer of `get`: the entry, if a live one is stored, and the guard for a fill.
 *
 * @example
 * ```ts
 * import { Effect, Option } from "effect"
 * import { CacheStore, type CacheKey } from "@cachefx/core"
 *
 * const isStored = (key: CacheKey.CacheKey) =>
 *   Effect.flatMap(CacheStore.CacheStore, (store) => Effect.map(store.get(key), (lookup) => Option.isSome(lookup.entry)))
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Lookup {
  readonly entry: Option.Option<CacheEntry.CacheEntry>
  readonly guard: FillGuard
  /**
   * Set when the key holds something the store cannot read as an entry (another
   * program's bytes, a corrupt entry, another Redis type): `entry` is then absent,
   * the call counts an error, and the next fill replaces what is there.
   */
  readonly foreign?: string | undefined
  /**
   * Set when the entry was invalidated softly (its key, partition or namespace) after
   * it was filled: it may then be served only as a stale value while a refresh runs, and
   * only while its stale-while-revalidate window lasts.
   */
  readonly stale?: boolean | undefined
  /**
   * Set by a store with leases when the read asked for the key's lease
   * (`GetOptions.lease`) and the key holds no entry: whether this reader took it, or
   * another caller holds it.
   */
  readonly lease?: LeaseOutcome | undefined
}

/**
 * Options of a read.
 *
 * @example
 * ```ts
 * import { Duration, Effect } from "effect"
 * import { CacheStore, type CacheKey } from "@cachefx/core"
 *
 * const readOrLease = (key: CacheKey.CacheKey) =>
 *   Effect.flatMap(CacheStore.CacheStore, (store) => store.get(key, { lease: Duration.seconds(5) }))
 * ```
 *
 * @since 0.2.0
 * @category models
 */
export interface GetOptions {
  /**
   * On a store with leases: when the key holds no entry, take its lease for this long
   * in the same round trip as the read (a miss hands out a token, as in Facebook's
   * memcache leases). The `set` under the read's guard gives the lease back, whether it
   * stores or not. A fresh or stale entry takes no lease. Stores without leases ignore it.
   */
  readonly lease?: Duration.Duration | undefined
  /**
   * Read the tier that instances share: a tiered store skips its L1 and copies what it
   * reads into it. A read after a lease asks for it, since another instance may have
   * filled the key since this one copied it (since 0.2.0). Single-tier stores ignore it.
   */
  readonly shared?: boolean | undefined
}

/**
 * What a read that asked for the lease of a key with no entry learned of it: `Taken`,
 * this reader holds it (its token is in the lookup's guard, and a `set` under the
 * guard gives it back; a computation that fails gives it back with `Leases.release`);
 * `Held`, another caller holds it and computes.
 *
 * @example
 * ```ts
 * import { CacheStore } from "@cachefx/core"
 *
 * const computesHere = (lookup: CacheStore.Lookup): boolean => lookup.lease?._tag === "Taken"
 * ```
 *
 * @since 0.2.0
 * @category models
 */
export type LeaseOutcome =
  | { readonly _tag: "Taken"; readonly token: LeaseToken }
  | { readonly _tag: "Held" }

/**
 * How an invalidation treats the entries it reaches. Hard (the default): they are gone.
 * Soft: they stay, as stale values, so that a cached value with a stale-while-revalidate
 * window serves them while one refresh runs.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { CacheKey, CacheStore } from "@cachefx/core"
 *
 * const soften = (partition: CacheKey.Partition) =>
 *   Effect.flatMap(CacheStore.CacheStore, (store) => store.invalidate(CacheKey.partition(partition), { soft: true }))
 * ```
 *
 * @since 0.2.0
 * @category models
 */
export interface InvalidateOptions {
  readonly soft?: boolean | undefined
}

/**
 * A token that holds the lease of a key: given by `Leases.acquire` (or by a `get` that
 * took the lease), handed back to `Leases.release`.
 *
 * @example
 * ```ts
 * import { CacheStore } from "@cachefx/core"
 *
 * const held = (token: CacheStore.LeaseToken): string => token
 * ```
 *
 * @since 0.2.0
 * @category models
 */
export type LeaseToken = string & Brand.Brand<"@cachefx/core/LeaseToken">

/**
 * Short-lived leases on keys, shared by every process that uses the store: how a miss
 * of one key is computed once across processes. A lease expires by itself, so a holder
 * that dies holds it no longer than the duration it asked for.
 *
 * @example
 * ```ts
 * import { Duration, Effect, Option } from "effect"
 * import { CacheStore, type CacheKey } from "@cachefx/core"
 *
 * const once = (leases: CacheStore.Leases, key: CacheKey.CacheKey, work: Effect.Effect<void>) =>
 *   Effect.flatMap(leases.acquire(key, Duration.seconds(5)), (token) =>
 *     Option.isNone(token)
 *       ? leases.awaitRelease(key, Duration.seconds(5))
 *       : Effect.ensuring(work, Effect.ignore(leases.release(key, token.value))))
 * ```
 *
 * @since 0.2.0
 * @category models
 */
export interface Leases {
  /** Takes the lease of a key for `duration` unless another caller holds it: its token when taken. */
  readonly acquire: (
    key: CacheKey.CacheKey,
    duration: Duration.Duration
  ) => Effect.Effect<Option.Option<LeaseToken>, CacheStoreError>
  /** Gives a lease back, only while `token` still holds it, and wakes the callers waiting for it. */
  readonly release: (key: CacheKey.CacheKey, token: LeaseToken) => Effect.Effect<void, CacheStoreError>
  /** Waits until the lease of a key is released or expires, or `timeout` passes. */
  readonly awaitRelease: (key: CacheKey.CacheKey, timeout: Duration.Duration) => Effect.Effect<void, CacheStoreError>
}

/**
 * A store as cached values use it: every operation present (`make` derives the ones a
 * store leaves out), leases and version cleanup where the store has them.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { CacheStore } from "@cachefx/core"
 *
 * // a store that forgets everything it is given, e.g. to measure a workload without caching
 * const makeNull = Effect.map(CacheStore.makeMemory(), (memory): CacheStore.Service => ({
 *   ...memory,
 *   set: () => Effect.succeed(false)
 * }))
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /**
   * Reads an entry (one round trip). Entries past `staleUntil` are absent. On a store
   * with leases, `options.lease` also takes the key's lease when it holds no entry.
   */
  readonly get: (key: CacheKey.CacheKey, options?: GetOptions) => Effect.Effect<Lookup, CacheStoreError>
  /**
   * Optional, for a store that holds its entries in this process: the entry of a key
   * when it holds a live one that was not invalidated softly, read at once, with no
   * guard and no lease (`undefined` otherwise, whatever the reason). `cached()` answers
   * a fresh hit with it without a round of the fiber per step; anything else goes
   * through `get`. An object value is a copy of its own, as `get` gives it (the memory
   * store gives a deeply frozen value as it is: no reader can change it). The stores of
   * this package hold it as a property that a spread does not copy: a wrapper written
   * `{ ...store, get }` has none, and every read goes through its own `get`. `now`
   * (since 0.3.0), when given, is the caller's clock in epoch milliseconds, read for
   * this call: the store judges the entry at that time instead of reading a clock again.
   */
  readonly getSync?: ((key: CacheKey.CacheKey, now?: number) => CacheEntry.CacheEntry | undefined) | undefined
  /**
   * Reads many entries, in the order of `keys`, each with the guard `get` would give;
   * one round trip on a store that reads them together. It takes no leases.
   */
  readonly getMany: (keys: ReadonlyArray<CacheKey.CacheKey>) => Effect.Effect<ReadonlyArray<Lookup>, CacheStoreError>
  /**
   * Stores an entry unless its key, partition or namespace was invalidated after the
   * `get` that gave `guard`, or the fill window has passed. Returns whether it stored.
   * When that `get` took the key's lease, gives it back, either way.
   */
  readonly set: (
    key: CacheKey.CacheKey,
    entry: CacheEntry.CacheEntry,
    guard: FillGuard
  ) => Effect.Effect<boolean, CacheStoreError>
  /**
   * Invalidates a key, a partition or a namespace (`CacheKey.key`, `CacheKey.partition`,
   * `CacheKey.namespace`; a namespace is every version of it) and voids every fill in
   * flight under it. Softly: its entries stay, marked stale.
   */
  readonly invalidate: (target: CacheKey.Target, options?: InvalidateOptions) => Effect.Effect<void, CacheStoreError>
  /**
   * Optional: leases shared by every process that uses the store, so that a miss of one
   * key is computed once across them. A store without them (one process) relies on
   * `cached()`'s own single-flight.
   */
  readonly leases?: Leases | undefined
  /**
   * Optional: deletes every key of a namespace whose version segment `previous`
   * accepts, in bounded batches that leave the store to other work between them, and
   * gives how many keys it deleted. Used by `KeyConstructor.deletePreviousVersions`; a
   * store without it leaves old versions to expire.
   */
  readonly deleteVersions?: (
    namespace: string,
    previous: (version: string) => boolean
  ) => Effect.Effect<number, CacheStoreError>
}

/**
 * What a store implements for `make`: `get`, `set` and `invalidate`, under the protocol
 * of this module; `getMany` when the store reads many keys in fewer round trips than
 * one each; `leases` when it has them (its `get` may then take a lease itself, in the
 * read's round trip, or leave it to `make`); `deleteVersions` when it can find a
 * namespace's keys.
 *
 * @example
 * ```ts
 * import { Effect, Option } from "effect"
 * import type { CacheStore } from "@cachefx/core"
 *
 * // the smallest store: it keeps nothing, and every read is a miss
 * const nothing: CacheStore.Operations = {
 *   get: () => Effect.succeed({ entry: Option.none(), guard: undefined as unknown as CacheStore.FillGuard }),
 *   set: () => Effect.succeed(false),
 *   invalidate: () => Effect.void
 * }
 * ```
 *
 * @since 0.4.0
 * @category models
 */
export interface Operations {
  readonly get: Service["get"]
  readonly set: Service["set"]
  readonly invalidate: Service["invalidate"]
  readonly getMany?: Service["getMany"] | undefined
  readonly getSync?: Service["getSync"] | undefined
  readonly leases?: Leases | undefined
  readonly deleteVersions?: Service["deleteVersions"] | undefined
}

/**
 * Makes a store of its operations, deriving what it leaves out: `getMany` reads key by
 * key, concurrently, with `get`; with `leases`, a `get` asked for the lease of a key
 * it found without an entry, and that took none itself, takes it with `Leases.acquire`,
 * and the `set` under its guard gives it back with `Leases.release`, stored or not
 * (a release that fails leaves the lease to expire).
 *
 * @example
 * ```ts
 * import { Effect, Option } from "effect"
 * import { CacheStore } from "@cachefx/core"
 *
 * const store = CacheStore.make({
 *   get: () => Effect.succeed({ entry: Option.none(), guard: undefined as unknown as CacheStore.FillGuard }),
 *   set: () => Effect.succeed(false),
 *   invalidate: () => Effect.void
 * })
 * const program = store.getMany([]) // derived from get
 * ```
 *
 * @since 0.4.0
 * @category constructors
 */
export const make: (operations: Operations) => Service = derived.make

/**
 * The store service.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { CacheKey, CacheStore } from "@cachefx/core"
 *
 * const wipeUsers = Effect.flatMap(CacheStore.CacheStore, (store) => store.invalidate(CacheKey.namespace("cachefx:users")))
 * ```
 *
 * @since 0.1.0
 * @category tags
 */
export class CacheStore extends Context.Tag("@cachefx/core/CacheStore")<CacheStore, Service>() {}

/**
 * Options of the in-memory store.
 *
 * @example
 * ```ts
 * import { CacheStore } from "@cachefx/core"
 *
 * const options: CacheStore.MemoryOptions = { capacity: 50_000, rememberedInvalidations: 10_000 }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface MemoryOptions {
  /**
   * Most entries held. Past it, the oldest entry not read since eviction last passed it
   * goes first (second chance, close to least recently used: a read sets a flag rather
   * than moving the entry). Default 10,000.
   */
  readonly capacity?: number | undefined
  /** The `store` tag of its metrics and the `cachefx.store` attribute of its spans. Default `"memory"`. */
  readonly name?: string | undefined
  /**
   * Most key deletions and partition wipes remembered (each for the fill window, to
   * refuse a fill that read before it). Past it the oldest is forgotten, and a fill that
   * read before a forgotten one is refused whatever its key. Default 10,000 (about
   * 2 MB at most).
   */
  readonly rememberedInvalidations?: number | undefined
}

/**
 * Makes an in-memory store: bounded (an entry not read lately is evicted first), expiry
 * honoured on read, a partition wiped in O(partition) and a namespace in O(1). Time comes
 * from the `Clock` of the fiber that makes it. Each read of an object value gets a copy
 * of its own, so no caller changes another's; a value that can never change (deeply
 * frozen plain objects and arrays of data properties) is handed out as it is instead.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { CacheKey, CacheStore } from "@cachefx/core"
 *
 * const program = Effect.gen(function*() {
 *   const store = yield* CacheStore.makeMemory({ capacity: 1_000 })
 *   yield* store.invalidate(CacheKey.namespace("cachefx:users"))
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory = (options?: MemoryOptions): Effect.Effect<Service> =>
  Effect.map(internal.make(options), (memory) => telemetry.withMemoryTelemetry(memory, options?.name ?? "memory"))

/**
 * The in-memory store as a layer.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Cached, CacheStore, KeyConstructor, KeyField } from "@cachefx/core"
 *
 * const getUser = Cached.cached({
 *   key: KeyConstructor.make({ namespace: "users", fields: [KeyField.arg("id")] }),
 *   ttl: "5 minutes"
 * })((input: { readonly id: number }) => Effect.succeed({ id: input.id }))
 *
 * const program = getUser({ id: 1 }).pipe(Effect.provide(CacheStore.layerMemory({ capacity: 10_000 })))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory = (options?: MemoryOptions): Layer.Layer<CacheStore> =>
  Layer.effect(CacheStore, makeMemory(options))

/**
 * The in-memory store as a layer, its options read from `Config` (`Config.Wrap`: one
 * `Config` for the whole record or one per field); a capacity that is not a positive
 * whole number is a `ConfigError`.
 *
 * @example
 * ```ts
 * import { Config } from "effect"
 * import { CacheStore } from "@cachefx/core"
 *
 * const StoreLive = CacheStore.layerMemoryConfig({
 *   capacity: Config.withDefault(Config.integer("CACHE_CAPACITY"), 10_000)
 * })
 * ```
 *
 * @since 0.3.0
 * @category layers
 */
export const layerMemoryConfig = (
  options: Config.Config.Wrap<MemoryOptions>
): Layer.Layer<CacheStore, ConfigError.ConfigError> =>
  Layer.unwrapEffect(config.unwrapWith(options, layerMemory))

/**
 * Bounds every operation of a store by a timeout: an operation that takes longer fails
 * with a `CacheStoreError` of reason `"Timeout"`. Stores that do I/O apply it with the
 * `operationTimeout` setting. It interrupts the operation, which it makes interruptible
 * for its timer even inside an uninterruptible region (a read that takes a lease, in
 * `cached()`): the caller is answered within the timeout, and a lease that read took is
 * left to expire (see the protocol above).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { CacheStore } from "@cachefx/core"
 *
 * const program = Effect.map(CacheStore.makeMemory(), (store) => CacheStore.withTimeout(store, "100 millis"))
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const withTimeout: (store: Service, timeout: Duration.DurationInput) => Service = timeouts.withTimeout

/**
 * Puts a store behind a circuit breaker: after the breaker's threshold of operations
 * in a row timed out, every operation is skipped at once (a `CacheStoreError` of reason
 * `"CircuitOpen"`, counted in `CacheMetrics.storeSkipped`) until a probe answers. Wrap
 * the store with its timeout first, so that its operations do time out.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { CacheStore, CircuitBreaker } from "@cachefx/core"
 *
 * const program = Effect.gen(function*() {
 *   const store = CacheStore.withTimeout(yield* CacheStore.makeMemory(), "100 millis")
 *   const breaker = yield* CircuitBreaker.make({ threshold: 5, probeInterval: "1 second" })
 *   return CacheStore.withBreaker(store, breaker)
 * })
 * ```
 *
 * @since 0.3.0
 * @category combinators
 */
export const withBreaker: (store: Service, breaker: CircuitBreaker.CircuitBreaker) => Service = timeouts.withBreaker

/**
 * Observes every operation of a store: a span `cachefx.store.<operation>` (`get`,
 * `getMany`, `set`, `invalidate`, `deleteVersions`) with the
 * attribute `cachefx.store` = `name` (and on `invalidate`, `cachefx.target` = `Key`,
 * `Partition` or `Namespace`), made only when a tracer that exports spans is
 * installed, and the operation's duration in `CacheMetrics.storeDuration`, tagged
 * `store` = `name` and `operation`. The Redis store applies it itself (the memory store
 * has the spans, untimed); apply it to a store of your own.
 *
 * @example
 * ```ts
 * import { CacheKey, CacheStore } from "@cachefx/core"
 *
 * declare const myStore: CacheStore.Service
 *
 * const observed = CacheStore.withTelemetry(myStore, "dynamodb")
 * const program = observed.invalidate(CacheKey.namespace("cachefx:users"))
 * ```
 *
 * @since 0.3.0
 * @category combinators
 */
export const withTelemetry: (store: Service, name: string) => Service = telemetry.withTelemetry

/**
 * Options of a tiered store: an in-process L1 in front of a shared L2, kept in step with
 * the other instances' L1s by a `CacheSync` channel.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { CacheStore, CacheSync } from "@cachefx/core"
 *
 * const options = Effect.zipWith(CacheStore.makeMemory(), CacheSync.makeMemory, (l2, sync): CacheStore.TieredOptions => ({
 *   l1: CacheStore.makeMemory({ capacity: 1_000 }),
 *   l2,
 *   sync,
 *   ttl: "30 seconds"
 * }))
 * ```
 *
 * @since 0.2.0
 * @category models
 */
export interface TieredOptions {
  /**
   * Makes an empty L1 (e.g. `makeMemory({ capacity })`): run when the channel connects,
   * and again on every reconnection, so that L1 starts empty each time.
   */
  readonly l1: Effect.Effect<Service>
  /** The shared store every instance reads and fills. */
  readonly l2: Service
  /** The channel that carries invalidations between the instances. */
  readonly sync: CacheSync.Service
  /** Longest time an entry stays in L1 (default: until it stops being fresh). */
  readonly ttl?: Duration.DurationInput | undefined
}

/**
 * Makes a two-tier store. A read tries L1, then L2 once, and copies a fresh L2 entry
 * into L1; a fill goes to L2 (guarded), then L1; an invalidation goes to L2, then L1,
 * then the channel, and every other instance drops it from its L1. While the channel
 * is disconnected the store reads and fills L2 only, and it starts from an empty L1
 * when it reconnects. A `getMany` reads L1, then L2 once for what L1 missed; `leases`
 * and `deleteVersions` are L2's, when L2 has them. The store listens to the channel for the life of the scope.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { CacheKey, CacheStore, CacheSync } from "@cachefx/core"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const store = yield* CacheStore.makeTiered({
 *     l1: CacheStore.makeMemory({ capacity: 1_000 }),
 *     l2: yield* CacheStore.makeMemory(),
 *     sync: yield* CacheSync.makeMemory
 *   })
 *   yield* store.invalidate(CacheKey.namespace("cachefx:users"))
 * }))
 * ```
 *
 * @since 0.2.0
 * @category constructors
 */
export const makeTiered: (options: TieredOptions) => Effect.Effect<Service, never, Scope.Scope> = tiered.make

/**
 * A two-tier store as a layer, over the `CacheSync` channel in the context.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { CacheStore, CacheSync } from "@cachefx/core"
 *
 * const TwoTiers = CacheStore.layerTiered({
 *   l1: CacheStore.makeMemory({ capacity: 1_000 }),
 *   l2: CacheStore.makeMemory(),
 *   ttl: "1 minute"
 * }).pipe(Layer.provide(CacheSync.layerMemory))
 * ```
 *
 * @since 0.2.0
 * @category layers
 */
export const layerTiered = <E, R>(
  options: Omit<TieredOptions, "l2" | "sync"> & { readonly l2: Effect.Effect<Service, E, R> }
): Layer.Layer<CacheStore, E, Exclude<R, Scope.Scope> | CacheSync.CacheSync> =>
  Layer.scoped(
    CacheStore,
    Effect.flatMap(Effect.zip(options.l2, CacheSync.CacheSync), ([l2, sync]) => makeTiered({ ...options, l2, sync }))
  )
