/**
 * The Redis `CacheStore`: partition and namespace stamps make a wipe one `SET`
 * whatever the keyspace size, a hit is one script call, and a fill is a compare-and-set
 * in one script call (a fill that read before an invalidation is never stored). Works
 * on a single Redis and on a Redis Cluster, and fails open: every Redis error or
 * timeout is a `CacheStoreError`, which cached values count and compute through.
 *
 * @since 0.1.0
 */
import { CacheStore } from "@cachefx/core"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import type { Cluster, Redis } from "ioredis"
import { connect } from "./internal/connection.js"
import * as internal from "./internal/redisStore.js"

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
 *   client: new Redis("redis://127.0.0.1:6379", { enableOfflineQueue: false, maxRetriesPerRequest: 0 })
 * }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly client: Redis | Cluster
  readonly leasePollInterval?: Duration.DurationInput | undefined
}

/**
 * Makes a store over a client. The fill window and the operation timeout come from
 * the `CacheSettings` in force. The store has leases (a miss of one key is computed once
 * across processes); the connection on which it hears their releases, a duplicate of
 * the client opened on the first wait, is closed with the scope.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Redis } from "ioredis"
 * import { RedisStore } from "@cachefx/redis"
 *
 * const program = Effect.gen(function*() {
 *   const store = yield* RedisStore.make({ client: new Redis("redis://127.0.0.1:6379") })
 *   yield* store.clear("cachefx:users")
 * }).pipe(Effect.scoped)
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (options: Options) => Effect.Effect<CacheStore.Service, never, Scope.Scope> = internal.make

/**
 * The store over a client the application already has, as a layer.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Cluster } from "ioredis"
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
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<CacheStore.CacheStore> =>
  Layer.scoped(CacheStore.CacheStore, make(options))

/**
 * The store over a connection to `REDIS_URL` (read from `Config`), opened when the
 * layer is built and closed with its scope. The connection answers at once while
 * Redis is down (no offline queue) and reconnects by itself.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { CacheSettings } from "@cachefx/core"
 * import { RedisStore } from "@cachefx/redis"
 *
 * // REDIS_URL=redis://127.0.0.1:6379, CACHEFX_* settings from the environment
 * const CacheLive = RedisStore.layerConfig.pipe(Layer.provideMerge(CacheSettings.layerConfig))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig: Layer.Layer<CacheStore.CacheStore, ConfigError.ConfigError> = Layer.scoped(
  CacheStore.CacheStore,
  Effect.flatMap(Config.redacted("REDIS_URL"), (url) =>
    Effect.flatMap(connect(Redacted.value(url)), (client) => make({ client })))
)
