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
import { BrokerJob } from "@cachefx/core"
import type * as Duration from "effect/Duration"
import type { Cluster, Redis } from "ioredis"
import * as internal from "./internal/stream.js"

/**
 * Options of the worker: its client, stream (`queue`), group and name, how many jobs it runs at
 * once (`BrokerJob.ConsumerOptions`, default 8), how many deliveries a job may have
 * (`attempts` of `BrokerJob.RetryOptions`, default 5; a failed job is delivered again once
 * `visibilityTimeout` has passed, so there is no `backoff`), and the visibility timeout.
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
export interface Options extends BrokerJob.ConsumerOptions, Pick<BrokerJob.RetryOptions, "attempts"> {
  /** A client the application already has; the worker duplicates it for its blocking reads and never closes it. */
  readonly client: Redis | Cluster
  /** The stream to consume (the queue, in the words every broker package uses). Default `{cachefx}:invalidation`. */
  readonly queue?: string | undefined
  /** The consumer group. Default `"cachefx"`. */
  readonly group?: string | undefined
  /** This worker's name in the group. Default: host, process id and a random suffix. */
  readonly consumer?: string | undefined
  /** How long a delivered job may go without progress before it is delivered again (a failed job too). Default 30 seconds. */
  readonly visibilityTimeout?: Duration.DurationInput | undefined
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
export const make: BrokerJob.MakeWorker<Options> = internal.makeWorker

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
export const layer: BrokerJob.WorkerLayer<Options> = BrokerJob.workerLayer(make)

/**
 * Options of `layerConfig`, each read from `Config`: the `redis://` or `rediss://` URL of the Redis the worker
 * connects to, and the options of `make` but the client.
 *
 * @example
 * ```ts
 * import { Redacted } from "effect"
 * import type { StreamWorker } from "@cachefx/redis"
 *
 * const options: StreamWorker.ConfigOptions = { url: Redacted.make("redis://127.0.0.1:6379"), concurrency: 16 }
 * ```
 *
 * @since 0.3.0
 * @category models
 */
export interface ConfigOptions extends BrokerJob.ConfigOptions<Options, "client"> {}

/**
 * The worker over a connection to `url`, opened when the layer is built and closed with
 * its scope; its options are read from `Config` (`Config.Wrap`).
 *
 * @example
 * ```ts
 * import { Config, Layer } from "effect"
 * import { Cached, InvalidationEngine } from "@cachefx/core"
 * import { RedisStore, StreamDispatcher, StreamWorker } from "@cachefx/redis"
 *
 * declare const getUser: Cached.Cached.Any
 *
 * const url = Config.redacted("REDIS_URL")
 * const main = Layer.launch(StreamWorker.layerConfig({ url, concurrency: Config.integer("WORKER_CONCURRENCY") }).pipe(
 *   Layer.provide(InvalidationEngine.layer({ caches: [getUser] })),
 *   Layer.provide(StreamDispatcher.layerConfig({ url })),
 *   Layer.provide(RedisStore.layerConfig({ url }))
 * ))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig: BrokerJob.WorkerLayerConfig<ConfigOptions> = internal.workerLayerConfig
