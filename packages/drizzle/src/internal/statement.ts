import { type Column, is, type SQL, sql } from "drizzle-orm"
import { BaseSQLiteDatabase } from "drizzle-orm/sqlite-core"
import { hasProperty } from "effect/Predicate"
import { andThen, type Maybe } from "./maybe.js"
import type { TablePlan } from "./tables.js"

/*
 * Drizzle 0.45 write builders keep what they will run in `config` and build their
 * statement in `_prepare`, which every way of running them (await, execute, run, all,
 * get, values, prepare) goes through. The hooks prepare the statement with a
 * `returning` that adds the columns the rules need under marked names, and take those
 * columns out of what the caller gets.
 */

interface Selected {
  readonly path: ReadonlyArray<string>
  readonly field: unknown
}

/** @internal */
export interface WriteConfig {
  /** Set for the time a marked statement is prepared, then given back. */
  returning?: ReadonlyArray<Selected> | undefined
  readonly where?: SQL | undefined
  readonly set?: Readonly<Record<string, unknown>> | undefined
  readonly from?: unknown
}

/** @internal */
export interface WriteBuilder {
  config: WriteConfig
  readonly _prepare: (...args: ReadonlyArray<unknown>) => unknown
}

/** @internal */
export type Row = Record<string, unknown>

/**
 * The ways to run a prepared write: PostgreSQL's `execute`, SQLite's four.
 *
 * @internal
 */
export type Method = "execute" | "run" | "all" | "get" | "values"

/** @internal */
export const isWriteBuilder = (u: unknown): u is WriteBuilder =>
  hasProperty(u, "config") && hasProperty(u, "_prepare") && typeof u._prepare === "function"

const MARK = "__cachefx:"

/** The raw RETURNING list of a plan, rendered once per Drizzle dialect (its casing decides names). */
const rendered = new WeakMap<TablePlan, Map<unknown, SQL>>()

const rawReturning = (plan: TablePlan, dialect: unknown): SQL => {
  let byDialect = rendered.get(plan)
  if (byDialect === undefined) {
    byDialect = new Map<unknown, SQL>()
    rendered.set(plan, byDialect)
  }
  const known = byDialect.get(dialect)
  if (known !== undefined) {
    return known
  }
  const render: unknown = hasProperty(dialect, "sqlToQuery") ? dialect.sqlToQuery : undefined
  const text: unknown = typeof render === "function" ? Reflect.apply(render, dialect, [plan.returning]) : undefined
  const raw = hasProperty(text, "sql") && typeof text.sql === "string" ? sql.raw(text.sql) : plan.returning
  byDialect.set(dialect, raw)
  return raw
}

/**
 * Prepares the builder's statement with the marked columns added to its `returning`,
 * on `session` when given (a transaction's). The builder is left as it was.
 *
 * @internal
 */
export const prepareMarked = (
  builder: WriteBuilder,
  prepare: (...args: ReadonlyArray<unknown>) => unknown,
  plan: TablePlan,
  args: ReadonlyArray<unknown>,
  session?: unknown
): unknown => {
  const config = builder.config
  const returning = config.returning
  const own = session === undefined ? undefined : Object.getOwnPropertyDescriptor(builder, "session")
  // Rows the caller reads are mapped by Drizzle, so the marked columns are fields too;
  // otherwise one raw list is cheaper, and the driver's raw rows are read.
  config.returning = returning === undefined
    ? [{ path: [MARK], field: rawReturning(plan, Reflect.get(builder, "dialect")) }]
    : [...returning, ...plan.capture.map((column) => ({ path: [MARK + column.name], field: column }))]
  if (session !== undefined) {
    Reflect.set(builder, "session", session)
  }
  try {
    return Reflect.apply(prepare, builder, args)
  } finally {
    config.returning = returning
    if (own !== undefined) {
      Object.defineProperty(builder, "session", own)
    }
  }
}

const decode = (column: Column, value: unknown): unknown =>
  value === null || value === undefined ? null : column.mapFromDriverValue(value)

/** Takes the marked columns out of a row the caller gets. */
const takeMarked = (plan: TablePlan, row: Row): Row => {
  const captured: Row = {}
  for (const column of plan.capture) {
    captured[column.name] = row[MARK + column.name]
    delete row[MARK + column.name]
  }
  return captured
}

/** A raw row (keyed by column name, driver values), as the driver gave it. */
const fromRaw = (plan: TablePlan, row: Row): Row => {
  const captured: Row = {}
  for (const column of plan.capture) {
    captured[column.name] = decode(column, row[column.name])
  }
  return captured
}

/** A raw array row, whose last columns are the captured ones. */
const fromTail = (plan: TablePlan, row: ReadonlyArray<unknown>): Row => {
  const start = row.length - plan.capture.length
  const captured: Row = {}
  plan.capture.forEach((column, i) => {
    captured[column.name] = decode(column, row[start + i])
  })
  return captured
}

/**
 * What running a marked statement gave: the caller's result and the captured rows.
 *
 * @internal
 */
export interface Outcome {
  readonly result: unknown
  readonly rows: ReadonlyArray<Row>
}

/** Calls a method of the driver's prepared query (never the instrumented one's). */
const call = (prepared: unknown, method: Method, args: ReadonlyArray<unknown>): unknown => {
  const f: unknown = hasProperty(prepared, method) ? prepared[method] : undefined
  if (typeof f !== "function") {
    throw new TypeError(`cachefx: this Drizzle prepared query has no method ${method}`)
  }
  return Reflect.apply(f, prepared, args)
}

const rowsOf = (result: unknown): Array<Row> => Array.isArray(result) ? result : []

const sqliteRunResult = (source: unknown): Maybe<unknown> => {
  if (!is(source, BaseSQLiteDatabase)) {
    throw new TypeError("cachefx: run() is a SQLite method")
  }
  return source.get(sql`select changes() as changes, last_insert_rowid() as lastInsertRowid`)
}

/**
 * Runs a marked statement by `method`, and splits what it gives into what the caller
 * asked for (as plain Drizzle gives it) and the captured rows. `source` is the database
 * or transaction it runs on.
 *
 * @internal
 */
export const runMarked = (
  plan: TablePlan,
  source: unknown,
  prepared: unknown,
  method: Method,
  args: ReadonlyArray<unknown>,
  callerReturns: boolean
): Maybe<Outcome> => {
  switch (method) {
    case "execute": {
      if (callerReturns) {
        return andThen(call(prepared, "execute", args), (result) => ({
          result,
          rows: rowsOf(result).map((row) => takeMarked(plan, row))
        }))
      }
      // Without fields, a PostgreSQL prepared query gives the driver's own result.
      Reflect.set(prepared as object, "fields", undefined)
      return andThen(call(prepared, "execute", args), (result) => {
        if (!hasProperty(result, "rows")) {
          return { result, rows: [] }
        }
        const rows = rowsOf(result.rows).map((row) => fromRaw(plan, row))
        Reflect.set(result, "rows", [])
        Reflect.set(result, "fields", [])
        return { result, rows }
      })
    }
    case "values":
    case "run":
      // Raw arrays: the last columns are the captured ones.
      return andThen(call(prepared, "values", args), (result) => {
        const arrays = Array.isArray(result) ? result.filter(Array.isArray) : []
        const rows = arrays.map((row) => fromTail(plan, row))
        return method === "values"
          ? { result: arrays.map((row) => row.slice(0, row.length - plan.capture.length)), rows }
          : andThen(sqliteRunResult(source), (info) => ({ result: info, rows }))
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
  }
}
