import { CacheMetrics, Invalidation, type InvalidationBus, InvalidationEvent } from "@cachefx/core"
import { type SQL, sql } from "drizzle-orm"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Schema from "effect/Schema"
import type { UnsupportedDrizzleError } from "../DrizzleError.js"
import { type Dialect, dialectOf } from "./dialect.js"
import { andThen, type Maybe } from "./maybe.js"

/**
 * The outbox table of a database: events are inserted in the transaction of their
 * write, deleted once every job they caused has been applied.
 *
 * @internal
 */
export interface Outbox {
  /** Inserts events (inside a transaction); gives their ids. */
  readonly write: (tx: unknown, events: ReadonlyArray<InvalidationEvent.InvalidationEvent>) => Maybe<ReadonlyArray<unknown>>
  /** Deletes published events by id. */
  readonly remove: (db: unknown, ids: unknown) => Maybe<void>
}

/** @internal */
export const defaultTable = "cachefx_outbox"

const codec = Schema.parseJson(InvalidationEvent.InvalidationEvent)
const encode = Schema.encodeSync(codec)
const decode = Schema.decodeUnknownSync(codec)

const identifier = (name: string): SQL => sql.join(name.split(".").map((part) => sql.identifier(part)), sql`.`)

const isIds = (u: unknown): u is ReadonlyArray<unknown> => Array.isArray(u)

/** @internal */
export const make = (name: string, dialect: Dialect): Outbox => {
  const table = identifier(name)
  return {
    write: (tx, events) =>
      events.length === 0 ? [] : andThen(
        dialect.query(
          tx,
          sql`insert into ${table} (event) values ${sql.join(events.map((event) => sql`(${encode(event)})`), sql`, `)} returning id`
        ),
        (rows) => rows.map((row) => row["id"])
      ),
    remove: (db, ids) =>
      isIds(ids) && ids.length > 0
        ? andThen(dialect.run(db, sql`delete from ${table} where id in (${sql.join(ids.map((id) => sql`${id}`), sql`, `)})`), () => {})
        : undefined
  }
}

/**
 * Creates the outbox table when it does not exist.
 *
 * @internal
 */
export const ensureTable = (db: unknown, dialect: Dialect, name: string): Effect.Effect<void> =>
  Effect.promise(async () => {
    await dialect.run(db, dialect.createOutbox(identifier(name)))
  })

/** The age in seconds of the oldest row of the outbox, 0 when it is empty. */
const oldestAge = (db: unknown, dialect: Dialect, table: SQL): Maybe<number> =>
  andThen(dialect.query(db, dialect.oldestAge(table)), (rows) => Math.max(0, Number(rows[0]?.["age"] ?? 0)))

/** What one pass of the relay did: rows whose jobs were all applied (and deleted), and rows left. */
interface Pass {
  readonly applied: number
  readonly left: number
}

/**
 * One pass over the outbox, oldest first, `batch` rows at a time: publishes each row's
 * event, waits until its jobs ran, deletes the rows whose jobs were all applied and
 * leaves the others for the next pass. Then sets the oldest-row gauge.
 */
const pass = (
  db: unknown,
  dialect: Dialect,
  options: { readonly table?: string | undefined; readonly batch?: number | undefined }
): Effect.Effect<Pass, never, InvalidationBus.InvalidationBus> => {
  const name = options.table ?? defaultTable
  const table = identifier(name)
  const outbox = make(name, dialect)
  const batch = options.batch ?? 100
  const gauge = Metric.tagged(CacheMetrics.outboxOldestRowAge, "table", name)
  const loop = (after: unknown, done: Pass): Effect.Effect<Pass, never, InvalidationBus.InvalidationBus> =>
    Effect.gen(function*() {
      const rows = yield* Effect.promise(async () =>
        dialect.query(
          db,
          after === undefined
            ? sql`select id, event from ${table} order by id limit ${batch}`
            : sql`select id, event from ${table} where id > ${after} order by id limit ${batch}`
        )
      )
      const receipts = yield* Effect.forEach(rows, (row) => Invalidation.publishTracked(decode(row["event"])))
      const outcomes = yield* Effect.forEach(receipts, (receipt) => receipt.applied)
      const applied = rows.filter((_, i) => outcomes[i])
      yield* Effect.promise(async () => outbox.remove(db, applied.map((row) => row["id"])))
      const next = { applied: done.applied + applied.length, left: done.left + rows.length - applied.length }
      return rows.length < batch ? next : yield* loop(rows[rows.length - 1]!["id"], next)
    })
  return loop(undefined, { applied: 0, left: 0 }).pipe(
    Effect.tap(() => Effect.flatMap(Effect.promise(async () => oldestAge(db, dialect, table)), (age) => Metric.set(gauge, age)))
  )
}

/**
 * Publishes the events left in the outbox (oldest first, `batch` at a time) and deletes
 * each row once every job of its event has been applied; gives how many rows it deleted.
 * A row whose job ran out of retries stays for the next pass. An event published twice
 * (a crash between publish and delete, or two relays) invalidates twice, which is harmless.
 *
 * @internal
 */
export const relayOnce = (
  db: unknown,
  options: { readonly table?: string | undefined; readonly batch?: number | undefined } = {}
): Effect.Effect<number, UnsupportedDrizzleError, InvalidationBus.InvalidationBus> =>
  Effect.flatMap(dialectOf(db), (dialect) => Effect.map(pass(db, dialect, options), (done) => done.applied))

/**
 * Relays every `interval` while the layer is alive; while rows stay (their jobs were not
 * applied), the pause doubles, up to `maxInterval`.
 *
 * @internal
 */
export const layerRelay = (
  db: unknown,
  options: {
    readonly table?: string | undefined
    readonly batch?: number | undefined
    readonly interval?: Duration.DurationInput | undefined
    readonly maxInterval?: Duration.DurationInput | undefined
  } = {}
): Layer.Layer<never, UnsupportedDrizzleError, InvalidationBus.InvalidationBus> => {
  const first = Duration.toMillis(Duration.decode(options.interval ?? "1 second"))
  const most = Math.max(first, Duration.toMillis(Duration.decode(options.maxInterval ?? "1 minute")))
  const loop = (dialect: Dialect) =>
    Effect.suspend(() => {
      let pause = first
      return pass(db, dialect, options).pipe(
        Effect.map((done) => {
          pause = done.left === 0 ? first : Math.min(pause * 2, most)
        }),
        Effect.catchAllDefect((defect) =>
          Effect.logWarning("cachefx: the outbox relay failed; retrying", defect).pipe(
            Effect.zipRight(Effect.sync(() => {
              pause = Math.min(pause * 2, most)
            }))
          )
        ),
        Effect.zipRight(Effect.suspend(() => Effect.sleep(Duration.millis(pause)))),
        Effect.forever
      )
    })
  // The dialect is picked when the layer is built: a database of neither fails it.
  return Layer.scopedDiscard(Effect.flatMap(dialectOf(db), (dialect) => Effect.forkScoped(loop(dialect))))
}
