import { Invalidation, InvalidationBus, type InvalidationEvent } from "@cachefx/core"
import { randomUUID } from "node:crypto"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"
import type { Maybe } from "./maybe.js"
import type { Outbox } from "./outbox.js"

/**
 * Where the events of an instrumented database go: the bus of the runtime captured
 * when it was instrumented, and its outbox when it has one.
 *
 * @internal
 */
export interface Destination {
  readonly runtime: Runtime.Runtime<InvalidationBus.InvalidationBus>
  readonly bus: InvalidationBus.Service
  /** When set, events are written to this outbox in the transaction of their write, and deleted once applied. */
  readonly outbox: Outbox | undefined
}

/** @internal */
export const make = (runtime: Runtime.Runtime<InvalidationBus.InvalidationBus>, outbox: Outbox | undefined): Destination => ({
  runtime,
  bus: Context.get(runtime.context, InvalidationBus.InvalidationBus),
  outbox
})

/**
 * The events of one transaction or savepoint, kept until it commits: a savepoint hands
 * them to its parent, the outermost transaction publishes them.
 *
 * @internal
 */
export interface Transaction {
  readonly id: string
  readonly events: Array<InvalidationEvent.InvalidationEvent>
}

/**
 * The buffer of a transaction opened inside `parent`, or of an outermost one; a
 * savepoint carries the id of its outermost transaction.
 *
 * @internal
 */
export const begin = (parent: Transaction | undefined): Transaction => ({ id: parent?.id ?? randomUUID(), events: [] })

const notPublished = (cause: Cause.Cause<unknown>) =>
  Effect.logWarning("cachefx: events of a committed write were not published", cause)

const leftForRelay = Effect.logWarning(
  "cachefx: an invalidation job of a committed write was not applied; its outbox row stays for the relay"
)

/** Publishes tracked events, then runs `remove` once all their jobs are applied: in the call when they ran in it. */
const publishThenRemove = (events: ReadonlyArray<InvalidationEvent.InvalidationEvent>, remove: () => Maybe<void>) =>
  Effect.flatMap(Effect.forEach(events, Invalidation.publishTracked), (receipts) => {
    const removeIf = (applied: boolean) => applied ? Effect.promise(async () => remove()) : leftForRelay
    return Effect.flatMap(
      Effect.forEach(receipts, (receipt) => receipt.poll),
      (polled) =>
        polled.every(Option.isSome)
          ? removeIf(polled.every((outcome) => outcome.value))
          : Effect.asVoid(Effect.forkDaemon(
            Effect.flatMap(Effect.forEach(receipts, (receipt) => receipt.applied), (outcomes) =>
              removeIf(outcomes.every((applied) => applied))).pipe(Effect.catchAllCause(notPublished))
          ))
    )
  })

/**
 * Publishes the events of a committed write on the destination's bus, then, with an
 * outbox, deletes from `db` the rows `persisted` names once every job of the events has
 * been applied: at once when they all ran in the call (`inline`), else in a fiber of its
 * own when the last one has run (`pool`, `background`). A job that ran out of retries
 * leaves its row for the relay. A bus that stopped (the application is shutting down) or
 * a failed delete must not turn the committed write into a failed call: they are logged.
 *
 * The effect runs at once in the caller's call: with the inline dispatcher on a
 * synchronous store, the invalidation is done when it returns, and the write goes on
 * without a promise of its own. A step that has to wait (a remote store, a broker) is
 * awaited, unless the driver is synchronous (`sync`): its call cannot wait, so the
 * engine finishes the work after it returns.
 */
const publish = (
  destination: Destination,
  db: unknown,
  events: ReadonlyArray<InvalidationEvent.InvalidationEvent>,
  sync: boolean,
  persisted: unknown
): Maybe<void> => {
  const { bus, outbox, runtime } = destination
  const published = outbox !== undefined
    ? publishThenRemove(events, () => outbox.remove(db, persisted))
    : events.length === 1
    ? bus.publish(events[0]!)
    : Effect.forEach(events, bus.publish, { discard: true })
  const exit = Runtime.runSyncExit(runtime)(Effect.catchAllCause(published, notPublished))
  if (sync || Exit.isSuccess(exit)) {
    return undefined
  }
  // still running: `runSyncExit` gives the fiber that went on asynchronously
  const waiting = Option.filter(Cause.dieOption(exit.cause), Runtime.isAsyncFiberException)
  return Option.isSome(waiting)
    ? Runtime.runPromise(runtime)(Effect.asVoid(Fiber.await(waiting.value.fiber)))
    : undefined
}

/**
 * Where a write's events go: its database and the destination that database was
 * instrumented with, and the transaction it runs in.
 *
 * @internal
 */
export interface Route {
  /** The database or transaction the write runs on: outside a transaction, the outbox deletes its rows there. */
  readonly source: unknown
  readonly destination: Destination
  /** The enclosing transaction, whose buffer keeps the events until it commits; undefined outside one. */
  readonly transaction: Transaction | undefined
}

/**
 * Sends the events of a committed write, or of a committed transaction, where they go:
 * into the enclosing transaction's buffer when there is one (they wait for its commit),
 * else onto the bus at once (`publish`). `persisted` is what the outbox gave when it
 * stored them.
 *
 * @internal
 */
export const emit = (
  route: Route,
  events: ReadonlyArray<InvalidationEvent.InvalidationEvent>,
  sync: boolean,
  persisted: unknown
): Maybe<void> => {
  if (route.transaction !== undefined) {
    route.transaction.events.push(...events)
    return undefined
  }
  return events.length === 0 ? undefined : publish(route.destination, route.source, events, sync, persisted)
}
