/**
 * A dispatcher over a Redis Stream: `dispatch` appends each job (fanned out when its
 * event has many rows) with `XADD`, and returns once Redis has it. `StreamWorker` runs
 * the jobs in any process, at least once: an entry is acknowledged only once its job is
 * done, redelivered when its worker failed or died, and moved to a dead-letter stream
 * (`<stream>:dead`, with the reason) after `attempts` deliveries.
 *
 * A rule picks its stream with `dispatcherConfig: { queue: "<stream key>" }`; the default
 * is `{cachefx}:invalidation`. On a Redis Cluster, give streams a hash tag (`{…}`):
 * a stream and its dead-letter stream must share a slot.
 *
 * @since 0.1.0
 */
import { BrokerJob } from "@cachefx/core"
import type { Cluster, Redis } from "ioredis"
import * as internal from "./internal/stream.js"

/**
 * Options of the dispatcher: a client the application already has (the dispatcher never
 * closes it), the stream of rules that name none (`queue`, default `{cachefx}:invalidation`),
 * and what every broker dispatcher takes (`BrokerJob.ProducerOptions`: default name
 * `"redis-stream"`, `rowsPerJob` 100). Retries are the worker's (`StreamWorker.Options`).
 *
 * @example
 * ```ts
 * import { Redis } from "ioredis"
 * import type { StreamDispatcher } from "@cachefx/redis"
 *
 * const options: StreamDispatcher.Options<"redis-stream"> = { client: new Redis(), rowsPerJob: 50 }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Options<N extends string = string> extends BrokerJob.ProducerOptions<N> {
  readonly client: Redis | Cluster
  /** The stream of rules that name none (the queue, in the words every broker package uses). */
  readonly queue?: string | undefined
}

/**
 * Makes the dispatcher in a scope, as every broker package's `make` does (this one holds
 * nothing to release: the client is yours). A job Redis does not take runs in place
 * (see `BrokerJob.dispatcher`).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Redis } from "ioredis"
 * import { StreamDispatcher } from "@cachefx/redis"
 *
 * const program = Effect.scoped(Effect.map(StreamDispatcher.make({ client: new Redis() }), (dispatcher) => dispatcher.name))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: BrokerJob.MakeDispatcher<Options> = internal.makeDispatcher

/**
 * The dispatcher as a layer, for the engine layer.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { Redis } from "ioredis"
 * import { Cached, InvalidationEngine } from "@cachefx/core"
 * import { StreamDispatcher } from "@cachefx/redis"
 *
 * declare const getUser: Cached.Cached.Any // its rule has `dispatcher: "redis-stream"`
 *
 * const Invalidation = InvalidationEngine.layer({ caches: [getUser] }).pipe(
 *   Layer.provide(StreamDispatcher.layer({ client: new Redis() }))
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: BrokerJob.DispatcherLayer<Options, "redis-stream"> = BrokerJob.dispatcherLayer("redis-stream", make)

/**
 * Options of `layerConfig`, each read from `Config`: the `redis://` or `rediss://` URL of the Redis the dispatcher
 * connects to, and the options of `make` but the client and the name.
 *
 * @example
 * ```ts
 * import { Redacted } from "effect"
 * import type { StreamDispatcher } from "@cachefx/redis"
 *
 * const options: StreamDispatcher.ConfigOptions = { url: Redacted.make("redis://127.0.0.1:6379"), rowsPerJob: 50 }
 * ```
 *
 * @since 0.3.0
 * @category models
 */
export interface ConfigOptions extends BrokerJob.ConfigOptions<Options, "client"> {}

/**
 * The dispatcher over a connection to `url`, opened when the layer is built and closed
 * with its scope; its options are read from `Config` (`Config.Wrap`), its name is given
 * in code (rules name it). While Redis is down, jobs run in place at once.
 *
 * @example
 * ```ts
 * import { Config, Layer } from "effect"
 * import { Cached, InvalidationEngine } from "@cachefx/core"
 * import { StreamDispatcher } from "@cachefx/redis"
 *
 * declare const getUser: Cached.Cached.Any
 *
 * const Invalidation = InvalidationEngine.layer({ caches: [getUser] }).pipe(
 *   Layer.provide(StreamDispatcher.layerConfig({
 *     url: Config.redacted("REDIS_URL"),
 *     queue: Config.withDefault(Config.string("CACHE_STREAM"), "{cachefx}:invalidation")
 *   }))
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig: BrokerJob.DispatcherLayerConfig<ConfigOptions, "redis-stream"> = internal.dispatcherLayerConfig

/**
 * Lists the dead-lettered jobs of a stream (`<queue>:dead`), newest first, with their
 * reasons, without taking them. Its options are every broker package's
 * (`BrokerJob.DeadLetterOptions`: `queue`, the stream, default `{cachefx}:invalidation`;
 * `count`, default 100).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Redis } from "ioredis"
 * import { StreamDispatcher } from "@cachefx/redis"
 *
 * const program = Effect.gen(function*() {
 *   for (const dead of yield* StreamDispatcher.deadLetters(new Redis(), { queue: "{cachefx}:invalidation" })) {
 *     console.log(dead.id, dead.deliveries, dead.reason)
 *   }
 * })
 * ```
 *
 * @since 0.1.0
 * @category inspecting
 */
export const deadLetters: BrokerJob.ReadDeadLetters<Redis | Cluster> = internal.deadLetters
