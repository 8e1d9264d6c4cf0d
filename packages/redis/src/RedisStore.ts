/**
 * The Redis `CacheStore`: partition and namespace stamps make a wipe one `SET`
 * whatever the keyspace size, a hit is one script call, and a fill is a compare-and-set
 * in one script call (a fill that read before an invalidation is never stored). Works
 * on a single Redis and on a Redis Cluster, and fails open: every Redis error or
 * timeout is a `CacheStoreError`, which cached values count and compute through.
 *
 * With the `l1` option, each instance keeps the entries it reads in memory too, and
 * learns the invalidations of every other instance over Redis pub/sub (`RedisSync`).
 *
 * @since 0.1.0
 */
import { CacheStore, type CircuitBreaker } from "@cachefx/core"
import type * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import type { Cluster, Redis } from "ioredis"
import { connectConfig } from "./internal/connection.js"
import * as internal from "./internal/redisStore.js"
import * as RedisSync from "./RedisSync.js"

/**
 * Options of `make` and `layer`: a client the application already has, a single
 * `Redis` or a `Cluster`. The store registers its scripts on it and never closes it.
 * `leasePollInterval` (default 100 ms): how often a process waiting for another's lease
 * checks it when it hears no release, the most a lost release message or a lease left
 * to expire (its holder died) costs the waiters.
 *
 * @example
 * ```ts
 * import { Redis } from "ioredis"
 * import type { RedisStore } from "@cachefx/redis"
 *
 * const options: RedisStore.Options = {
 *   client: new Redis("redis://127.0.0.1:6379", { enableOfflineQueue: false, maxRetriesPerRequest: 0 }),
 *   maxTtl: "7 days"
 * }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly client: Redis | Cluster
  readonly leasePollInterval?: Duration.DurationInput | undefined
  /**
   * The longest an entry lives in Redis (default 30 days), whatever its TTL: an entry
   * of `Ttl.forever`, and the stamps it recorded, expire after it (and are computed
   * again on the next miss). Keeps every key of the store evictable by a `volatile-*`
   * `maxmemory-policy`, and bounds what entries no read finds again can hold.
   */
  readonly maxTtl?: Duration.DurationInput | undefined
  /**
   * The store's circuit breaker (`CircuitBreaker.Options`): by default its threshold
   * and probe interval come from the `CacheSettings` in force (`breakerThreshold`,
   * default 5 timeouts in a row; `breakerProbeInterval`, default 1 second).
   */
  readonly breaker?: CircuitBreaker.Options | undefined
}

/**
 * The in-memory tier of each instance.
 *
 * @example
 * ```ts
 * import type { RedisStore } from "@cachefx/redis"
 *
 * const l1: RedisStore.L1Options = { capacity: 10_000, ttl: "1 minute" }
 * ```
 *
 * @since 0.2.0
 * @category models
 */
export interface L1Options {
  /** Most entries held; the least recently used go first. */
  readonly capacity: number
  /** Longest time an entry stays in L1 (default: until it stops being fresh). */
  readonly ttl?: Duration.DurationInput | undefined
}

/**
 * Options of the two-tier store: a single Redis client (the channel pings its own
 * subscriber connection, which a Cluster client does not expose), the in-memory tier,
 * and the channel's options.
 *
 * @example
 * ```ts
 * import { Redis } from "ioredis"
 * import type { RedisStore } from "@cachefx/redis"
 *
 * const options: RedisStore.TieredOptions = {
 *   client: new Redis("redis://127.0.0.1:6379"),
 *   l1: { capacity: 10_000 },
 *   sync: { heartbeat: "500 millis" }
 * }
 * ```
 *
 * @since 0.2.0
 * @category models
 */
export interface TieredOptions {
  readonly client: Redis
  readonly maxTtl?: Duration.DurationInput | undefined
  readonly breaker?: CircuitBreaker.Options | undefined
  readonly l1: L1Options
  readonly sync?: Omit<RedisSync.Options, "client"> | undefined
}

/**
 * Makes a store over a client. The fill window and the operation timeout come from
 * the `CacheSettings` in force. The store has leases (a miss of one key is computed once
 * across processes); the connection on which it hears their releases, a duplicate of
 * the client opened on the first wait, is closed with the scope. With `l1`, a two-tier
 * store (`CacheStore.makeTiered`): an in-memory L1 of `l1.capacity` entries in front of
 * Redis, kept in step with the other instances by `RedisSync`, whose connection closes
 * with the scope too.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Redis } from "ioredis"
 * import { CacheKey } from "@cachefx/core"
 * import { RedisStore } from "@cachefx/redis"
 *
 * const client = new Redis("redis://127.0.0.1:6379")
 * const program = Effect.gen(function*() {
 *   const store = yield* RedisStore.make({ client })
 *   yield* store.invalidate(CacheKey.namespace("cachefx:users"))
 * }).pipe(Effect.scoped)
 * const twoTiers = Effect.scoped(Effect.gen(function*() {
 *   const store = yield* RedisStore.make({ client, l1: { capacity: 10_000 } })
 *   yield* store.invalidate(CacheKey.namespace("cachefx:users"))
 * }))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options | TieredOptions): Effect.Effect<CacheStore.Service, never, Scope.Scope> => {
  const l2 = Effect.map(internal.make(options), (store) => CacheStore.withTelemetry(store, "redis"))
  if (!("l1" in options) || options.l1 === undefined) {
    return l2
  }
  const l1 = CacheStore.makeMemory({ capacity: options.l1.capacity, name: "l1" })
  return Effect.flatMap(
    Effect.zip(l2, RedisSync.make({ ...options.sync, client: options.client })),
    ([l2, sync]) => CacheStore.makeTiered({ l1, l2, sync, ttl: options.l1.ttl })
  )
}

/**
 * The store over a client the application already has, as a layer; with `l1`, the
 * two-tier store (see `make`).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Cluster, Redis } from "ioredis"
 * import { Cached, KeyConstructor, KeyField } from "@cachefx/core"
 * import { RedisStore } from "@cachefx/redis"
 *
 * const getUser = Cached.cached({
 *   key: KeyConstructor.make({ namespace: "users", fields: [KeyField.arg("id")] }),
 *   ttl: "5 minutes"
 * })((input: { readonly id: number }) => Effect.succeed({ id: input.id }))
 *
 * const client = new Cluster([{ host: "10.0.0.1", port: 6379 }])
 * const program = getUser({ id: 1 }).pipe(Effect.provide(RedisStore.layer({ client })))
 *
 * const TwoTiers = RedisStore.layer({ client: new Redis(), l1: { capacity: 10_000, ttl: "1 minute" } })
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options | TieredOptions): Layer.Layer<CacheStore.CacheStore> =>
  Layer.scoped(CacheStore.CacheStore, make(options))

/**
 * Options of `layerConfig`, each read from `Config`: the URL of the Redis the layer
 * connects to, and the options of `make` but the client (with `l1`, the two-tier store).
 *
 * @example
 * ```ts
 * import { Redacted } from "effect"
 * import type { RedisStore } from "@cachefx/redis"
 *
 * const options: RedisStore.ConfigOptions = {
 *   url: Redacted.make("redis://127.0.0.1:6379"),
 *   l1: { capacity: 10_000 }
 * }
 * ```
 *
 * @since 0.3.0
 * @category models
 */
export interface ConfigOptions {
  /** A `redis://` or `rediss://` URL (with its password, hence redacted). */
  readonly url: Redacted.Redacted
  readonly leasePollInterval?: Duration.DurationInput | undefined
  readonly l1?: L1Options | undefined
  readonly sync?: Omit<RedisSync.Options, "client"> | undefined
}

/**
 * The store over a connection to `url`, opened when the layer is built and closed with
 * its scope; every option is read from `Config` (`Config.Wrap`: give a `Config` for the
 * whole record or one per field). The connection answers at once while Redis is down
 * (no offline queue) and reconnects by itself.
 *
 * @example
 * ```ts
 * import { Config, Layer } from "effect"
 * import { CacheSettings } from "@cachefx/core"
 * import { RedisStore } from "@cachefx/redis"
 *
 * const CacheLive = RedisStore.layerConfig({
 *   url: Config.redacted("REDIS_URL"),
 *   l1: { capacity: Config.integer("CACHE_L1_CAPACITY") }
 * }).pipe(Layer.provideMerge(CacheSettings.layerConfig))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  options: Config.Config.Wrap<ConfigOptions>
): Layer.Layer<CacheStore.CacheStore, ConfigError.ConfigError> =>
  Layer.scoped(
    CacheStore.CacheStore,
    Effect.flatMap(connectConfig(options), ({ client, options }) => make({ ...options, client }))
  )
