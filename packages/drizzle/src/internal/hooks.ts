import { type Cached, Invalidation, InvalidationBus, InvalidationEngine, InvalidationEvent } from "@cachefx/core"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"
import type { UnsupportedDrizzleError } from "../DrizzleError.js"
import { wrap } from "./database.js"
import { dialectOf } from "./dialect.js"
import * as outbox from "./outbox.js"
import * as surface from "./surface.js"
import { planner } from "./tables.js"

/** The cached values the hooks serve: those given, else those of the engine in context. */
const cachesOf = (given: ReadonlyArray<Cached.Cached.Any> | undefined) =>
  given === undefined
    ? Effect.map(InvalidationEngine.InvalidationEngine, (engine) => engine.caches)
    : Effect.as(warnUnserved(given), given)

/** Given caches the engine in context does not serve: their writes would publish events no rule of it applies. */
const warnUnserved = (given: ReadonlyArray<Cached.Cached.Any>) =>
  Effect.flatMap(Effect.serviceOption(InvalidationEngine.InvalidationEngine), (engine) => {
    if (Option.isNone(engine)) {
      return Effect.void
    }
    const served = new Set(engine.value.caches)
    const missing = given.filter((cached) => cached.rules.length > 0 && !served.has(cached)).map((cached) => cached.name)
    return missing.length === 0 ? Effect.void : Effect.logWarning(
      `cachefx: DrizzleHooks.instrument was given cached values that the InvalidationEngine was not given: ` +
        `${missing.join(", ")}; their writes invalidate nothing there (give InvalidationEngine.layer the same caches, ` +
        `or give instrument none: it then reads the engine's)`
    )
  })

interface Options {
  readonly caches?: ReadonlyArray<Cached.Cached.Any> | undefined
  readonly outbox?: boolean | { readonly table?: string | undefined } | undefined
}

/**
 * Given its caches, `instrument` needs no engine; given none, it reads the engine's. It
 * picks the adapter of the database's dialect and checks the builder members the hooks
 * rely on first, so an unsupported database fails here, before a write.
 *
 * @internal
 */
export function instrument<DB extends object>(
  db: DB,
  options: Options & { readonly caches: ReadonlyArray<Cached.Cached.Any> }
): Effect.Effect<DB, UnsupportedDrizzleError, InvalidationBus.InvalidationBus>
export function instrument<DB extends object>(
  db: DB,
  options?: Options
): Effect.Effect<DB, UnsupportedDrizzleError, InvalidationBus.InvalidationBus | InvalidationEngine.InvalidationEngine>
export function instrument<DB extends object>(
  db: DB,
  options: Options = {}
): Effect.Effect<DB, UnsupportedDrizzleError, InvalidationBus.InvalidationBus | InvalidationEngine.InvalidationEngine> {
  const table = options.outbox === undefined || options.outbox === false
    ? undefined
    : options.outbox === true
    ? outbox.defaultTable
    : options.outbox.table ?? outbox.defaultTable
  return Effect.flatMap(dialectOf(db), (dialect) =>
    Effect.zipRight(
      surface.check(db, dialect),
      Effect.zipRight(
        table === undefined ? Effect.void : outbox.ensureTable(db, dialect, table),
        Effect.flatMap(cachesOf(options.caches), (caches) =>
          Effect.map(Effect.runtime<InvalidationBus.InvalidationBus>(), (runtime) => {
            const publish = publisher(runtime)
            return wrap(db, {
              dialect,
              outbox: table === undefined ? undefined : outbox.make(table, dialect),
              planner: planner(caches),
              publish: (events, sync, after) => events.length === 0 ? undefined : publish(events, sync, after)
            }, undefined)
          }))
      )
    ))
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
