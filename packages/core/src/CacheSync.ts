/**
 * The channel that carries store invalidations between the instances of an
 * application, so that each instance's in-memory tier (`CacheStore.makeTiered`) drops
 * what another instance invalidated. A channel publishes messages, and each
 * subscription receives the messages of every instance together with the state of its
 * connection: a subscription that reports `Disconnected` may have lost messages, and
 * the tiers serve from their shared store only until it reports `Connected` again.
 *
 * A transport (Redis pub/sub in `@cachefx/redis`, NATS in `@cachefx/nats`, or a bus of
 * the application's own) supplies how it publishes and listens (`Transport`), and
 * `make` builds the channel over it (on a `Relay`); `layerMemory` is an in-process
 * channel for tests.
 *
 * @since 0.2.0
 */
import type * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Queue from "effect/Queue"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as internal from "./internal/cacheSync.js"

/**
 * An invalidation, as it crosses the wire: one exact key, one partition or one
 * namespace (every version), and the id of the instance that made it (`origin`), so
 * that an instance skips its own messages.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { CacheSync } from "@cachefx/core"
 *
 * const wire = JSON.stringify(Schema.encodeSync(CacheSync.Message)({
 *   _tag: "Partition",
 *   origin: "instance-a",
 *   namespace: "cachefx:users",
 *   partition: "cachefx:users:1:#42"
 * }))
 * ```
 *
 * @since 0.2.0
 * @category models
 */
export const Message = Schema.Union(
  Schema.TaggedStruct("Key", {
    origin: Schema.String,
    namespace: Schema.String,
    partition: Schema.String,
    key: Schema.String
  }),
  Schema.TaggedStruct("Partition", { origin: Schema.String, namespace: Schema.String, partition: Schema.String }),
  Schema.TaggedStruct("Namespace", { origin: Schema.String, namespace: Schema.String })
)

/**
 * @example
 * ```ts
 * import type { CacheSync } from "@cachefx/core"
 *
 * const message: CacheSync.Message = { _tag: "Namespace", origin: "instance-a", namespace: "cachefx:users" }
 * ```
 *
 * @since 0.2.0
 * @category models
 */
export type Message = Schema.Schema.Type<typeof Message>

/**
 * What a subscription delivers, in the order it happened: a message, or a change of
 * the connection. After `Disconnected`, messages may have been lost until the next
 * `Connected`.
 *
 * @example
 * ```ts
 * import type { CacheSync } from "@cachefx/core"
 *
 * const describe = (event: CacheSync.Event): string =>
 *   event._tag === "Received" ? `${event.message._tag} from ${event.message.origin}` : event._tag
 * ```
 *
 * @since 0.2.0
 * @category models
 */
export type Event =
  | { readonly _tag: "Received"; readonly message: Message }
  | { readonly _tag: "Connected" }
  | { readonly _tag: "Disconnected" }

/**
 * A transport could not publish a message: the instances that did not receive it may
 * serve what it invalidated until their own tiers expire it.
 *
 * @example
 * ```ts
 * import { CacheSync } from "@cachefx/core"
 *
 * const error = new CacheSync.CacheSyncError({ transport: "redis", cause: new Error("Connection is closed.") })
 * console.log(error.message)
 * ```
 *
 * @since 0.2.0
 * @category errors
 */
export class CacheSyncError extends Data.TaggedError("CacheSyncError")<{
  readonly transport: string
  readonly cause: unknown
}> {
  override get message(): string {
    const cause = this.cause instanceof Error ? this.cause.message : String(this.cause)
    return `Cache sync over ${this.transport} could not publish an invalidation (${cause}); ` +
      "the write is done in the shared store, retry it so that other instances drop their copies"
  }
}

/**
 * @example
 * ```ts
 * import { Effect, Queue } from "effect"
 * import { CacheSync } from "@cachefx/core"
 *
 * const firstEvent = Effect.scoped(
 *   Effect.flatMap(CacheSync.CacheSync, (sync) => Effect.flatMap(sync.subscribe, Queue.take))
 * )
 * ```
 *
 * @since 0.2.0
 * @category models
 */
export interface Service {
  /** Sends a message to every subscription, this instance's own included. */
  readonly publish: (message: Message) => Effect.Effect<void, CacheSyncError>
  /**
   * A subscription for the life of the scope. Its first event is the state of the
   * connection when it starts (`Connected` or `Disconnected`).
   */
  readonly subscribe: Effect.Effect<Queue.Dequeue<Event>, never, Scope.Scope>
}

/**
 * The channel service.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { CacheSync } from "@cachefx/core"
 *
 * const announce = Effect.flatMap(CacheSync.CacheSync, (sync) =>
 *   sync.publish({ _tag: "Namespace", origin: "instance-a", namespace: "cachefx:users" }))
 * ```
 *
 * @since 0.2.0
 * @category tags
 */
export class CacheSync extends Context.Tag("@cachefx/core/CacheSync")<CacheSync, Service>() {}

/**
 * What a transport drives: it gives the relay each message it receives and every
 * change of its subscription's state, from its own callbacks, and the relay hands them
 * to every subscription in order. A transport reports `unsafeConnected` only once its
 * subscription is in place (messages published from then on reach it), and
 * `unsafeDisconnected` as soon as it may miss one.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { CacheSync } from "@cachefx/core"
 * import { EventEmitter } from "node:events"
 *
 * // a bus of the application's own, here an in-process emitter
 * const bus = new EventEmitter()
 * const channel = Effect.map(
 *   CacheSync.makeRelay({ publish: (message) => Effect.sync(() => void bus.emit("message", message)) }),
 *   (relay) => {
 *     bus.on("message", (message: CacheSync.Message) => relay.unsafeReceive(message))
 *     relay.unsafeConnected()
 *     return relay
 *   }
 * )
 * ```
 *
 * @since 0.2.0
 * @category models
 */
export interface Relay extends Service {
  /** Hands a received message to every subscription. */
  readonly unsafeReceive: (message: Message) => void
  /** The transport's subscription is in place: messages published from now on arrive. */
  readonly unsafeConnected: () => void
  /** The transport may have missed messages (its connection dropped or stopped answering). */
  readonly unsafeDisconnected: () => void
}

/**
 * Makes a relay over a transport's `publish`. It starts disconnected.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { CacheSync } from "@cachefx/core"
 *
 * const relay = CacheSync.makeRelay({ publish: () => Effect.void })
 * ```
 *
 * @since 0.2.0
 * @category constructors
 */
export const makeRelay: (
  options: { readonly publish: (message: Message) => Effect.Effect<void, CacheSyncError> }
) => Effect.Effect<Relay> = internal.makeRelay

/**
 * What `make` hands a transport's listener: the text of each message it receives, and
 * every change of its subscription's state (see `Relay`), from the transport's own
 * callbacks.
 *
 * @example
 * ```ts
 * import type { CacheSync } from "@cachefx/core"
 *
 * // a message this instance cannot read (another version of cachefx?): as if one was lost
 * const onText = (receiver: CacheSync.Receiver, text: string) => {
 *   if (!receiver.receive(text)) {
 *     receiver.disconnected()
 *     receiver.connected()
 *   }
 * }
 * ```
 *
 * @since 0.3.0
 * @category models
 */
export interface Receiver {
  /** Hands the message a text encodes to every subscription; false, handing nothing, when it does not decode. */
  readonly receive: (text: string) => boolean
  /** The subscription is in place: messages published from now on arrive. */
  readonly connected: () => void
  /** The transport may have missed messages (its connection dropped or stopped answering). */
  readonly disconnected: () => void
  /** Logs a warning. */
  readonly warn: (message: string) => void
}

/**
 * A transport's subscription, as `Transport.listen` starts it: `ready` settles once the
 * first subscription is in place (or failed: `make` waits for it at most 2 seconds, and
 * the channel is disconnected until the transport reports it connected); `heartbeat`,
 * for a transport whose client does not watch its connection, is run every `interval`
 * for the life of the channel; `close` stops listening when the channel's scope closes.
 *
 * @example
 * ```ts
 * import type { CacheSync } from "@cachefx/core"
 *
 * const listener: CacheSync.Listener = {
 *   ready: Promise.resolve(),
 *   heartbeat: { interval: "1 second", tick: () => console.log("ping") },
 *   close: () => {}
 * }
 * ```
 *
 * @since 0.3.0
 * @category models
 */
export interface Listener {
  readonly ready: Promise<void>
  readonly heartbeat?: { readonly interval: Duration.DurationInput; readonly tick: () => void } | undefined
  readonly close: () => void
}

/**
 * A pub/sub transport a channel runs on (`make`): its name, as errors name it; how it
 * publishes a message's text to every instance (the promise settles once the transport
 * has taken it); and how it starts listening, reporting to a `Receiver`.
 *
 * @example
 * ```ts
 * import type { CacheSync } from "@cachefx/core"
 * import { EventEmitter } from "node:events"
 *
 * // a bus of the application's own, here an in-process emitter
 * const bus = new EventEmitter()
 * const transport: CacheSync.Transport = {
 *   name: "emitter",
 *   publish: async (text) => bus.emit("message", text),
 *   listen: (receiver) => {
 *     const onText = (text: string) => receiver.receive(text)
 *     bus.on("message", onText)
 *     receiver.connected()
 *     return { ready: Promise.resolve(), close: () => bus.off("message", onText) }
 *   }
 * }
 * ```
 *
 * @since 0.3.0
 * @category models
 */
export interface Transport {
  readonly name: string
  readonly publish: (text: string) => Promise<unknown>
  readonly listen: (receiver: Receiver) => Listener
}

/**
 * The channel over a transport, in a scope: messages cross it as JSON; publishing waits
 * at most the `operationTimeout` setting, and fails with a `CacheSyncError` naming the
 * transport; the transport listens from the start (waited for at most 2 seconds) until
 * the scope closes. Every transport package (`RedisSync`, `NatsSync`) is this over its
 * client.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { CacheSync } from "@cachefx/core"
 * import { EventEmitter } from "node:events"
 *
 * const bus = new EventEmitter()
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const sync = yield* CacheSync.make({
 *     name: "emitter",
 *     publish: async (text) => bus.emit("message", text),
 *     listen: (receiver) => {
 *       bus.on("message", receiver.receive)
 *       receiver.connected()
 *       return { ready: Promise.resolve(), close: () => bus.off("message", receiver.receive) }
 *     }
 *   })
 *   yield* sync.publish({ _tag: "Namespace", origin: "instance-a", namespace: "cachefx:users" })
 * }))
 * ```
 *
 * @since 0.3.0
 * @category constructors
 */
export const make: (transport: Transport) => Effect.Effect<Service, never, Scope.Scope> = internal.make

/**
 * The `make` of every transport package: the channel over its client, in a scope.
 *
 * @example
 * ```ts
 * import type { CacheSync } from "@cachefx/core"
 *
 * declare const make: CacheSync.MakeChannel<{ readonly channel: string }>
 * const channel = make({ channel: "app:sync" })
 * ```
 *
 * @since 0.3.0
 * @category constructors
 */
export interface MakeChannel<Options> {
  (options: Options): Effect.Effect<Service, never, Scope.Scope>
}

/**
 * The `layer` of every transport package: the channel of its `make` as a layer, e.g. for
 * `CacheStore.layerTiered`.
 *
 * @example
 * ```ts
 * import type { Layer } from "effect"
 * import type { CacheSync } from "@cachefx/core"
 *
 * declare const layer: CacheSync.ChannelLayer<{ readonly channel: string }>
 * const SyncLive: Layer.Layer<CacheSync.CacheSync> = layer({ channel: "app:sync" })
 * ```
 *
 * @since 0.3.0
 * @category layers
 */
export interface ChannelLayer<Options> {
  (options: Options): Layer.Layer<CacheSync>
}

/**
 * A transport package's `layer`, from its `make`.
 *
 * @example
 * ```ts
 * import { CacheSync } from "@cachefx/core"
 *
 * declare const make: CacheSync.MakeChannel<{ readonly channel: string }>
 * const layer = CacheSync.channelLayer(make)
 * const SyncLive = layer({ channel: "app:sync" })
 * ```
 *
 * @since 0.3.0
 * @category layers
 */
export const channelLayer = <Options>(make: MakeChannel<Options>): ChannelLayer<Options> => (options) =>
  Layer.scoped(CacheSync, make(options))

/**
 * The options of every transport package's `layerConfig`: those of `make` but its client
 * (`Client`), and the `url` of the server (with its credentials, hence redacted), to
 * which the layer opens a client of its own and closes it with its scope.
 *
 * @example
 * ```ts
 * import { Redacted } from "effect"
 * import type { CacheSync } from "@cachefx/core"
 *
 * interface Options { readonly client: unknown; readonly channel?: string | undefined }
 * const options: CacheSync.ConfigOptions<Options, "client"> = { url: Redacted.make("redis://127.0.0.1:6379"), channel: "app:sync" }
 * ```
 *
 * @since 0.3.0
 * @category models
 */
export type ConfigOptions<Options, Client extends keyof Options> = Omit<Options, Client> & {
  readonly url: Redacted.Redacted
}

/**
 * The `layerConfig` of every transport package: the options of its `make` read from
 * `Config` (`Config.Wrap`), with the `url` of the server in place of a client, which the
 * layer opens when it is built and closes with its scope.
 *
 * @example
 * ```ts
 * import { Config } from "effect"
 * import type { Redacted } from "effect"
 * import type { CacheSync } from "@cachefx/core"
 *
 * declare const layerConfig: CacheSync.ChannelLayerConfig<{ readonly url: Redacted.Redacted }>
 * const SyncLive = layerConfig({ url: Config.redacted("SYNC_URL") })
 * ```
 *
 * @since 0.3.0
 * @category layers
 */
export interface ChannelLayerConfig<ConfigOptions, E = never> {
  (options: Config.Config.Wrap<ConfigOptions>): Layer.Layer<CacheSync, E | ConfigError.ConfigError>
}

/**
 * A transport package's `layerConfig`, from its `make` and how it connects: `connect`
 * opens a client to the `url` read (closed with the layer's scope) and gives the options
 * of `make` with it.
 *
 * @example
 * ```ts
 * import { Config, Effect, Redacted } from "effect"
 * import { CacheSync } from "@cachefx/core"
 *
 * interface Options { readonly client: { readonly url: string }; readonly channel?: string | undefined }
 * declare const make: CacheSync.MakeChannel<Options>
 *
 * const layerConfig = CacheSync.channelLayerConfig<CacheSync.ConfigOptions<Options, "client">, Options>({
 *   make,
 *   connect: (url, options) => Effect.succeed({ ...options, client: { url: Redacted.value(url) } })
 * })
 * const SyncLive = layerConfig({ url: Config.redacted("SYNC_URL") })
 * ```
 *
 * @since 0.3.0
 * @category layers
 */
export const channelLayerConfig = <C extends { readonly url: Redacted.Redacted }, Options, E = never>(from: {
  readonly make: MakeChannel<Options>
  readonly connect: (url: Redacted.Redacted, options: Omit<C, "url">) => Effect.Effect<Options, E, Scope.Scope>
}): ChannelLayerConfig<C, E> =>
(options) => Layer.scoped(CacheSync, internal.channelLayerConfig(options, from))

/**
 * An in-process channel, shared by every store that uses it, whose connection can be
 * cut: while it is disconnected, published messages reach nobody.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { CacheSync } from "@cachefx/core"
 *
 * const program = Effect.gen(function*() {
 *   const sync = yield* CacheSync.makeMemory
 *   yield* sync.disconnect
 *   yield* sync.reconnect
 * })
 * ```
 *
 * @since 0.2.0
 * @category models
 */
export interface Memory extends Service {
  /** Cuts the connection: every subscription receives `Disconnected`, and messages are lost until `reconnect`. */
  readonly disconnect: Effect.Effect<void>
  /** Restores it: every subscription receives `Connected`. */
  readonly reconnect: Effect.Effect<void>
}

/**
 * Makes an in-process channel, connected.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { CacheStore, CacheSync } from "@cachefx/core"
 *
 * // two instances in one process, as in tests
 * const program = Effect.gen(function*() {
 *   const sync = yield* CacheSync.makeMemory
 *   const shared = yield* CacheStore.makeMemory()
 *   const a = yield* CacheStore.makeTiered({ l1: CacheStore.makeMemory({ capacity: 100 }), l2: shared, sync })
 *   const b = yield* CacheStore.makeTiered({ l1: CacheStore.makeMemory({ capacity: 100 }), l2: shared, sync })
 *   return [a, b] as const
 * })
 * ```
 *
 * @since 0.2.0
 * @category constructors
 */
export const makeMemory: Effect.Effect<Memory> = internal.makeMemory

/**
 * The in-process channel as a layer.
 *
 * @example
 * ```ts
 * import { CacheSync } from "@cachefx/core"
 *
 * const SyncLive = CacheSync.layerMemory
 * ```
 *
 * @since 0.2.0
 * @category layers
 */
export const layerMemory: Layer.Layer<CacheSync> = Layer.effect(CacheSync, makeMemory)
