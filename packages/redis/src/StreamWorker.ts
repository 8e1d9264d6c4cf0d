/**
 * The consumer side of `StreamDispatcher`: a worker in a consumer group (`XREADGROUP`)
 * that runs each job with the `InvalidationEngine` in context and acknowledges it
 * (`XACK`, then `XDEL`) once done. Delivery is at least once:
 *
 * - a job that fails stays pending and is delivered again once it has been idle for
 *   `visibilityTimeout` (`XPENDING` + `XCLAIM`); so is the job of a worker that died;
 * - a running job is kept from looking idle (a `XCLAIM … JUSTID` heartbeat);
 * - after `attempts` deliveries, or at once when running it again cannot help (it
 *   does not decode, or names a rule this process does not have), the entry moves to
 *   `<stream>:dead` with the reason (`StreamDispatcher.deadLetters` lists them).
 *
 * One consumer group per stream: acknowledged entries are deleted from the stream.
 *
 * @since 0.1.0
 */
import type { BrokerJob, InvalidationEngine } from "@cachefx/core"
import type * as Duration from "effect/Duration"
import type * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type { Cluster, Redis } from "ioredis"
import * as internal from "./internal/stream.js"

/**
 * Options of the worker.
 *
 * @example
 * ```ts
 * import { Redis } from "ioredis"
 * import type { StreamWorker } from "@cachefx/redis"
 *
 * const options: StreamWorker.Options = { client: new Redis(), concurrency: 4, visibilityTimeout: "10 seconds" }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** A client the application already has; the worker duplicates it for its blocking reads and never closes it. */
  readonly client: Redis | Cluster
  /** The stream to consume. Default `{cachefx}:invalidation`. */
  readonly stream?: string | undefined
  /** The consumer group. Default `"cachefx"`. */
  readonly group?: string | undefined
  /** This worker's name in the group. Default: host, process id and a random suffix. */
  readonly consumer?: string | undefined
  /** How many jobs run at once. Default 8. */
  readonly concurrency?: number | undefined
  /** How long a delivered job may go without progress before it is delivered again. Default 30 seconds. */
  readonly visibilityTimeout?: Duration.DurationInput | undefined
  /** How many times a job is tried (delivered) before it is dead-lettered, as in every broker package. Default 5. */
  readonly attempts?: number | undefined
}

/**
 * Starts a worker in a scope; closing the scope finishes the jobs it holds, then stops.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Redis } from "ioredis"
 * import { StreamWorker } from "@cachefx/redis"
 *
 * const program = Effect.scoped(Effect.zipRight(StreamWorker.make({ client: new Redis() }), Effect.never))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (
  options: Options
) => Effect.Effect<void, BrokerJob.BrokerError, InvalidationEngine.InvalidationEngine | Scope.Scope> =
  internal.makeWorker

/**
 * The worker as a layer: provide it the engine (built over the same cached values as
 * the producer's) and its store.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { Redis } from "ioredis"
 * import { Cached, InvalidationEngine } from "@cachefx/core"
 * import { RedisStore, StreamDispatcher, StreamWorker } from "@cachefx/redis"
 *
 * declare const getUser: Cached.Cached.Any
 * const client = new Redis()
 *
 * const WorkerLive = StreamWorker.layer({ client }).pipe(
 *   Layer.provide(InvalidationEngine.layer({ caches: [getUser] })),
 *   Layer.provide(StreamDispatcher.layer({ client })),
 *   Layer.provide(RedisStore.layer({ client }))
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<never, BrokerJob.BrokerError, InvalidationEngine.InvalidationEngine> =>
  Layer.scopedDiscard(make(options))

/**
 * The worker over a connection to `REDIS_URL` (read from `Config`), opened when the layer
 * is built and closed with its scope.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { Cached, InvalidationEngine } from "@cachefx/core"
 * import { RedisStore, StreamDispatcher, StreamWorker } from "@cachefx/redis"
 *
 * declare const getUser: Cached.Cached.Any
 *
 * // REDIS_URL=redis://127.0.0.1:6379
 * const main = Layer.launch(StreamWorker.layerConfig({ concurrency: 16 }).pipe(
 *   Layer.provide(InvalidationEngine.layer({ caches: [getUser] })),
 *   Layer.provide(StreamDispatcher.layerConfig()),
 *   Layer.provide(RedisStore.layerConfig)
 * ))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  options: Omit<Options, "client"> = {}
): Layer.Layer<never, BrokerJob.BrokerError | ConfigError.ConfigError, InvalidationEngine.InvalidationEngine> =>
  Layer.scopedDiscard(Effect.flatMap(internal.connectConfig, (client) => make({ ...options, client })))
