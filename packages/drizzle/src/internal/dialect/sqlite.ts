import { is, sql } from "drizzle-orm"
import { BaseSQLiteDatabase, integer, SQLiteColumn, sqliteTable, SQLiteTable } from "drizzle-orm/sqlite-core"
import type { Dialect } from "../dialect.js"
import { andThen, type Maybe } from "../maybe.js"
import { call, fromTail, type Method, type Outcome, type Row, rowsOf, takeMarked } from "../statement.js"
import { databaseProbe, fn, invoke, type Member, own, type Probe, writeProbes } from "../surface.js"
import { captured, type TablePlan } from "../tables.js"

type Database = BaseSQLiteDatabase<any, any, any, any>

/** The table the surface is probed on: its builders are made, never run. */
const probeTable = sqliteTable("cachefx_probe", { id: integer("id").primaryKey(), probeValue: integer("probe_value") })

/** The builder methods that run a SQLite write, each through `_prepare`. */
const runners: ReadonlyArray<Method> = ["run", "all", "get", "values"]

/** A prepared query's `execute` runs the method its `executeMethod` names. */
const dispatches: Member = {
  name: "execute",
  problem: (made) => {
    let ran = false
    const probe = Object.assign(Object.create(made), { executeMethod: "run", run: () => (ran = true) })
    const result: unknown = invoke(probe, "execute")
    // a synchronous driver's `execute` gives a result that runs when asked
    const sync: unknown = typeof result === "object" && result !== null ? Reflect.get(result, "sync") : undefined
    if (typeof sync === "function") {
      Reflect.apply(sync, result, [])
    }
    return ran ? undefined : "does not run the method `executeMethod` names"
  }
}

const probes = (db: object): ReadonlyArray<Probe> => [
  databaseProbe(db),
  ...writeProbes(db, probeTable, runners),
  {
    // A write on the probe table cannot be prepared (SQLite compiles statements against
    // the schema): the prepared query of a select on no table is of the same class.
    subject: "prepared query",
    make: () => (db as Database).select({ one: sql`1` }).from(sql`(select 1)`).prepare(),
    members: [...runners.map(fn), own("executeMethod"), dispatches]
  }
]

/** The `RunResult` a caller of `run()` gets, read back after the statement (better-sqlite3's). */
const runResult = (source: unknown): Maybe<unknown> =>
  (source as Database).get(sql`select changes() as changes, last_insert_rowid() as lastInsertRowid`)

const runMarked = (
  plan: TablePlan,
  source: unknown,
  prepared: unknown,
  method: Method,
  args: ReadonlyArray<unknown>,
  callerReturns: boolean
): Maybe<Outcome> => {
  switch (method) {
    case "values":
    case "run":
      // Raw arrays: the last columns are the captured ones.
      return andThen(call(prepared, "values", args), (result) => {
        const arrays = Array.isArray(result) ? result.filter(Array.isArray) : []
        const rows = arrays.map((row) => fromTail(plan, row))
        return method === "values"
          ? { result: arrays.map((row) => row.slice(0, row.length - plan.capture.length)), rows }
          : andThen(runResult(source), (info) => ({ result: info, rows }))
      })
    case "all":
    case "get":
      if (!callerReturns) {
        // `all` and `get` of a statement without `returning`: no rows for the caller.
        return andThen(runMarked(plan, source, prepared, "values", args, false), ({ rows }) => ({
          result: method === "get" ? undefined : [],
          rows
        }))
      }
      return andThen(call(prepared, "all", args), (result) => {
        const all = rowsOf(result)
        const rows = all.map((row) => takeMarked(plan, row))
        return { result: method === "get" ? all[0] : all, rows }
      })
    case "execute":
      throw new TypeError("cachefx: a SQLite prepared query is run by run, all, get or values")
  }
}

/**
 * SQLite (`drizzle-orm/sqlite-core`: better-sqlite3): writes run by `run`, `all`, `get`
 * and `values`, synchronously on a synchronous driver; an update that moves a row reads
 * its old values first, in an immediate transaction.
 *
 * @internal
 */
export const sqlite: Dialect = {
  name: "SQLite",
  is: (db) => is(db, BaseSQLiteDatabase),
  probes,
  readsOldInStatement: false,
  readRows: (source, plan, where, placeholders) => {
    const selection = captured(plan, (table) => is(table, SQLiteTable), SQLiteColumn)
    const select = (source as Database).select(selection).from(plan.table as SQLiteTable).where(where)
    return select.all(placeholders as Record<string, unknown> | undefined) as Maybe<ReadonlyArray<Row>>
  },
  transaction: <A>(source: unknown, f: (tx: unknown) => Maybe<A>) =>
    (source as Database).transaction((tx) => f(tx) as A | Promise<A>, { behavior: "immediate" }),
  runners,
  // A SQLite prepared query's `execute` calls its `executeMethod`, which the caller's `returning` decides.
  completePrepared: (prepared, callerReturns) => {
    prepared["executeMethod"] = callerReturns ? "all" : "run"
  },
  // `await` waits for the invalidation, even on a synchronous driver.
  execute: (builder, runNow) => async () => runNow([], builder.config.returning === undefined ? "run" : "all", true),
  runMarked,
  query: (db, statement) => (db as Database).all<Row>(statement) as Maybe<ReadonlyArray<Row>>,
  run: (db, statement) => (db as Database).run(statement),
  createOutbox: (table) =>
    sql`create table if not exists ${table} (id integer primary key autoincrement, event text not null, created_at text not null default current_timestamp)`,
  oldestAge: (table) => sql`select coalesce((julianday('now') - julianday(min(created_at))) * 86400, 0) as age from ${table}`
}
