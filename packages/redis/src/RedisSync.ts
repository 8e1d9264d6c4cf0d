/**
 * The `CacheSync` channel over Redis pub/sub: invalidations are `PUBLISH`ed on the
 * application's client and received on a connection of their own (a duplicate of the
 * client, named with `CLIENT SETNAME`). Pub/sub forgets what it could not deliver, so
 * the channel says when it may have missed a message: it is disconnected from the
 * moment the subscriber connection closes, or leaves a `PING` unanswered for a
 * `heartbeat`, until it has subscribed again after reconnecting.
 *
 * @since 0.2.0
 */
import { BrokerJob, CacheSync } from "@cachefx/core"
import type * as Duration from "effect/Duration"
import type { Redis } from "ioredis"
import { connect } from "./internal/connection.js"
import * as internal from "./internal/redisSync.js"

/**
 * Options of the channel.
 *
 * @example
 * ```ts
 * import { Redis } from "ioredis"
 * import type { RedisSync } from "@cachefx/redis"
 *
 * const options: RedisSync.Options = { client: new Redis(), channel: "shop:cachefx", heartbeat: "500 millis" }
 * ```
 *
 * @since 0.2.0
 * @category models
 */
export interface Options {
  /**
   * A single Redis client the application already has: messages are published on it,
   * and received on a duplicate of it that the channel opens and closes. (A Cluster
   * client is not supported: its subscriber connection cannot be pinged.)
   */
  readonly client: Redis
  /** The pub/sub channel. Default `"cachefx:sync"`. */
  readonly channel?: string | undefined
  /**
   * How often the subscriber connection is pinged. A ping still unanswered at the next
   * one disconnects the channel: a connection that hangs is noticed within twice this.
   * Default 1 second.
   */
  readonly heartbeat?: Duration.DurationInput | undefined
  /** The name of the subscriber connection (`CLIENT SETNAME`). Default `"cachefx-sync"`. */
  readonly connectionName?: string | undefined
}

/**
 * Makes the channel: opens the subscriber connection (waiting at most 2 seconds for
 * its first subscription; until then the channel is disconnected) and closes it with
 * the scope. Publishing takes at most the `operationTimeout` setting.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Redis } from "ioredis"
 * import { CacheKey, CacheStore } from "@cachefx/core"
 * import { RedisStore, RedisSync } from "@cachefx/redis"
 *
 * const client = new Redis("redis://127.0.0.1:6379")
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const store = yield* CacheStore.makeTiered({
 *     l1: CacheStore.makeMemory({ capacity: 10_000 }),
 *     l2: yield* RedisStore.make({ client }),
 *     sync: yield* RedisSync.make({ client })
 *   })
 *   yield* store.invalidate(CacheKey.namespace("cachefx:users"))
 * }))
 * ```
 *
 * @since 0.2.0
 * @category constructors
 */
export const make: CacheSync.MakeChannel<Options> = internal.make

/**
 * The channel as a layer, e.g. for `CacheStore.layerTiered`.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { Redis } from "ioredis"
 * import { CacheKey, CacheStore } from "@cachefx/core"
 * import { RedisStore, RedisSync } from "@cachefx/redis"
 *
 * const client = new Redis("redis://127.0.0.1:6379")
 * const TwoTiers = CacheStore.layerTiered({
 *   l1: CacheStore.makeMemory({ capacity: 10_000 }),
 *   l2: RedisStore.make({ client })
 * }).pipe(Layer.provide(RedisSync.layer({ client })))
 * ```
 *
 * @since 0.2.0
 * @category layers
 */
export const layer: CacheSync.ChannelLayer<Options> = CacheSync.channelLayer(make)

/**
 * Options of `layerConfig`, each read from `Config`: the Redis the channel connects to
 * (`url`: `redis://` or `rediss://`), and the options of `make` but the client.
 *
 * @example
 * ```ts
 * import { Redacted } from "effect"
 * import type { RedisSync } from "@cachefx/redis"
 *
 * const options: RedisSync.ConfigOptions = { url: Redacted.make("redis://127.0.0.1:6379"), channel: "app:cache" }
 * ```
 *
 * @since 0.3.0
 * @category models
 */
export interface ConfigOptions extends CacheSync.ConfigOptions<Options, "client"> {}

/**
 * The channel on a connection to `url` opened when the layer is built and closed with
 * its scope (it answers at once while Redis is down, and reconnects by itself); its
 * options are read from `Config` (`Config.Wrap`).
 *
 * @example
 * ```ts
 * import { Config, Layer } from "effect"
 * import { CacheStore } from "@cachefx/core"
 * import { RedisSync } from "@cachefx/redis"
 *
 * const TwoTiers = CacheStore.layerTiered({
 *   l1: CacheStore.makeMemory({ capacity: 10_000 }),
 *   l2: CacheStore.makeMemory()
 * }).pipe(Layer.provide(RedisSync.layerConfig({ url: Config.redacted("REDIS_URL"), heartbeat: Config.succeed("1 second") })))
 * ```
 *
 * @since 0.3.0
 * @category layers
 */
export const layerConfig: CacheSync.ChannelLayerConfig<ConfigOptions> = CacheSync.channelLayerConfig<ConfigOptions, Options>({
  make,
  connect: BrokerJob.connectAs("client", connect)
})
