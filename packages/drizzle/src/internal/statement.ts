import { type Column, type SQL, sql } from "drizzle-orm"
import { hasProperty } from "effect/Predicate"
import type { OldRows, TablePlan } from "./tables.js"

/*
 * Drizzle 0.45 write builders keep what they will run in `config` and build their
 * statement in `_prepare`, which every way of running them (await, execute, run, all,
 * get, values, prepare) goes through. The hooks prepare the statement with a
 * `returning` that adds the columns the rules need under marked names, and take those
 * columns out of what the caller gets. Running the statement and reading what it gives
 * is the dialect adapter's (`dialect/pg.ts`, `dialect/sqlite.ts`); `surface.ts` checks,
 * once per instrumented database, that its builders still work this way.
 */

interface Selected {
  readonly path: ReadonlyArray<string>
  readonly field: unknown
}

/** @internal */
export interface WriteConfig {
  /** `returning`, `from` and `where` are set for the time a marked statement is prepared, then given back. */
  returning?: ReadonlyArray<Selected> | undefined
  where?: SQL | undefined
  from?: unknown
  readonly set?: Readonly<Record<string, unknown>> | undefined
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

/** The raw RETURNING lists of a plan (without and with the old values), rendered once per Drizzle dialect (its casing decides names). */
const rendered = new WeakMap<TablePlan, Map<unknown, readonly [SQL, SQL | undefined]>>()

const rawReturning = (plan: TablePlan, dialect: unknown, withOld: boolean): SQL => {
  let byDialect = rendered.get(plan)
  if (byDialect === undefined) {
    byDialect = new Map()
    rendered.set(plan, byDialect)
  }
  let known = byDialect.get(dialect)
  if (known === undefined) {
    const render: unknown = hasProperty(dialect, "sqlToQuery") ? dialect.sqlToQuery : undefined
    const raw = (list: SQL) => {
      const text: unknown = typeof render === "function" ? Reflect.apply(render, dialect, [list]) : undefined
      return hasProperty(text, "sql") && typeof text.sql === "string" ? sql.raw(text.sql) : list
    }
    const old = plan.old
    known = [
      raw(plan.returning),
      old === undefined ? undefined : raw(sql.join([
        plan.returning,
        ...old.returning.map(({ field, name }) => sql`${field} as ${sql.identifier(name)}`)
      ], sql`, `))
    ]
    byDialect.set(dialect, known)
  }
  return (withOld ? known[1] : undefined) ?? known[0]
}

/**
 * Prepares the builder's statement with the marked columns added to its `returning`,
 * on `session` when given (a transaction's). With `readsOld` (an update on PostgreSQL of
 * a table with a single-column primary key), the statement also reads the old values of
 * the rows it changes (`TablePlan.old`). The builder is left as it was.
 *
 * @internal
 */
export const prepareMarked = (
  builder: WriteBuilder,
  prepare: (...args: ReadonlyArray<unknown>) => unknown,
  plan: TablePlan,
  args: ReadonlyArray<unknown>,
  session: unknown,
  readsOld: boolean
): unknown => {
  const config = builder.config
  const { from, returning, where } = config
  const own = session === undefined ? undefined : Object.getOwnPropertyDescriptor(builder, "session")
  const old = readsOld ? plan.old : undefined
  // Rows the caller reads are mapped by Drizzle, so the marked columns are fields too;
  // otherwise one raw list is cheaper, and the driver's raw rows are read.
  config.returning = returning === undefined
    ? [{ path: [MARK], field: rawReturning(plan, Reflect.get(builder, "dialect"), old !== undefined) }]
    : [
      ...returning,
      ...plan.capture.map((column) => ({ path: [MARK + column.name], field: column })),
      ...(old?.returning ?? []).map(({ field, name }) => ({ path: [name], field }))
    ]
  if (old !== undefined) {
    const filter = where === undefined ? sql`` : sql` where ${where}`
    config.from = sql`(select ${old.select} from ${plan.table}${filter} for update) ${sql.identifier(old.alias)}`
    config.where = old.join
  }
  if (session !== undefined) {
    Reflect.set(builder, "session", session)
  }
  try {
    return Reflect.apply(prepare, builder, args)
  } finally {
    config.returning = returning
    config.from = from
    config.where = where
    if (own !== undefined) {
      Object.defineProperty(builder, "session", own)
    }
  }
}

const decode = (column: Column, value: unknown): unknown =>
  value === null || value === undefined ? null : column.mapFromDriverValue(value)

/**
 * Takes the marked columns out of a row the caller gets (Drizzle decoded them).
 *
 * @internal
 */
export const takeMarked = (plan: TablePlan, row: Row): Row => {
  const captured: Row = {}
  for (const column of plan.capture) {
    captured[column.name] = row[MARK + column.name]
    delete row[MARK + column.name]
  }
  return captured
}

/**
 * A raw row (keyed by column name, driver values), as the driver gave it.
 *
 * @internal
 */
export const fromRaw = (plan: TablePlan, row: Row): Row => {
  const captured: Row = {}
  for (const column of plan.capture) {
    captured[column.name] = decode(column, row[column.name])
  }
  return captured
}

/**
 * The old values of a raw row.
 *
 * @internal
 */
export const oldFromRaw = (old: OldRows, row: Row): Row => {
  const captured: Row = {}
  for (const { column, name } of old.returning) {
    captured[column.name] = decode(column, row[name])
  }
  return captured
}

/**
 * Takes the old values out of a row the caller gets (Drizzle leaves them as the driver gave them).
 *
 * @internal
 */
export const takeOld = (old: OldRows, row: Row): Row => {
  const captured = oldFromRaw(old, row)
  for (const { name } of old.returning) {
    delete row[name]
  }
  return captured
}

/**
 * A raw array row, whose last columns are the captured ones.
 *
 * @internal
 */
export const fromTail = (plan: TablePlan, row: ReadonlyArray<unknown>): Row => {
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
  /** The old values of the rows, in their order, when the statement read them. */
  readonly before?: ReadonlyArray<Row> | undefined
}

/**
 * Calls a method of the driver's prepared query (never the instrumented one's).
 *
 * @internal
 */
export const call = (prepared: unknown, method: Method, args: ReadonlyArray<unknown>): unknown => {
  const f: unknown = hasProperty(prepared, method) ? prepared[method] : undefined
  if (typeof f !== "function") {
    throw new TypeError(`cachefx: this Drizzle prepared query has no method ${method}`)
  }
  return Reflect.apply(f, prepared, args)
}

/** @internal */
export const rowsOf = (result: unknown): Array<Row> => Array.isArray(result) ? result : []
