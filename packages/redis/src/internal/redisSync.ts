import { CacheSync } from "@cachefx/core"
import * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { Redis } from "ioredis"
import type * as RedisSync from "../RedisSync.js"

/**
 * The subscriber connection, as a state machine that reports to the channel: connected
 * once `SUBSCRIBE` is acknowledged after each (re)connection, disconnected when the
 * connection closes or a `PING` is still unanswered at the next heartbeat (then the
 * connection is dropped, and ioredis reconnects it).
 */
class Subscriber implements CacheSync.Listener {
  private subscribed = false
  private pinging = false
  /** Settles on the first subscription, or the first failure to connect. */
  readonly ready: Promise<void>
  private settleFirst!: () => void
  readonly heartbeat: CacheSync.Listener["heartbeat"]

  constructor(
    private readonly connection: Redis,
    private readonly channel: string,
    private readonly receiver: CacheSync.Receiver,
    interval: Duration.DurationInput
  ) {
    this.ready = new Promise((resolve) => (this.settleFirst = resolve))
    this.heartbeat = { interval, tick: this.tick }
    connection.on("ready", this.subscribe)
    // the socket's end of stream comes a phase of the event loop before ioredis's "close"
    connection.on("connect", () => connection.stream.once("end", this.lost))
    connection.on("close", this.lost)
    connection.on("message", this.receive)
    connection.on("error", this.settleFirst)
  }

  /** One heartbeat: drops a connection whose last `PING` is unanswered, else pings it. */
  tick = (): void => {
    if (!this.subscribed) {
      return
    }
    if (this.pinging) {
      this.lost()
      this.connection.disconnect(true)
      return
    }
    this.pinging = true
    this.connection.ping().then(() => (this.pinging = false), () => {})
  }

  close(): void {
    this.connection.off("close", this.lost)
    this.connection.disconnect()
    this.lost()
  }

  private subscribe = (): void => {
    this.connection.subscribe(this.channel).then(() => {
      this.subscribed = true
      this.pinging = false
      this.receiver.connected()
      this.settleFirst()
    }, this.settleFirst)
  }

  private lost = (): void => {
    this.subscribed = false
    this.receiver.disconnected()
    this.settleFirst()
  }

  private receive = (channel: string, text: string): void => {
    if (channel !== this.channel) {
      return
    }
    if (!this.receiver.receive(text)) {
      // an invalidation this instance cannot read (another version of cachefx?): as if lost
      this.receiver.disconnected()
      this.receiver.connected()
    }
  }
}

/** @internal */
export const make = (options: RedisSync.Options): Effect.Effect<CacheSync.Service, never, Scope.Scope> => {
  const { client } = options
  const channel = options.channel ?? "cachefx:sync"
  return CacheSync.make({
    name: "Redis pub/sub",
    publish: (text) => client.publish(channel, text),
    listen: (receiver) =>
      new Subscriber(
        client.duplicate({
          connectionName: options.connectionName ?? "cachefx-sync",
          lazyConnect: false,
          autoResubscribe: false,
          enableOfflineQueue: false,
          maxRetriesPerRequest: 0
        }),
        channel,
        receiver,
        options.heartbeat ?? Duration.seconds(1)
      )
  })
}
