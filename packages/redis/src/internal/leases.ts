import type { CacheKey, CacheStore } from "@cachefx/core"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import type { Cluster, Redis } from "ioredis"
import { attempt, type Bounds } from "./attempt.js"
import { fresh } from "./ids.js"
import * as keys from "./keys.js"
import * as scripts from "./scripts.js"

/** Most releases kept for the client's return (`Leases.later`). */
const unsentBound = 10_000

/**
 * The channel on which releases are published (by the release script and by a fill
 * that gives its read's lease back): the message is the lease's Redis key.
 *
 * @internal
 */
export const channel = "cachefx:#!leases"

/**
 * A lease's duration as the `PX` of its `SET`: whole milliseconds, at least 1.
 *
 * @internal
 */
export const millis = (duration: Duration.Duration): number => Math.max(1, Math.ceil(Duration.toMillis(duration)))

/**
 * The store's one subscriber connection, a duplicate of its client, opened on the first
 * wait: it wakes the waiters of a lease when its release is published. Messages lost
 * while it is down (or before it is subscribed) are made up for by the waiters' poll.
 */
class Subscriber {
  private connection: Redis | Cluster | undefined = undefined
  private subscribed: Promise<void> = Promise.resolve()
  private closed = false
  private readonly waiters = new Map<string, Set<() => void>>()

  constructor(private readonly client: Redis | Cluster) {}

  /** Calls `wake` when the lease named `name` is released; gives when the subscription is active. */
  listen(name: string, wake: () => void): Promise<void> {
    let waiting = this.waiters.get(name)
    if (waiting === undefined) {
      waiting = new Set()
      this.waiters.set(name, waiting)
    }
    waiting.add(wake)
    if (this.connection === undefined && !this.closed) {
      this.open()
    }
    return this.subscribed
  }

  forget(name: string, wake: () => void): void {
    const waiting = this.waiters.get(name)
    if (waiting !== undefined && waiting.delete(wake) && waiting.size === 0) {
      this.waiters.delete(name)
    }
  }

  close(): void {
    this.closed = true
    this.connection?.disconnect()
  }

  private open(): void {
    const connection = this.client.isCluster
      ? (this.client as Cluster).duplicate(undefined, { lazyConnect: false })
      : (this.client as Redis).duplicate({ lazyConnect: false })
    this.connection = connection
    // Failures show as waits that end by the poll; the event would only be printed.
    connection.on("error", () => {})
    connection.on("message", (_: string, name: string) => {
      const waiting = this.waiters.get(name)
      if (waiting !== undefined) {
        this.waiters.delete(name)
        waiting.forEach((wake) => wake())
      }
    })
    // Subscribed once ready, whatever the client's offline queue; ioredis subscribes
    // again by itself after a reconnection. A refused subscription leaves the poll.
    this.subscribed = new Promise((resolve) => {
      connection.once("ready", () => {
        connection.subscribe(channel).then(() => resolve(), () => resolve())
      })
    })
  }
}

/**
 * The leases of a Redis store: `SET NX PX` on a key in the entry's slot (a key there
 * without expiry is taken over), released by a script that deletes it only while the
 * token holds it and publishes the release. Waiters are woken by the store's
 * subscriber, or find the lease gone (released, expired because its holder died, or
 * without expiry: not a lease) by polling it every `poll` milliseconds.
 *
 * @internal
 */
export class Leases implements CacheStore.Leases {
  private readonly scripts: ReturnType<typeof scripts.registerLeases>
  /** What the client's `keyPrefix` makes of a key: the name a release is published under. */
  private readonly prefix: string
  /** Releases that could not be sent, by lease key: sent once the client is ready again. */
  private readonly unsent = new Map<string, string>()

  constructor(
    private readonly client: Redis | Cluster,
    private readonly bounds: Bounds,
    private readonly subscriber: Subscriber,
    private readonly poll: Duration.Duration
  ) {
    this.scripts = scripts.registerLeases(client)
    this.prefix = client.options.keyPrefix ?? ""
  }

  acquire = (key: CacheKey.CacheKey, duration: Duration.Duration) =>
    Effect.suspend(() => {
      const token = fresh()
      const lease = keys.lease(key)
      return Effect.map(
        attempt("acquireLease", this.bounds, (call) => {
          call.undo = () => this.abandon(lease, token)
          return this.scripts.acquire(lease, token, millis(duration))
        }),
        (taken) => taken === 1 ? Option.some(token as CacheStore.LeaseToken) : Option.none()
      )
    })

  /** A release that cannot reach Redis (the connection is down) goes again once the client is ready. */
  release = (key: CacheKey.CacheKey, token: CacheStore.LeaseToken) =>
    Effect.suspend(() => {
      const lease = keys.lease(key)
      return Effect.asVoid(attempt("releaseLease", this.bounds, (call) => {
        call.undo = () => this.later(lease, token)
        return this.scripts.release(lease, token, channel)
      }))
    })

  /**
   * Gives back in the background a lease that a call which failed or timed out may
   * have taken (`lease`: its Redis key): sent on the same connection, the release runs
   * after that call, and deletes the lease only if the call took it. When it cannot be
   * sent (the connection is down), it goes once the client is ready again.
   */
  abandon(lease: string, token: string): void {
    this.scripts.release(lease, token, channel).catch(() => this.later(lease, token))
  }

  /**
   * Keeps a release to send once the client is ready again (at most `unsentBound`; past
   * it the lease is left to expire), so that a holder cut off by an outage does not
   * leave its lease to the other instances' waits after the restart (a Redis with
   * append-only persistence keeps it).
   */
  private later(lease: string, token: string): void {
    if (this.unsent.size >= unsentBound) {
      return
    }
    if (this.unsent.size === 0) {
      this.client.once("ready", () => {
        const unsent = [...this.unsent]
        this.unsent.clear()
        for (const [key, held] of unsent) {
          this.scripts.release(key, held, channel).catch(() => undefined)
        }
      })
    }
    this.unsent.set(lease, token)
  }

  awaitRelease = (key: CacheKey.CacheKey, timeout: Duration.Duration) => {
    const lease = keys.lease(key)
    const name = this.prefix + lease
    // gone: absent (-2), or without expiry (-1: not a lease, the next read takes it over)
    const gone = attempt("awaitRelease", this.bounds, () => this.client.pttl(lease)).pipe(
      Effect.repeat({ schedule: Schedule.spaced(this.poll), until: (ttl) => ttl < 0 })
    )
    return Effect.acquireUseRelease(
      Effect.sync(() => {
        const woken = Deferred.unsafeMake<void>(FiberId.none)
        const wake = () => Deferred.unsafeDone(woken, Exit.void)
        return { woken, wake, subscribed: this.subscriber.listen(name, wake) }
      }),
      ({ subscribed, woken }) =>
        Effect.raceFirst(
          Deferred.await(woken),
          // polled from the start once subscribed (a release before that is seen by the poll)
          Effect.zipRight(Effect.timeoutOption(Effect.promise(() => subscribed), this.poll), gone)
        ).pipe(Effect.timeoutOption(timeout), Effect.asVoid),
      ({ wake }) => Effect.sync(() => this.subscriber.forget(name, wake))
    )
  }
}

/**
 * The leases of a store over `client`; the subscriber connection, when opened, is closed
 * with the scope.
 *
 * @internal
 */
export const make = (
  client: Redis | Cluster,
  bounds: Bounds,
  poll: Duration.Duration
): Effect.Effect<Leases, never, Scope.Scope> =>
  Effect.map(
    Effect.acquireRelease(Effect.sync(() => new Subscriber(client)), (subscriber) => Effect.sync(() => subscriber.close())),
    (subscriber) => new Leases(client, bounds, subscriber, poll)
  )
