/**
 * A `Dispatcher` over RabbitMQ: a rule that names it has its jobs published, as
 * persistent messages, to a durable queue, where a `RabbitMQWorker` (in this process or
 * another) takes them with manual acknowledgement, runs them with
 * `InvalidationEngine.run`, retries them with backoff through delay queues and finally
 * moves them to the dead-letter queue `<queue>.dead` with the reason. Delivery is at
 * least once (a message is acknowledged only once done; a worker that dies with it
 * unacknowledged has it delivered again); invalidations are idempotent, so running one
 * twice is harmless.
 *
 * @since 0.1.0
 */
import { BrokerJob } from "@cachefx/core"
import type * as amqp from "amqplib"
import type * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as internal from "./internal/dispatcher.js"

/**
 * What the dispatcher and the worker need of a connection: a `ChannelModel` of
 * `amqp.connect`, or a `RecoveringChannelModel` of `amqp.connect(url, { recovery: true })`,
 * which reconnects after the connection is lost (both open new channels when theirs
 * closes).
 *
 * @example
 * ```ts
 * import * as amqp from "amqplib"
 * import type { RabbitMQDispatcher } from "@cachefx/rabbitmq"
 *
 * const recovering: Promise<RabbitMQDispatcher.Connection> = amqp.connect("amqp://127.0.0.1", { recovery: true, noDelay: true })
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type Connection = Pick<amqp.ChannelModel, "createChannel" | "createConfirmChannel">

/**
 * Options of `make` and `layer`: a connection the application already has (see
 * `connect`), the queue (default `"cachefx-invalidation"`), and what every broker
 * dispatcher takes (`BrokerJob.ProducerOptions`: default name `"rabbitmq"`, `rowsPerJob`
 * 500, and `timeout`, here the wait for RabbitMQ's confirm). A rule's `dispatcherConfig`
 * may set `queue` and `rowsPerJob` for its own jobs. Retries are the worker's
 * (`RabbitMQWorker.Options`).
 *
 * @example
 * ```ts
 * import type { ChannelModel } from "amqplib"
 * import type { RabbitMQDispatcher } from "@cachefx/rabbitmq"
 *
 * declare const connection: ChannelModel
 * const options: RabbitMQDispatcher.Options<"rabbitmq"> = { connection, queue: "cache-invalidation", rowsPerJob: 100 }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Options<N extends string = string> extends BrokerJob.ProducerOptions<N> {
  readonly connection: Connection
  readonly queue?: string | undefined
}

/**
 * Makes the dispatcher in a scope, over a confirm channel of its own (opened again
 * should it close). `dispatch` returns once RabbitMQ has confirmed the job; when it
 * cannot take it, or does not confirm it within `timeout`, the job runs in place (with the engine's retries) rather than being
 * lost. Throws a `CacheDefinitionError` for a `rowsPerJob` below 1.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import type { ChannelModel } from "amqplib"
 * import { RabbitMQDispatcher } from "@cachefx/rabbitmq"
 *
 * declare const connection: ChannelModel
 * const program = Effect.scoped(Effect.map(RabbitMQDispatcher.make({ connection }), (dispatcher) => dispatcher.name))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: BrokerJob.MakeDispatcher<Options> = internal.make

/**
 * The dispatcher as a layer, under `Dispatcher.tag(name)`.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { Cached, CacheStore, InvalidationEngine, InvalidationRule, KeyConstructor, KeyField } from "@cachefx/core"
 * import { RabbitMQDispatcher } from "@cachefx/rabbitmq"
 *
 * const getUser = Cached.cached({
 *   key: KeyConstructor.make({ namespace: "users", fields: [KeyField.arg("id")] }),
 *   invalidatesOn: [
 *     InvalidationRule.make({ table: "users", fieldMapping: { id: "id" }, dispatcher: "rabbitmq", dispatcherConfig: { queue: "users" } })
 *   ]
 * })((input: { readonly id: number }) => Effect.succeed({ id: input.id }))
 *
 * const Live = Layer.unwrapScoped(Effect.map(
 *   RabbitMQDispatcher.connect("amqp://guest:guest@127.0.0.1:5672"),
 *   (connection) => InvalidationEngine.layer({ caches: [getUser] }).pipe(Layer.provide(RabbitMQDispatcher.layer({ connection })))
 * )).pipe(Layer.provideMerge(CacheStore.layerMemory()))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: BrokerJob.DispatcherLayer<Options, "rabbitmq"> = BrokerJob.dispatcherLayer("rabbitmq", make)

/**
 * Options of `layerConfig`, each read from `Config`: the `amqp://` or `amqps://` URL (with its credentials) of the RabbitMQ the
 * dispatcher connects to, and the options of `make` but the connection and the name.
 *
 * @example
 * ```ts
 * import { Redacted } from "effect"
 * import type { RabbitMQDispatcher } from "@cachefx/rabbitmq"
 *
 * const options: RabbitMQDispatcher.ConfigOptions = { url: Redacted.make("amqp://guest:guest@127.0.0.1:5672"), rowsPerJob: 50 }
 * ```
 *
 * @since 0.3.0
 * @category models
 */
export interface ConfigOptions extends BrokerJob.ConfigOptions<Options, "connection"> {}

/**
 * The dispatcher over a connection to `url`, opened when the layer is built and closed
 * with it; its options are read from `Config` (`Config.Wrap`; a `rowsPerJob` below 1 is
 * a `ConfigError`), its name is given in code (rules name it).
 *
 * @example
 * ```ts
 * import { Config, Layer } from "effect"
 * import { Cached, InvalidationEngine } from "@cachefx/core"
 * import { RabbitMQDispatcher } from "@cachefx/rabbitmq"
 *
 * declare const getUser: Cached.Cached.Any
 *
 * const Invalidation = InvalidationEngine.layer({ caches: [getUser] }).pipe(
 *   Layer.provide(RabbitMQDispatcher.layerConfig({ url: Config.redacted("RABBITMQ_URL"), queue: Config.string("CACHE_QUEUE") }))
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig: BrokerJob.DispatcherLayerConfig<ConfigOptions, "rabbitmq", BrokerJob.BrokerError> = internal.layerConfig

/**
 * Opens a connection in a scope and closes it when the scope closes. The socket is set
 * to `noDelay` unless `socketOptions` say otherwise: publishes wait for confirms, and
 * with Nagle's algorithm a confirm can wait tens of milliseconds on a socket that also
 * carries deliveries. (Open your own connections with `{ noDelay: true }` too.)
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { RabbitMQDispatcher } from "@cachefx/rabbitmq"
 *
 * const program = Effect.scoped(Effect.flatMap(
 *   RabbitMQDispatcher.connect("amqp://guest:guest@127.0.0.1:5672"),
 *   (connection) => Effect.promise(() => connection.createChannel())
 * ))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const connect: (
  url: string | amqp.Options.Connect,
  socketOptions?: amqp.SocketOptions
) => Effect.Effect<amqp.ChannelModel, BrokerJob.BrokerError, Scope.Scope> = internal.connect

/**
 * Options of `deadLetters`, those of every broker package (`BrokerJob.DeadLetterOptions`:
 * `queue`, default `"cachefx-invalidation"`; `count`, default 100).
 *
 * @example
 * ```ts
 * import type { RabbitMQDispatcher } from "@cachefx/rabbitmq"
 *
 * const options: RabbitMQDispatcher.DeadLetterOptions = { queue: "users", count: 10 }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface DeadLetterOptions extends BrokerJob.DeadLetterOptions {}

/**
 * Reads a queue's dead letters (`<queue>.dead`), newest first, without taking them: every
 * message is fetched unacknowledged (the whole queue, to find the newest), and all go
 * back to the queue when the read ends. The reason, the deliveries and the time are the
 * headers `x-cachefx-reason`, `x-cachefx-attempt` and `x-cachefx-failed-at`, so the
 * management UI shows them too; to run them again, shovel `<queue>.dead` to `<queue>`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import type { ChannelModel } from "amqplib"
 * import { RabbitMQDispatcher } from "@cachefx/rabbitmq"
 *
 * declare const connection: ChannelModel
 * const report = Effect.map(RabbitMQDispatcher.deadLetters(connection, { queue: "users" }), (letters) =>
 *   letters.map((letter) => `${letter.id} after ${letter.deliveries}: ${letter.reason}`))
 * ```
 *
 * @since 0.1.0
 * @category dead letters
 */
export const deadLetters: BrokerJob.ReadDeadLetters<Connection, DeadLetterOptions> = internal.deadLetters
