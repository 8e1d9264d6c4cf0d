import { type Cached, Invalidation, type InvalidationBus, InvalidationEvent } from "@cachefx/core"
import * as Effect from "effect/Effect"
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
    Effect.map(Effect.runtime<InvalidationBus.InvalidationBus>(), (runtime) =>
      wrap(db, {
        outbox: table === undefined ? undefined : outbox.make(table),
        planner: planner(options.caches),
        publish: (events, sync, after) => events.length === 0 ? undefined : publish(runtime, events, sync, after)
      }, undefined))
  )
}

/**
 * Publishes the events of a committed write, then runs `after` (the outbox's delete). A
 * bus that stopped (the application is shutting down) or a failed delete must not turn
 * the committed write into a failed call: they are logged.
 */
const publish = (
  runtime: Runtime.Runtime<InvalidationBus.InvalidationBus>,
  events: ReadonlyArray<InvalidationEvent.InvalidationEvent>,
  sync: boolean,
  after: (() => unknown) | undefined
): Promise<void> | undefined => {
  const publishAll = Effect.forEach(events, Invalidation.publish, { discard: true }).pipe(
    Effect.zipRight(after === undefined ? Effect.void : Effect.promise(async () => after())),
    Effect.catchAllCause((cause) => Effect.logWarning("cachefx: events of a committed write were not published", cause))
  )
  if (!sync) {
    return Runtime.runPromise(runtime)(publishAll)
  }
  // A synchronous driver's call cannot wait: the engine handles the events in this call,
  // to the end on a synchronous store, and from its first asynchronous step on after it returns.
  Runtime.runSyncExit(runtime)(publishAll)
  return undefined
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
