import { type Cached, Invalidation, type InvalidationBus, InvalidationEngine, InvalidationEvent } from "@cachefx/core"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { UnsupportedDrizzleError } from "../DrizzleError.js"
import { wrap } from "./database.js"
import * as delivery from "./delivery.js"
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
          Effect.map(Effect.runtime<InvalidationBus.InvalidationBus>(), (runtime) =>
            wrap(db, {
              dialect,
              planner: planner(caches),
              destination: delivery.make(runtime, table === undefined ? undefined : outbox.make(table, dialect))
            }, undefined)))
      )
    ))
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
