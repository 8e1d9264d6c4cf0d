import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import type * as CacheSync from "../CacheSync.js"

const connected: CacheSync.Event = { _tag: "Connected" }
const disconnected: CacheSync.Event = { _tag: "Disconnected" }

/** Fans a transport's messages and state changes out to every subscription, in order. */
class Relay implements CacheSync.Relay {
  private readonly subscriptions = new Set<Queue.Queue<CacheSync.Event>>()
  private isConnected = false

  constructor(readonly publish: (message: CacheSync.Message) => Effect.Effect<void, CacheSync.CacheSyncError>) {}

  readonly subscribe: Effect.Effect<Queue.Dequeue<CacheSync.Event>, never, Scope.Scope> = Effect.acquireRelease(
    Effect.map(Queue.unbounded<CacheSync.Event>(), (queue) => {
      queue.unsafeOffer(this.isConnected ? connected : disconnected)
      this.subscriptions.add(queue)
      return queue
    }),
    (queue) => Effect.suspend(() => (this.subscriptions.delete(queue), Queue.shutdown(queue)))
  )

  unsafeReceive = (message: CacheSync.Message): void => {
    if (this.isConnected) {
      this.emit({ _tag: "Received", message })
    }
  }

  unsafeConnected = (): void => {
    this.isConnected = true
    this.emit(connected)
  }

  unsafeDisconnected = (): void => {
    if (this.isConnected) {
      this.isConnected = false
      this.emit(disconnected)
    }
  }

  private emit(event: CacheSync.Event): void {
    for (const queue of this.subscriptions) {
      queue.unsafeOffer(event)
    }
  }
}

/** @internal */
export const makeRelay = (
  options: { readonly publish: (message: CacheSync.Message) => Effect.Effect<void, CacheSync.CacheSyncError> }
): Effect.Effect<CacheSync.Relay> => Effect.sync(() => new Relay(options.publish))

/** @internal */
export const makeMemory: Effect.Effect<CacheSync.Memory> = Effect.sync(() => {
  const relay: Relay = new Relay((message) => Effect.sync(() => relay.unsafeReceive(message)))
  relay.unsafeConnected()
  return {
    publish: relay.publish,
    subscribe: relay.subscribe,
    disconnect: Effect.sync(relay.unsafeDisconnected),
    reconnect: Effect.sync(relay.unsafeConnected)
  }
})
