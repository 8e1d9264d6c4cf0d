/**
 * A dispatcher over a BullMQ queue: `dispatch` adds each job (fanned out when its event
 * has many rows) to the queue the rule's `dispatcherConfig.queue` names, or to the
 * default one, and returns once Redis has it. `BullMQWorker` runs the jobs in any
 * process, at least once: a job whose worker dies is picked up again when its lock
 * expires, a failed job is retried `attempts` times with exponential backoff, and a job
 * that still fails stays in BullMQ's failed set with its reason (`deadLetters` lists
 * them; `Queue.retryJobs({ state: "failed" })` sends them round again).
 *
 * @since 0.1.0
 */
import { BrokerJob } from "@cachefx/core"
import type { Cluster, Redis } from "ioredis"
import * as internal from "./internal/bullmq.js"

/**
 * Where the queues live: a client the application already has (never closed by
 * cachefx) and BullMQ's key prefix (default `"bull"`).
 *
 * @example
 * ```ts
 * import { Redis } from "ioredis"
 * import type { BullMQDispatcher } from "@cachefx/bullmq"
 *
 * const connection: BullMQDispatcher.Connection = { connection: new Redis(), prefix: "myapp" }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Connection {
  readonly connection: Redis | Cluster
  readonly prefix?: string | undefined
}

/**
 * Options of the dispatcher: where the queues live, the queue of rules that name none
 * (default `"cachefx-invalidation"`), the retries every job is added with
 * (`BrokerJob.RetryOptions`: BullMQ counts the attempts and waits the backoff), and
 * what every broker dispatcher takes (`BrokerJob.ProducerOptions`: default name
 * `"bullmq"`, `rowsPerJob` 100).
 *
 * @example
 * ```ts
 * import { Redis } from "ioredis"
 * import type { BullMQDispatcher } from "@cachefx/bullmq"
 *
 * const options: BullMQDispatcher.Options<"bullmq"> = { connection: new Redis(), attempts: 8, backoff: "500 millis" }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Options<N extends string = string> extends Connection, BrokerJob.RetryOptions, BrokerJob.ProducerOptions<N> {
  readonly queue?: string | undefined
}

/**
 * Makes the dispatcher in a scope (its queues close with it). A job Redis does not take
 * runs in place.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Redis } from "ioredis"
 * import { BullMQDispatcher } from "@cachefx/bullmq"
 *
 * const program = Effect.scoped(Effect.map(BullMQDispatcher.make({ connection: new Redis() }), (d) => d.name))
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
 * import { BullMQDispatcher } from "@cachefx/bullmq"
 *
 * declare const getUser: Cached.Cached.Any // its rule has `dispatcher: "bullmq"`
 *
 * const Invalidation = InvalidationEngine.layer({ caches: [getUser] }).pipe(
 *   Layer.provide(BullMQDispatcher.layer({ connection: new Redis() }))
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: BrokerJob.DispatcherLayer<Options, "bullmq"> = BrokerJob.dispatcherLayer("bullmq", make)

/**
 * Options of `layerConfig`, each read from `Config`: the `redis://` or `rediss://` URL of the Redis the queues
 * connect to, and the options of `make` but the connection and the name.
 *
 * @example
 * ```ts
 * import { Redacted } from "effect"
 * import type { BullMQDispatcher } from "@cachefx/bullmq"
 *
 * const options: BullMQDispatcher.ConfigOptions = { url: Redacted.make("redis://127.0.0.1:6379"), attempts: 3 }
 * ```
 *
 * @since 0.3.0
 * @category models
 */
export interface ConfigOptions extends BrokerJob.ConfigOptions<Options, "connection"> {}

/**
 * The dispatcher over a connection to `url`, opened when the layer is built and closed
 * with its scope; its options are read from `Config` (`Config.Wrap`), its name is given
 * in code (rules name it).
 *
 * @example
 * ```ts
 * import { Config, Layer } from "effect"
 * import { Cached, InvalidationEngine } from "@cachefx/core"
 * import { BullMQDispatcher } from "@cachefx/bullmq"
 *
 * declare const getUser: Cached.Cached.Any
 *
 * const Invalidation = InvalidationEngine.layer({ caches: [getUser] }).pipe(
 *   Layer.provide(BullMQDispatcher.layerConfig({
 *     url: Config.redacted("REDIS_URL"),
 *     queue: Config.withDefault(Config.string("CACHE_QUEUE"), "cache-invalidation")
 *   }))
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig: BrokerJob.DispatcherLayerConfig<ConfigOptions, "bullmq"> = internal.dispatcherLayerConfig

/**
 * Options of `deadLetters`, those of every broker package (`BrokerJob.DeadLetterOptions`:
 * `queue`, default `"cachefx-invalidation"`; `count`, default 100) and BullMQ's key
 * prefix (default `"bull"`).
 *
 * @example
 * ```ts
 * import type { BullMQDispatcher } from "@cachefx/bullmq"
 *
 * const options: BullMQDispatcher.DeadLetterOptions = { queue: "cache-invalidation", prefix: "myapp", count: 10 }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface DeadLetterOptions extends BrokerJob.DeadLetterOptions {
  readonly prefix?: string | undefined
}

/**
 * Lists the jobs of a queue that failed for good (BullMQ's failed set), newest first,
 * with their reasons and attempts, without taking them; `Queue.retryJobs({ state:
 * "failed" })` sends them round again. The connection is the caller's and stays open.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Redis } from "ioredis"
 * import { BullMQDispatcher } from "@cachefx/bullmq"
 *
 * const program = Effect.gen(function*() {
 *   for (const dead of yield* BullMQDispatcher.deadLetters(new Redis(), { queue: "cache-invalidation" })) {
 *     console.log(dead.id, dead.deliveries, dead.reason)
 *   }
 * })
 * ```
 *
 * @since 0.1.0
 * @category inspecting
 */
export const deadLetters: BrokerJob.ReadDeadLetters<Redis | Cluster, DeadLetterOptions> = internal.deadLetters
