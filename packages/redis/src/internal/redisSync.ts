import { CacheSettings, CacheSync } from "@cachefx/core"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type { Redis } from "ioredis"
import type * as RedisSync from "../RedisSync.js"

const Wire = Schema.parseJson(CacheSync.Message)
const encode = Schema.encodeSync(Wire)
const decode = Schema.decodeUnknownEither(Wire)

/** How long `make` waits for the first subscription before it starts anyway (disconnected). */
const connectWait = Duration.seconds(2)

/**
 * The subscriber connection, as a state machine that reports to the relay: connected
 * once `SUBSCRIBE` is acknowledged after each (re)connection, disconnected when the
 * connection closes or a `PING` is still unanswered at the next heartbeat (then the
 * connection is dropped, and ioredis reconnects it).
 */
class Subscriber {
  private subscribed = false
  private pinging = false
  /** Settles on the first subscription, or the first failure to connect. */
  readonly first: Promise<void>
  private settleFirst!: () => void

  constructor(
    private readonly connection: Redis,
    private readonly channel: string,
    private readonly relay: CacheSync.Relay
  ) {
    this.first = new Promise((resolve) => (this.settleFirst = resolve))
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
      this.relay.unsafeConnected()
      this.settleFirst()
    }, this.settleFirst)
  }

  private lost = (): void => {
    this.subscribed = false
    this.relay.unsafeDisconnected()
    this.settleFirst()
  }

  private receive = (channel: string, text: string): void => {
    if (channel !== this.channel) {
      return
    }
    const message = decode(text)
    if (Either.isRight(message)) {
      this.relay.unsafeReceive(message.right)
    } else {
      // an invalidation this instance cannot read (another version of cachefx?): as if lost
      this.relay.unsafeDisconnected()
      this.relay.unsafeConnected()
    }
  }
}

/** @internal */
export const make = (options: RedisSync.Options): Effect.Effect<CacheSync.Service, never, Scope.Scope> =>
  Effect.gen(function*() {
    const { client } = options
    const channel = options.channel ?? "cachefx:sync"
    const settings = yield* CacheSettings.CacheSettings
    const relay = yield* CacheSync.makeRelay({
      publish: (message) =>
        Effect.tryPromise({
          try: () => client.publish(channel, encode(message)),
          catch: (cause) => new CacheSync.CacheSyncError({ transport: "Redis pub/sub", cause })
        }).pipe(
          Effect.timeoutFail({
            duration: settings.operationTimeout,
            onTimeout: () => new CacheSync.CacheSyncError({ transport: "Redis pub/sub", cause: "operationTimeout passed" })
          }),
          Effect.asVoid
        )
    })
    const subscriber = yield* Effect.acquireRelease(
      Effect.sync(() =>
        new Subscriber(
          client.duplicate({
            connectionName: options.connectionName ?? "cachefx-sync",
            lazyConnect: false,
            autoResubscribe: false,
            enableOfflineQueue: false,
            maxRetriesPerRequest: 0
          }),
          channel,
          relay
        )
      ),
      (subscriber) => Effect.sync(() => subscriber.close())
    )
    yield* Effect.promise(() => subscriber.first).pipe(Effect.timeout(connectWait), Effect.ignore)
    yield* Effect.forkScoped(
      Effect.repeat(Effect.sync(subscriber.tick), Schedule.spaced(options.heartbeat ?? Duration.seconds(1)))
    )
    return { publish: relay.publish, subscribe: relay.subscribe }
  })
