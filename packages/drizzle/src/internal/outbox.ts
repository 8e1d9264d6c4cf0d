import { Invalidation, type InvalidationBus, InvalidationEvent } from "@cachefx/core"
import { is, type SQL, sql } from "drizzle-orm"
import { PgDatabase } from "drizzle-orm/pg-core"
import { BaseSQLiteDatabase } from "drizzle-orm/sqlite-core"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { hasProperty } from "effect/Predicate"
import * as Schema from "effect/Schema"
import { andThen, type Maybe } from "./maybe.js"

/**
 * The outbox table of a database: events are inserted in the transaction of their
 * write, deleted once published.
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

/** The rows a statement gives, on either dialect. */
const query = (db: unknown, statement: SQL): Maybe<ReadonlyArray<Record<string, unknown>>> => {
  if (is(db, PgDatabase)) {
    return db.execute(statement).then((result: unknown) =>
      hasProperty(result, "rows") && Array.isArray(result.rows) ? result.rows : []
    )
  }
  if (is(db, BaseSQLiteDatabase)) {
    return db.all<Record<string, unknown>>(statement) as Maybe<ReadonlyArray<Record<string, unknown>>>
  }
  throw new TypeError("cachefx: the outbox needs a Drizzle PostgreSQL or SQLite database")
}

/** Runs a statement that gives no rows, on either dialect. */
const run = (db: unknown, statement: SQL): Maybe<unknown> =>
  is(db, BaseSQLiteDatabase) ? db.run(statement) : query(db, statement)

const isIds = (u: unknown): u is ReadonlyArray<unknown> => Array.isArray(u)

/** @internal */
export const make = (name: string): Outbox => {
  const table = identifier(name)
  return {
    write: (tx, events) =>
      events.length === 0 ? [] : andThen(
        query(
          tx,
          sql`insert into ${table} (event) values ${sql.join(events.map((event) => sql`(${encode(event)})`), sql`, `)} returning id`
        ),
        (rows) => rows.map((row) => row["id"])
      ),
    remove: (db, ids) =>
      isIds(ids) && ids.length > 0
        ? andThen(run(db, sql`delete from ${table} where id in (${sql.join(ids.map((id) => sql`${id}`), sql`, `)})`), () => {})
        : undefined
  }
}

/**
 * Creates the outbox table when it does not exist.
 *
 * @internal
 */
export const ensureTable = (db: unknown, name: string): Effect.Effect<void> =>
  Effect.promise(async () => {
    const table = identifier(name)
    await run(
      db,
      is(db, PgDatabase)
        ? sql`create table if not exists ${table} (id bigserial primary key, event text not null, created_at timestamptz not null default now())`
        : sql`create table if not exists ${table} (id integer primary key autoincrement, event text not null, created_at text not null default current_timestamp)`
    )
  })

/**
 * Publishes the events left in the outbox (oldest first, `batch` at a time) and deletes
 * them; gives how many it published. An event published twice (a crash between publish
 * and delete, or two relays) invalidates twice, which is harmless.
 *
 * @internal
 */
export const relayOnce = (
  db: unknown,
  options: { readonly table?: string | undefined; readonly batch?: number | undefined } = {}
): Effect.Effect<number, never, InvalidationBus.InvalidationBus> => {
  const table = identifier(options.table ?? defaultTable)
  const outbox = make(options.table ?? defaultTable)
  const batch = options.batch ?? 100
  const loop = (total: number): Effect.Effect<number, never, InvalidationBus.InvalidationBus> =>
    Effect.gen(function*() {
      const rows = yield* Effect.promise(async () =>
        query(db, sql`select id, event from ${table} order by id limit ${batch}`)
      )
      for (const row of rows) {
        yield* Invalidation.publish(decode(row["event"]))
      }
      yield* Effect.promise(async () => outbox.remove(db, rows.map((row) => row["id"])))
      return rows.length < batch ? total + rows.length : yield* loop(total + rows.length)
    })
  return loop(0)
}

/**
 * Relays every `interval` while the layer is alive.
 *
 * @internal
 */
export const layerRelay = (
  db: unknown,
  options: {
    readonly table?: string | undefined
    readonly batch?: number | undefined
    readonly interval?: Duration.DurationInput | undefined
  } = {}
): Layer.Layer<never, never, InvalidationBus.InvalidationBus> =>
  relayOnce(db, options).pipe(
    Effect.catchAllDefect((defect) => Effect.logWarning("cachefx: the outbox relay failed; retrying", defect)),
    Effect.zipRight(Effect.sleep(options.interval ?? "1 second")),
    Effect.forever,
    Effect.forkScoped,
    Layer.scopedDiscard
  )
