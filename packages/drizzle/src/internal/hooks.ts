import { type Cached, Invalidation, InvalidationBus, InvalidationEvent } from "@cachefx/core"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"
import { wrap } from "./database.js"
import * as outbox from "./outbox.js"
import { planner } from "./tables.js"

/** @internal */
export const instrument = <DB extends object>(
  db: DB,
  options: {
    readonly caches: ReadonlyArray<Cached.Cached.Any>
    readonly outbox?: boolean | { readonly table?: string | undefined } | undefined
  }
): Effect.Effect<DB, never, InvalidationBus.InvalidationBus> => {
  const table = options.outbox === undefined || options.outbox === false
    ? undefined
    : options.outbox === true
    ? outbox.defaultTable
    : options.outbox.table ?? outbox.defaultTable
  return Effect.zipRight(
    table === undefined ? Effect.void : outbox.ensureTable(db, table),
    Effect.map(Effect.runtime<InvalidationBus.InvalidationBus>(), (runtime) => {
      const publish = publisher(runtime)
      return wrap(db, {
        outbox: table === undefined ? undefined : outbox.make(table),
        planner: planner(options.caches),
        publish: (events, sync, after) => events.length === 0 ? undefined : publish(events, sync, after)
      }, undefined)
    })
  )
}

/**
 * Publishes the events of a committed write on the bus captured when the database was
 * instrumented, then runs `after` (the outbox's delete) once every job of the events has
 * been applied: at once when they all ran in the call (`inline`), else in a fiber of its
 * own when the last one has run (`pool`, `background`). A job that ran out of retries
 * leaves the row for the relay. A bus that stopped (the application is shutting down) or
 * a failed delete must not turn the committed write into a failed call: they are logged.
 *
 * The effect runs at once in the caller's call: with the inline dispatcher on a
 * synchronous store, the invalidation is done when it returns, and the write goes on
 * without a promise of its own. A step that has to wait (a remote store, a broker) is
 * awaited, unless the driver is synchronous (`sync`): its call cannot wait, so the
 * engine finishes the work after it returns.
 */
const publisher = (runtime: Runtime.Runtime<InvalidationBus.InvalidationBus>) => {
  const bus = Context.get(runtime.context, InvalidationBus.InvalidationBus)
  const runSync = Runtime.runSyncExit(runtime)
  const notPublished = (cause: Cause.Cause<unknown>) =>
    Effect.logWarning("cachefx: events of a committed write were not published", cause)
  const leftForRelay = Effect.logWarning(
    "cachefx: an invalidation job of a committed write was not applied; its outbox row stays for the relay"
  )
  /** Publishes tracked events; runs `after` once all their jobs are applied, in the call when it can. */
  const publishThenRemove = (events: ReadonlyArray<InvalidationEvent.InvalidationEvent>, after: () => unknown) =>
    Effect.flatMap(Effect.forEach(events, Invalidation.publishTracked), (receipts) => {
      const removeIf = (applied: boolean) => applied ? Effect.promise(async () => after()) : leftForRelay
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
  return (
    events: ReadonlyArray<InvalidationEvent.InvalidationEvent>,
    sync: boolean,
    after: (() => unknown) | undefined
  ): Promise<void> | undefined => {
    const published = after !== undefined
      ? publishThenRemove(events, after)
      : events.length === 1
      ? bus.publish(events[0]!)
      : Effect.forEach(events, bus.publish, { discard: true })
    const exit = runSync(Effect.catchAllCause(published, notPublished))
    if (sync || Exit.isSuccess(exit)) {
      return undefined
    }
    // still running: `runSyncExit` gives the fiber that went on asynchronously
    const waiting = Option.filter(Cause.dieOption(exit.cause), Runtime.isAsyncFiberException)
    return Option.isSome(waiting)
      ? Runtime.runPromise(runtime)(Effect.asVoid(Fiber.await(waiting.value.fiber)))
      : undefined
  }
}

const operations: ReadonlyArray<InvalidationEvent.Operation> = ["insert", "update", "delete"]

/** @internal */
export const invalidateTables = (
  tables: ReadonlyArray<string | object>
): Effect.Effect<void, never, InvalidationBus.InvalidationBus> =>
  Effect.forEach(
    tables.flatMap((table) => operations.map((operation) => InvalidationEvent.make({ table, operation, rows: [] }))),
    Invalidation.publish,
    { discard: true }
  )
