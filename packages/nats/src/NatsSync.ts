/**
 * The `CacheSync` channel over NATS (core pub/sub): invalidations are published on one
 * subject as JSON and received by a subscription on the same connection. Core NATS
 * forgets what it could not deliver, so the channel says when it may have missed a
 * message: it is disconnected from the moment the connection drops, closes, or leaves a
 * ping of the client's unanswered at its next ping, until a flush after its
 * subscription (sent again on reconnection) is answered.
 *
 * @since 0.2.0
 */
import { BrokerJob, CacheSync } from "@cachefx/core"
import type { NatsConnection } from "@nats-io/transport-node"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as internal from "./internal/natsSync.js"

/**
 * Options of the channel.
 *
 * @example
 * ```ts
 * import { connect } from "@nats-io/transport-node"
 * import type { NatsSync } from "@cachefx/nats"
 *
 * const connection = await connect({ servers: "127.0.0.1:4222", pingInterval: 1_000 })
 * const options: NatsSync.Options = { connection, subject: "shop.cachefx" }
 * ```
 *
 * @since 0.2.0
 * @category models
 */
export interface Options {
  /**
   * An open connection the application already has: the channel publishes and
   * subscribes on it and never closes it. A connection that hangs is noticed within
   * twice its `pingInterval` (2 minutes by default in the client: set it to about a
   * second), and a connection that gives up reconnecting (`maxReconnectAttempts`, 10 by
   * default) leaves the channel disconnected for good: give it `-1`.
   */
  readonly connection: NatsConnection
  /** The subject, without wildcards. Default `"cachefx.sync"`. */
  readonly subject?: string | undefined
}

/**
 * `layerConfig` could not open its connection to the server at its `url`.
 *
 * @example
 * ```ts
 * import { NatsSync } from "@cachefx/nats"
 *
 * const error = new NatsSync.NatsConnectError({ cause: new Error("CONNECTION_REFUSED") })
 * console.log(error.message)
 * ```
 *
 * @since 0.2.0
 * @category errors
 */
export class NatsConnectError extends Data.TaggedError("NatsConnectError")<{ readonly cause: unknown }> {
  override get message(): string {
    const cause = this.cause instanceof Error ? this.cause.message : String(this.cause)
    return `Cache sync could not connect to NATS (${cause}): check the url given to NatsSync.layerConfig and that the server is up; ` +
      "the channel needs its connection when its layer is built, and reconnects by itself afterwards"
  }
}

/**
 * Makes the channel on a connection: subscribes (waiting at most 2 seconds for the
 * subscription to be confirmed; until then the channel is disconnected) and
 * unsubscribes with the scope. Publishing waits for the server's answer to a flush, at
 * most the `operationTimeout` setting. A subject with wildcards or whitespace throws a
 * `CacheDefinitionError`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { connect } from "@nats-io/transport-node"
 * import { CacheKey, CacheStore } from "@cachefx/core"
 * import { NatsSync } from "@cachefx/nats"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const connection = yield* Effect.promise(() => connect({ servers: "127.0.0.1:4222", pingInterval: 1_000 }))
 *   const store = yield* CacheStore.makeTiered({
 *     l1: CacheStore.makeMemory({ capacity: 10_000 }),
 *     l2: yield* CacheStore.makeMemory(),
 *     sync: yield* NatsSync.make({ connection })
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
 * The channel on a connection of the application's, as a layer, e.g. for
 * `CacheStore.layerTiered`.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { connect } from "@nats-io/transport-node"
 * import { Redis } from "ioredis"
 * import { CacheKey, CacheStore } from "@cachefx/core"
 * import { NatsSync } from "@cachefx/nats"
 * import { RedisStore } from "@cachefx/redis"
 *
 * const connection = await connect({ servers: "127.0.0.1:4222", pingInterval: 1_000, maxReconnectAttempts: -1 })
 * const TwoTiers = CacheStore.layerTiered({
 *   l1: CacheStore.makeMemory({ capacity: 10_000 }),
 *   l2: RedisStore.make({ client: new Redis() })
 * }).pipe(Layer.provide(NatsSync.layer({ connection })))
 * ```
 *
 * @since 0.2.0
 * @category layers
 */
export const layer: CacheSync.ChannelLayer<Options> = CacheSync.channelLayer(make)

/**
 * Options of `layerConfig`, each read from `Config`: the server the channel connects to
 * (`url`: `nats://host:port` or `host:port`, with its credentials if any), and the
 * options of `make` but the connection.
 *
 * @example
 * ```ts
 * import { Redacted } from "effect"
 * import type { NatsSync } from "@cachefx/nats"
 *
 * const options: NatsSync.ConfigOptions = { url: Redacted.make("nats://127.0.0.1:4222"), subject: "app.cache" }
 * ```
 *
 * @since 0.3.0
 * @category models
 */
export interface ConfigOptions extends CacheSync.ConfigOptions<Options, "connection"> {}

/**
 * The channel on a connection of its own, its options read from `Config`
 * (`Config.Wrap`). The connection is opened when the layer is built (it fails with
 * `NatsConnectError` when the server cannot be reached), reconnects forever, pings
 * every second (a connection that hangs is noticed within 2 seconds), and is closed
 * with the layer's scope.
 *
 * @example
 * ```ts
 * import { Config, Layer } from "effect"
 * import { CacheKey, CacheStore } from "@cachefx/core"
 * import { NatsSync } from "@cachefx/nats"
 *
 * const TwoTiers = CacheStore.layerTiered({
 *   l1: CacheStore.makeMemory({ capacity: 10_000 }),
 *   l2: CacheStore.makeMemory()
 * }).pipe(Layer.provide(NatsSync.layerConfig({ url: Config.redacted("NATS_URL") })))
 * ```
 *
 * @since 0.2.0
 * @category layers
 */
export const layerConfig: CacheSync.ChannelLayerConfig<ConfigOptions, NatsConnectError> = CacheSync.channelLayerConfig<
  ConfigOptions,
  Options,
  NatsConnectError
>({
  make,
  connect: BrokerJob.connectAs("connection", (url) => Effect.mapError(internal.connect(url), (cause) => new NatsConnectError({ cause })))
})
