/**
 * The consumer side of `BullMQDispatcher`: a BullMQ `Worker` that runs each job with the
 * `InvalidationEngine` in context. A job that fails is retried with the backoff it was
 * added with; one that running again cannot help (it does not decode, or names a rule
 * this process does not have) fails at once (`UnrecoverableError`) with the reason. A
 * job whose worker died is moved back to the queue once its lock has expired (BullMQ's
 * stalled-job check), up to `maxStalledCount` times.
 *
 * @since 0.1.0
 */
import { BrokerJob } from "@cachefx/core"
import type * as Duration from "effect/Duration"
import type * as BullMQDispatcher from "./BullMQDispatcher.js"
import * as internal from "./internal/bullmq.js"

/**
 * Options of the worker: where the queues live (BullMQ requires its client to have
 * `maxRetriesPerRequest: null`), the queue it serves, as every broker package's worker
 * names it (`queue`; to serve several, merge one layer each), how many jobs it runs at
 * once (`BrokerJob.ConsumerOptions`), and how a dead worker's jobs are found again.
 *
 * @example
 * ```ts
 * import { Redis } from "ioredis"
 * import type { BullMQWorker } from "@cachefx/bullmq"
 *
 * const options: BullMQWorker.Options = {
 *   connection: new Redis({ maxRetriesPerRequest: null }),
 *   queue: "cache-slow",
 *   concurrency: 4
 * }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Options extends BullMQDispatcher.Connection, BrokerJob.ConsumerOptions {
  /** The queue to serve. Default `"cachefx-invalidation"`. */
  readonly queue?: string | undefined
  /** How long a job's lock lasts without renewal: a dead worker's job runs again after it. Default 30 seconds. */
  readonly lockDuration?: Duration.DurationInput | undefined
  /** How often expired locks are looked for. Default 30 seconds. */
  readonly stalledInterval?: Duration.DurationInput | undefined
  /** How many times a job may be recovered from a dead worker before it fails. Default 1. */
  readonly maxStalledCount?: number | undefined
}

/**
 * Starts the worker in a scope; closing it waits for the jobs it is running.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Redis } from "ioredis"
 * import { BullMQWorker } from "@cachefx/bullmq"
 *
 * const program = Effect.scoped(
 *   Effect.zipRight(BullMQWorker.make({ connection: new Redis({ maxRetriesPerRequest: null }) }), Effect.never)
 * )
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: BrokerJob.MakeWorker<Options, never> = internal.makeWorker

/**
 * The workers as a layer: provide it the engine (built over the same cached values as
 * the producer's) and its store.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { Redis } from "ioredis"
 * import { Cached, InvalidationEngine } from "@cachefx/core"
 * import { RedisStore } from "@cachefx/redis"
 * import { BullMQDispatcher, BullMQWorker } from "@cachefx/bullmq"
 *
 * declare const getUser: Cached.Cached.Any
 * const connection = new Redis({ maxRetriesPerRequest: null })
 *
 * const WorkerLive = BullMQWorker.layer({ connection }).pipe(
 *   Layer.provide(InvalidationEngine.layer({ caches: [getUser] })),
 *   Layer.provide(BullMQDispatcher.layer({ connection })),
 *   Layer.provide(RedisStore.layer({ client: connection }))
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: BrokerJob.WorkerLayer<Options, never> = BrokerJob.workerLayer(make)

/**
 * Options of `layerConfig`, each read from `Config`: the `redis://` or `rediss://` URL of the Redis the workers
 * connect to, and the options of `make` but the connection.
 *
 * @example
 * ```ts
 * import { Redacted } from "effect"
 * import type { BullMQWorker } from "@cachefx/bullmq"
 *
 * const options: BullMQWorker.ConfigOptions = { url: Redacted.make("redis://127.0.0.1:6379"), concurrency: 16 }
 * ```
 *
 * @since 0.3.0
 * @category models
 */
export interface ConfigOptions extends BrokerJob.ConfigOptions<Options, "connection"> {}

/**
 * The workers over a connection to `url`, opened when the layer is built and closed
 * with its scope; their options are read from `Config` (`Config.Wrap`).
 *
 * @example
 * ```ts
 * import { Config, Layer } from "effect"
 * import { Cached, InvalidationEngine } from "@cachefx/core"
 * import { RedisStore } from "@cachefx/redis"
 * import { BullMQDispatcher, BullMQWorker } from "@cachefx/bullmq"
 *
 * declare const getUser: Cached.Cached.Any
 *
 * const url = Config.redacted("REDIS_URL")
 * const main = Layer.launch(BullMQWorker.layerConfig({ url, concurrency: Config.integer("WORKER_CONCURRENCY") }).pipe(
 *   Layer.provide(InvalidationEngine.layer({ caches: [getUser] })),
 *   Layer.provide(BullMQDispatcher.layerConfig({ url })),
 *   Layer.provide(RedisStore.layerConfig({ url }))
 * ))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig: BrokerJob.WorkerLayerConfig<ConfigOptions, never> = internal.workerLayerConfig
