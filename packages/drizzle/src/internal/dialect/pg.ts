import { is, sql } from "drizzle-orm"
import { integer, PgColumn, PgDatabase, pgTable, PgTable } from "drizzle-orm/pg-core"
import { hasProperty } from "effect/Predicate"
import type { Dialect } from "../dialect.js"
import { andThen } from "../maybe.js"
import { call, fromRaw, oldFromRaw, type Row, rowsOf, takeMarked, takeOld } from "../statement.js"
import { databaseProbe, fn, invoke, own, type Probe, writeProbes } from "../surface.js"
import { captured } from "../tables.js"

type Database = PgDatabase<any, any, any>

/** The table the surface is probed on: its builders are made, never run. */
const probeTable = pgTable("cachefx_probe", { id: integer("id").primaryKey(), probeValue: integer("probe_value") })

const probes = (db: object): ReadonlyArray<Probe> => [
  databaseProbe(db),
  ...writeProbes(db, probeTable, []),
  {
    // Preparing a PostgreSQL statement builds an object and talks to no server.
    subject: "prepared query",
    make: () => invoke((db as Database).update(probeTable).set({ probeValue: 1 }), "_prepare"),
    // Without `fields`, `execute` gives the driver's own result: what a caller without `returning` gets.
    members: [fn("execute"), own("fields")]
  }
]

/**
 * PostgreSQL (`drizzle-orm/pg-core`: node-postgres, PGlite): writes run by `execute`, an
 * update reads the old values of the rows it changes itself (a sub-select `FOR UPDATE`),
 * and everything is a promise.
 *
 * @internal
 */
export const pg: Dialect = {
  name: "PostgreSQL",
  is: (db) => is(db, PgDatabase),
  probes,
  readsOldInStatement: true,
  readRows: (source, plan, where, placeholders) => {
    const selection = captured(plan, (table) => is(table, PgTable), PgColumn)
    const select = (source as Database).select(selection).from(plan.table as PgTable).where(where).for("update")
    return select.execute(placeholders as Record<string, unknown> | undefined)
  },
  transaction: (source, f) => (source as Database).transaction((tx) => Promise.resolve(f(tx))),
  runners: ["execute"],
  completePrepared: () => {},
  execute: (builder, runNow) => (placeholders?: unknown) =>
    runNow([placeholders, Reflect.get(builder, "authToken")], "execute", false),
  runMarked: (plan, _source, prepared, _method, args, callerReturns, readsOld) => {
    const old = readsOld ? plan.old : undefined
    if (callerReturns) {
      return andThen(call(prepared, "execute", args), (result) => {
        const all = rowsOf(result)
        return {
          result,
          rows: all.map((row) => takeMarked(plan, row)),
          before: old === undefined ? undefined : all.map((row) => takeOld(old, row))
        }
      })
    }
    // Without fields, a PostgreSQL prepared query gives the driver's own result.
    Reflect.set(prepared as object, "fields", undefined)
    return andThen(call(prepared, "execute", args), (result) => {
      if (!hasProperty(result, "rows")) {
        return { result, rows: [], before: old === undefined ? undefined : [] }
      }
      const raw = rowsOf(result.rows)
      const rows = raw.map((row) => fromRaw(plan, row))
      const before = old === undefined ? undefined : raw.map((row) => oldFromRaw(old, row))
      Reflect.set(result, "rows", [])
      Reflect.set(result, "fields", [])
      return { result, rows, before }
    })
  },
  query: (db, statement) =>
    (db as Database).execute(statement).then((result: unknown): ReadonlyArray<Row> =>
      hasProperty(result, "rows") && Array.isArray(result.rows) ? result.rows : []
    ),
  run: (db, statement) => pg.query(db, statement),
  createOutbox: (table) =>
    sql`create table if not exists ${table} (id bigserial primary key, event text not null, created_at timestamptz not null default now())`,
  oldestAge: (table) => sql`select coalesce(extract(epoch from now() - min(created_at)), 0) as age from ${table}`
}
