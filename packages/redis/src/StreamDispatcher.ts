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
import { type BrokerJob, Dispatcher } from "@cachefx/core"
import type * as Duration from "effect/Duration"
import type * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import type { Cluster, Redis } from "ioredis"
import * as internal from "./internal/stream.js"

/**
 * Options of the dispatcher.
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
export interface Options<N extends string> {
  /** A client the application already has; the dispatcher never closes it. */
  readonly client: Redis | Cluster
  /** The stream of rules that name none. Default `{cachefx}:invalidation`. */
  readonly stream?: string | undefined
  /** An event with more rows than this becomes several jobs of this many rows. Default 100. */
  readonly rowsPerJob?: number | undefined
  /** How long `dispatch` waits for Redis before running the job in place. Default 2 seconds. */
  readonly timeout?: Duration.DurationInput | undefined
  /** The name rules use. Default `"redis-stream"`. */
  readonly name?: N | undefined
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
export const make = <const N extends string = "redis-stream">(
  options: Options<N>
): Effect.Effect<Dispatcher.Dispatcher, never, Scope.Scope> => Effect.succeed(internal.makeDispatcher(options))

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
export const layer = <const N extends string = "redis-stream">(options: Options<N>): Layer.Layer<Dispatcher.Named<N>> =>
  Layer.scoped(Dispatcher.tag(options.name ?? ("redis-stream" as N)), make(options))

/**
 * Options of `layerConfig`, each read from `Config`: the URL of the Redis the dispatcher
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
export interface ConfigOptions extends Omit<Options<string>, "client" | "name"> {
  /** A `redis://` or `rediss://` URL. */
  readonly url: Redacted.Redacted
}

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
 *     stream: Config.withDefault(Config.string("CACHE_STREAM"), "{cachefx}:invalidation")
 *   }))
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = <const N extends string = "redis-stream">(
  options: Config.Config.Wrap<ConfigOptions>,
  name?: N
): Layer.Layer<Dispatcher.Named<N>, ConfigError.ConfigError> =>
  Layer.scoped(
    Dispatcher.tag(name ?? ("redis-stream" as N)),
    Effect.flatMap(internal.connectConfig(options), ({ client, options }) => make({ ...options, client, name }))
  )

/**
 * Options of `deadLetters`.
 *
 * @example
 * ```ts
 * import { Redis } from "ioredis"
 * import type { StreamDispatcher } from "@cachefx/redis"
 *
 * const options: StreamDispatcher.DeadLetterOptions = { client: new Redis(), count: 10 }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface DeadLetterOptions {
  readonly client: Redis | Cluster
  /** The stream whose dead letters to list. Default `{cachefx}:invalidation`. */
  readonly stream?: string | undefined
  /** How many, newest first. Default 100. */
  readonly count?: number | undefined
}

/**
 * Lists the dead-lettered jobs of a stream, newest first, with their reasons.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Redis } from "ioredis"
 * import { StreamDispatcher } from "@cachefx/redis"
 *
 * const program = Effect.gen(function*() {
 *   for (const dead of yield* StreamDispatcher.deadLetters({ client: new Redis() })) {
 *     console.log(dead.id, dead.deliveries, dead.reason)
 *   }
 * })
 * ```
 *
 * @since 0.1.0
 * @category inspecting
 */
export const deadLetters: (
  options: DeadLetterOptions
) => Effect.Effect<ReadonlyArray<BrokerJob.DeadLetter>, BrokerJob.BrokerError> = internal.deadLetters
