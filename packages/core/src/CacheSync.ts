/**
 * The channel that carries store invalidations between the instances of an
 * application, so that each instance's in-memory tier (`CacheStore.makeTiered`) drops
 * what another instance invalidated. A channel publishes messages, and each
 * subscription receives the messages of every instance together with the state of its
 * connection: a subscription that reports `Disconnected` may have lost messages, and
 * the tiers serve from their shared store only until it reports `Connected` again.
 *
 * Transports (Redis pub/sub in `@cachefx/redis`, or a bus of the application's own)
 * are built on a `Relay`; `layerMemory` is an in-process channel for tests.
 *
 * @since 0.2.0
 */
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Queue from "effect/Queue"
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
