/**
 * The consumer side of `RabbitMQDispatcher`: consumes a durable queue with manual
 * acknowledgement and a prefetch (`concurrency`), decodes each `Dispatcher.Job` and runs it with the
 * `InvalidationEngine` of this process (so against the store of the cached values the
 * engine was given). A job that fails is published to a delay queue
 * (`<queue>.retry.<ms>`, whose messages expire back onto the queue) with its attempt
 * counted in the header `x-cachefx-attempt`; after `attempts` tries, or at once
 * when no retry can mend it (it does not decode, or names a cached value or rule this
 * process does not have), it goes to `<queue>.dead` with the reason in
 * `x-cachefx-reason`. A message is acknowledged only after that publish is confirmed,
 * and a worker that dies leaves its messages unacknowledged, so RabbitMQ delivers them
 * again. When its channel closes or RabbitMQ cancels its consumer (the queue was
 * deleted), the worker opens another channel, every second until it can: over a
 * recovering connection, that is after a reconnect.
 *
 * @since 0.1.0
 */
import { BrokerJob } from "@cachefx/core"
import * as internal from "./internal/worker.js"
import type { Connection } from "./RabbitMQDispatcher.js"

/**
 * Options of the worker: a connection, the queue (default `"cachefx-invalidation"`),
 * how many unacknowledged messages it holds and runs at once
 * (`BrokerJob.ConsumerOptions`: `concurrency` is the channel's prefetch, default 8), and
 * its retries, in the words every broker package uses (`BrokerJob.RetryOptions`:
 * `attempts` default 5, `backoff` default 1 second, doubled at each retry).
 *
 * @example
 * ```ts
 * import type { ChannelModel } from "amqplib"
 * import type { RabbitMQWorker } from "@cachefx/rabbitmq"
 *
 * declare const connection: ChannelModel
 * const options: RabbitMQWorker.Options = { connection, queue: "users", concurrency: 32, attempts: 8, backoff: "500 millis" }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Options extends BrokerJob.ConsumerOptions, BrokerJob.RetryOptions {
  readonly connection: Connection
  readonly queue?: string | undefined
}

/**
 * Starts a worker in a scope. When the scope closes it stops taking messages, finishes
 * the jobs in hand and closes its channel. Throws a `CacheDefinitionError` for a
 * `concurrency` or `attempts` below 1.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import type { ChannelModel } from "amqplib"
 * import { RabbitMQWorker } from "@cachefx/rabbitmq"
 *
 * declare const connection: ChannelModel
 * const program = Effect.scoped(Effect.zipRight(RabbitMQWorker.make({ connection }), Effect.never))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: BrokerJob.MakeWorker<Options> = internal.make

/**
 * The worker as a layer: provide it the `InvalidationEngine` (built from the same cached
 * values as the producer's, over the store the worker should invalidate).
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { Cached, CacheStore, InvalidationEngine } from "@cachefx/core"
 * import { RabbitMQDispatcher, RabbitMQWorker } from "@cachefx/rabbitmq"
 *
 * declare const getUser: Cached.Cached.Any
 *
 * const WorkerLive = Layer.unwrapScoped(Effect.map(
 *   RabbitMQDispatcher.connect("amqp://guest:guest@127.0.0.1:5672"),
 *   (connection) =>
 *     RabbitMQWorker.layer({ connection, queue: "users" }).pipe(
 *       Layer.provide(InvalidationEngine.layer({ caches: [getUser] })),
 *       Layer.provide(RabbitMQDispatcher.layer({ connection })) // the engine checks that its rules' dispatchers exist
 *     )
 * )).pipe(Layer.provide(CacheStore.layerMemory()))
 * const main = Layer.launch(WorkerLive)
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: BrokerJob.WorkerLayer<Options> = BrokerJob.workerLayer(make)

/**
 * Options of `layerConfig`, each read from `Config`: the `amqp://` or `amqps://` URL (with its credentials) of the RabbitMQ the worker
 * connects to, and the options of `make` but the connection.
 *
 * @example
 * ```ts
 * import { Redacted } from "effect"
 * import type { RabbitMQWorker } from "@cachefx/rabbitmq"
 *
 * const options: RabbitMQWorker.ConfigOptions = { url: Redacted.make("amqp://guest:guest@127.0.0.1:5672"), concurrency: 16 }
 * ```
 *
 * @since 0.3.0
 * @category models
 */
export interface ConfigOptions extends BrokerJob.ConfigOptions<Options, "connection"> {}

/**
 * The worker over a connection to `url`, opened when the layer is built and closed with
 * it; its options are read from `Config` (`Config.Wrap`; a `concurrency` or `attempts`
 * below 1 is a `ConfigError`).
 *
 * @example
 * ```ts
 * import { Config, Layer } from "effect"
 * import { Cached, CacheStore, InvalidationEngine } from "@cachefx/core"
 * import { RabbitMQDispatcher, RabbitMQWorker } from "@cachefx/rabbitmq"
 *
 * declare const getUser: Cached.Cached.Any
 *
 * const url = Config.redacted("RABBITMQ_URL")
 * const WorkerLive = RabbitMQWorker.layerConfig({ url, concurrency: Config.integer("WORKER_CONCURRENCY") }).pipe(
 *   Layer.provide(InvalidationEngine.layer({ caches: [getUser] })),
 *   Layer.provide(RabbitMQDispatcher.layerConfig({ url })),
 *   Layer.provide(CacheStore.layerMemory())
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig: BrokerJob.WorkerLayerConfig<ConfigOptions> = internal.layerConfig
