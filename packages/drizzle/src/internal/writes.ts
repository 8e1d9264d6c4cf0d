import { InvalidationEvent } from "@cachefx/core"
import { type Column, is, type SQL, sql } from "drizzle-orm"
import { PgColumn, PgDatabase, PgTable } from "drizzle-orm/pg-core"
import { BaseSQLiteDatabase, SQLiteColumn, SQLiteTable } from "drizzle-orm/sqlite-core"
import { hasProperty } from "effect/Predicate"
import { andThen, isThenable, type Maybe } from "./maybe.js"
import { pair } from "./rows.js"
import type { TablePlan } from "./tables.js"

/**
 * Where a write runs and where its events go.
 *
 * @internal
 */
export interface WriteContext {
  /** The database or transaction the builder came from (not instrumented). */
  readonly source: unknown
  /** The id of the transaction whose buffer `emit` fills; undefined outside one. */
  readonly transactionId: string | undefined
  /**
   * Outside a transaction, when set, every write runs in a transaction of its own and
   * this stores its events there before the commit (the outbox); what it gives is
   * handed to `emit`.
   */
  readonly persist: ((tx: unknown, events: ReadonlyArray<InvalidationEvent.InvalidationEvent>) => Maybe<unknown>) | undefined
  /** After the commit: publishes events, or buffers them in the enclosing transaction. */
  readonly emit: (events: ReadonlyArray<InvalidationEvent.InvalidationEvent>, sync: boolean, persisted: unknown) => Maybe<void>
}

/*
 * Drizzle 0.45 write builders keep what they will run in `config` and build their
 * statement in `_prepare`, which every way of running them (await, execute, run, all,
 * get, values, prepare) goes through. The hooks run `_prepare` on a view of the builder
 * whose `returning` adds the columns the rules need under marked names, and take those
 * columns out of what the caller gets.
 */

interface Selected {
  readonly path: ReadonlyArray<string>
  readonly field: unknown
}

interface WriteConfig {
  readonly returning?: ReadonlyArray<Selected> | undefined
  readonly where?: SQL | undefined
  readonly set?: Readonly<Record<string, unknown>> | undefined
  readonly from?: unknown
}

interface WriteBuilder {
  readonly config: WriteConfig
  readonly _prepare: (...args: ReadonlyArray<unknown>) => unknown
}

type Row = Record<string, unknown>
type Method = "execute" | "run" | "all" | "get" | "values"

const isWriteBuilder = (u: unknown): u is WriteBuilder =>
  hasProperty(u, "config") && hasProperty(u, "_prepare") && typeof u._prepare === "function"

const isRows = (u: unknown): u is Array<Row> => Array.isArray(u)

const MARK = "__cachefx:"

const marked = (plan: TablePlan, config: WriteConfig): ReadonlyArray<Selected> => [
  ...config.returning ?? [],
  ...plan.capture.map((column) => ({ path: [MARK + column.name], field: column }))
]

const decode = (column: Column, value: unknown): unknown =>
  value === null || value === undefined ? null : column.mapFromDriverValue(value)

/** Takes the marked columns out of a row the caller gets. */
const takeMarked = (plan: TablePlan) => (row: Row): Row => {
  const captured: Row = {}
  for (const column of plan.capture) {
    captured[column.name] = row[MARK + column.name]
    delete row[MARK + column.name]
  }
  return captured
}

/** A raw row (keyed by column name, driver values), as the driver gave it. */
const fromRaw = (plan: TablePlan) => (row: Row): Row =>
  Object.fromEntries(plan.capture.map((column) => [column.name, decode(column, row[column.name])]))

/** A raw array row, whose last columns are the captured ones. */
const fromTail = (plan: TablePlan) => (row: ReadonlyArray<unknown>): Row => {
  const start = row.length - plan.capture.length
  return Object.fromEntries(plan.capture.map((column, i) => [column.name, decode(column, row[start + i])]))
}

interface Outcome {
  readonly result: unknown
  readonly rows: ReadonlyArray<Row>
}

const call = (target: unknown, method: string, args: ReadonlyArray<unknown>): unknown => {
  const f: unknown = hasProperty(target, method) ? target[method] : undefined
  if (typeof f !== "function") {
    throw new TypeError(`cachefx: this Drizzle prepared query has no method ${method}`)
  }
  return Reflect.apply(f, target, args)
}

/**
 * Runs a prepared statement that returns the marked columns, and splits what it gives
 * into what the caller asked for and the captured rows.
 */
const runPrepared = (
  plan: TablePlan,
  source: unknown,
  prepared: unknown,
  method: Method,
  args: ReadonlyArray<unknown>,
  callerReturns: boolean
): Maybe<Outcome> => {
  const rowsOf = (result: unknown): Array<Row> => isRows(result) ? result : []
  switch (method) {
    case "execute": {
      if (callerReturns) {
        return andThen(call(prepared, "execute", args), (result) => ({
          result,
          rows: rowsOf(result).map(takeMarked(plan))
        }))
      }
      // Without fields, a PostgreSQL prepared query gives the driver's own result.
      Reflect.set(prepared as object, "fields", undefined)
      return andThen(call(prepared, "execute", args), (result) => {
        const raw = hasProperty(result, "rows") ? rowsOf(result.rows) : []
        const rows = raw.map(fromRaw(plan))
        if (hasProperty(result, "rows")) {
          Reflect.set(result, "rows", [])
          Reflect.set(result, "fields", [])
        }
        return { result, rows }
      })
    }
    case "values":
      return andThen(call(prepared, "values", args), (result) => {
        const arrays = Array.isArray(result) ? result.filter(Array.isArray) : []
        return {
          result: arrays.map((row) => row.slice(0, row.length - plan.capture.length)),
          rows: arrays.map(fromTail(plan))
        }
      })
    case "all":
    case "get":
      return andThen(call(prepared, "all", args), (result) => {
        const all = rowsOf(result)
        const rows = all.map(takeMarked(plan))
        return { result: method === "get" ? all[0] : all, rows }
      })
    case "run":
      // A statement with RETURNING gives its rows to `all` only; `run`'s result is read back.
      return andThen(call(prepared, "all", args), (result) => {
        const rows = rowsOf(result).map(takeMarked(plan))
        return andThen(sqliteRunResult(source), (info) => ({ result: info, rows }))
      })
  }
}

const sqliteRunResult = (source: unknown): Maybe<unknown> => {
  if (!is(source, BaseSQLiteDatabase)) {
    throw new TypeError("cachefx: run() is a SQLite method")
  }
  return source.get(sql`select changes() as changes, last_insert_rowid() as lastInsertRowid`)
}

/** Reads the rows an update will change, locking them on PostgreSQL. */
const readBefore = (plan: TablePlan, source: unknown, where: SQL | undefined, args: ReadonlyArray<unknown>) => {
  const placeholders = args[0] as Record<string, unknown> | undefined
  const selection = <C extends Column>(kind: abstract new(...args: Array<never>) => C) =>
    Object.fromEntries(plan.capture.filter((column): column is C => column instanceof kind).map((column) => [column.name, column]))
  if (is(source, PgDatabase) && is(plan.table, PgTable)) {
    return source.select(selection(PgColumn)).from(plan.table).where(where).for("update").execute(placeholders)
  }
  if (is(source, BaseSQLiteDatabase) && is(plan.table, SQLiteTable)) {
    return source.select(selection(SQLiteColumn)).from(plan.table).where(where).all(placeholders) as Maybe<Array<Row>>
  }
  throw new TypeError(`cachefx: cannot read the rows of table "${plan.name}" through this database`)
}

/** Runs `f` in a transaction of its own (immediate on SQLite, so the read takes the write lock). */
const inTransaction = <A>(source: unknown, f: (tx: unknown) => Maybe<A>): Maybe<A> => {
  if (is(source, PgDatabase)) {
    return source.transaction((tx) => Promise.resolve(f(tx)))
  }
  if (is(source, BaseSQLiteDatabase)) {
    return source.transaction((tx) => f(tx) as A | Promise<A>, { behavior: "immediate" })
  }
  throw new TypeError("cachefx: expected a Drizzle PostgreSQL or SQLite database")
}

const sessionOf = (tx: unknown): unknown => hasProperty(tx, "session") ? tx.session : undefined

/** Database names of the columns an update (or an upsert's update) sets. */
const setColumns = (plan: TablePlan, set: Readonly<Record<string, unknown>> | undefined): ReadonlyArray<string> =>
  Object.keys(set ?? {}).flatMap((property) => {
    const column = plan.columns[property]
    return column === undefined ? [] : [column.name]
  })

/**
 * Instruments a write builder (what `insert(t).values(…)`, `update(t).set(…)` and
 * `delete(t)` give) so that running it publishes its events. Returns the same builder.
 *
 * @internal
 */
export const instrumentWrite = <B>(
  builder: B,
  operation: InvalidationEvent.Operation,
  plan: TablePlan,
  context: WriteContext
): B => {
  if (!isWriteBuilder(builder)) {
    return builder
  }
  const original = builder._prepare
  const sqlite = is(context.source, BaseSQLiteDatabase)
  let upsert: ReadonlyArray<string> | undefined
  const onConflictDoUpdate: unknown = hasProperty(builder, "onConflictDoUpdate") ? builder.onConflictDoUpdate : undefined
  if (typeof onConflictDoUpdate === "function") {
    Reflect.set(builder, "onConflictDoUpdate", (config: { readonly set?: Readonly<Record<string, unknown>> }) => {
      upsert = setColumns(plan, config.set)
      return Reflect.apply(onConflictDoUpdate, builder, [config])
    })
  }

  const eventsOf = (rows: ReadonlyArray<Row>, before: ReadonlyArray<Row> | undefined) => {
    const make = (op: InvalidationEvent.Operation, extra: Partial<Parameters<typeof InvalidationEvent.make>[0]>) =>
      InvalidationEvent.make({ table: plan.name, operation: op, rows, transactionId: context.transactionId, ...extra })
    if (operation === "update") {
      const changed = setColumns(plan, builder.config.set)
      if (before === undefined) {
        return rows.length === 0 ? [] : [make("update", { changed })]
      }
      const paired = pair(plan, rows, before)
      return paired.rows.length + paired.before.length === 0 ? [] : [
        make("update", { rows: paired.rows, before: paired.before, changed: paired.aligned ? undefined : changed })
      ]
    }
    if (rows.length === 0) {
      return []
    }
    // An upsert may have updated some rows: the update event covers rules on updates.
    return upsert === undefined ? [make(operation, {})] : [make("insert", {}), make("update", { changed: upsert })]
  }

  const prepare = (args: ReadonlyArray<unknown>) => {
    const callerReturns = builder.config.returning !== undefined
    const config = { ...builder.config, returning: marked(plan, builder.config) }
    const on = (session: unknown) =>
      Reflect.apply(original, Object.assign(Object.create(builder), session === undefined ? { config } : { config, session }), args)
    const base = on(undefined)
    const once = (prepared: unknown, source: unknown, method: Method, call: ReadonlyArray<unknown>, before?: ReadonlyArray<Row>) =>
      andThen(runPrepared(plan, source, prepared, method, call, callerReturns), (outcome) => ({
        result: outcome.result,
        events: eventsOf(outcome.rows, before)
      }))
    const tracked = operation === "update" && builder.config.from === undefined &&
      setColumns(plan, builder.config.set).some((column) => plan.tracked.has(column))
    const write = (method: Method, call: ReadonlyArray<unknown>, async: boolean): Maybe<unknown> => {
      const before = (source: unknown) => tracked ? readBefore(plan, source, builder.config.where, call) : undefined
      const persist = context.persist
      const alone = context.transactionId === undefined && (tracked || persist !== undefined)
      const done = !alone
        ? andThen(before(context.source), (rows) => once(base, context.source, method, call, rows))
        : inTransaction(context.source, (tx) =>
          andThen(before(tx), (rows) =>
            andThen(once(on(sessionOf(tx)), tx, method, call, rows), (outcome) =>
              andThen(persist?.(tx, outcome.events), (persisted) => ({ ...outcome, persisted })))))
      const sync = !async && !isThenable(done)
      return andThen(done, (outcome) =>
        andThen(
          context.emit(outcome.events, sync, "persisted" in outcome ? outcome.persisted : undefined),
          () => outcome.result
        ))
    }
    return { base, write, executeMethod: callerReturns ? "all" : "run" }
  }

  Reflect.set(builder, "_prepare", (...args: ReadonlyArray<unknown>) => {
    const { base, executeMethod, write } = prepare(args)
    // A SQLite prepared query's `execute` calls its `executeMethod`; a PostgreSQL one runs itself.
    const methods: ReadonlyArray<Method> = sqlite ? ["run", "all", "get", "values"] : ["execute"]
    return Object.assign(
      Object.create(base as object),
      { executeMethod },
      Object.fromEntries(methods.map((method) => [method, (...call: ReadonlyArray<unknown>) => write(method, call, false)]))
    )
  })
  if (sqlite) {
    // `await` on a SQLite builder: wait for the invalidation even on a synchronous driver.
    Reflect.set(builder, "execute", async () => {
      const { write } = prepare([])
      return write(builder.config.returning !== undefined ? "all" : "run", [], true)
    })
  }
  return builder
}
