import { CacheError, CacheSync } from "@cachefx/core"
import { connect as connectNats, type Msg, type NatsConnection, type Status, type Subscription } from "@nats-io/transport-node"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type * as NatsSync from "../NatsSync.js"

/** How long `connect` waits for the server. */
const connectWait = Duration.seconds(2)

/** Dot-separated tokens, no whitespace, no wildcard: a subject one can both publish and subscribe to. */
const validSubject = /^[^\s.*>]+(\.[^\s.*>]+)*$/

/**
 * The channel's subscription, as a state machine that reports to the channel. The server
 * handles a connection's commands in order, so once a flush sent after the `SUB` is
 * answered, the subscription is in place: the channel is connected from then, after
 * each reconnection too (the client sends its `SUB`s again before it reports
 * `reconnect`). It is disconnected when the connection drops or closes, when a ping of
 * the client's is still unanswered at its next ping (and connected again when a flush
 * sent then is answered), and for a round trip after a message it cannot read.
 */
class Subscriber implements CacheSync.Listener {
  /** Bumped on every loss, so that a flush sent before it cannot report the channel connected. */
  private epoch = 0
  private closed = false
  private readonly subscription: Subscription
  readonly ready: Promise<void>

  constructor(
    private readonly connection: NatsConnection,
    subject: string,
    private readonly receiver: CacheSync.Receiver
  ) {
    this.subscription = connection.subscribe(subject, { callback: this.receive })
    void this.listen(connection.status())
    this.ready = this.confirm()
  }

  /** Reports the channel connected once a flush sent now is answered, unless it was lost in between. */
  confirm = (): Promise<void> => {
    const epoch = this.epoch
    return this.connection.flush().then(() => {
      if (epoch === this.epoch && !this.closed && !this.subscription.isClosed()) {
        this.receiver.connected()
      }
    }, () => {})
  }

  close(): void {
    this.closed = true
    this.lost()
    if (!this.connection.isClosed()) {
      this.subscription.unsubscribe()
    }
  }

  /**
   * Follows the connection's status. A status iterator cannot be stopped while it
   * waits, so after `close` it ends at the connection's next status (a ping at most
   * one ping interval later, or the close of the connection).
   */
  private async listen(statuses: AsyncIterable<Status>) {
    for await (const status of statuses) {
      if (this.closed) {
        return
      }
      switch (status.type) {
        case "disconnect":
        case "staleConnection":
        case "forceReconnect":
        case "close":
          this.lost()
          break
        case "reconnect":
          void this.confirm()
          break
        case "ping":
          if (status.pendingPings > 1) {
            this.retry()
          }
      }
    }
  }

  private lost(): void {
    this.epoch++
    this.receiver.disconnected()
  }

  /** Disconnected now, connected again once a flush round trip proves the connection answers. */
  private retry(): void {
    this.lost()
    void this.confirm()
  }

  private receive = (error: Error | null, msg: Msg): void => {
    if (error !== null) {
      // e.g. a permissions violation: the server refused the subscription for good
      this.receiver.warn(`cachefx sync over NATS lost its subscription (${error.message}); the tiers serve from L2 only`)
      this.lost()
      return
    }
    if (!this.receiver.receive(msg.string())) {
      // an invalidation this instance cannot read (another version of cachefx?): as if lost
      this.receiver.warn(
        `cachefx sync over NATS received a message it cannot read on ${msg.subject} ` +
          "(does another version of cachefx publish there?); L1 is cleared"
      )
      this.retry()
    }
  }
}

/** @internal */
export const make = (options: NatsSync.Options): Effect.Effect<CacheSync.Service, never, Scope.Scope> => {
  const subject = options.subject ?? "cachefx.sync"
  if (!validSubject.test(subject)) {
    throw new CacheError.CacheDefinitionError({
      subject: "NatsSync subject",
      reason: `${JSON.stringify(subject)} is not a NATS subject without wildcards (tokens separated by ".")`
    })
  }
  const { connection } = options
  return CacheSync.make({
    name: "NATS",
    // the flush's answer proves the server has routed the message to every subscription
    publish: (text) => {
      connection.publish(subject, text)
      return connection.flush()
    },
    listen: (receiver) => new Subscriber(connection, subject, receiver)
  })
}

/**
 * Opens the channel's own connection: it reconnects forever and pings every second (a
 * connection that hangs is noticed within 2 seconds). Fails with the client's error when
 * the server cannot be reached; closed with the scope.
 *
 * @internal
 */
export const connect = (url: string): Effect.Effect<NatsConnection, unknown, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: () =>
        connectNats({
          servers: url,
          name: "cachefx-sync",
          maxReconnectAttempts: -1,
          pingInterval: 1_000,
          timeout: Duration.toMillis(connectWait)
        }),
      catch: (cause) => cause
    }),
    (connection) => Effect.promise(() => connection.close())
  )
