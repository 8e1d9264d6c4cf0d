import { type Cached, InvalidationRule } from "@cachefx/core"
import { type Column, getTableColumns, getTableName, is, type SQL, sql, Table } from "drizzle-orm"
import * as Either from "effect/Either"
import * as Option from "effect/Option"

/**
 * What the rules of one table need from a write to it.
 *
 * @internal
 */
export interface TablePlan {
  readonly table: Table
  readonly name: string
  /** The columns every captured row carries: mapped, watched and primary key (all of them when a rule has `when` or is custom). */
  readonly capture: ReadonlyArray<Column>
  /** Database names of the mapped and watched columns (all, under a custom rule): an update that sets one reads the old rows too. */
  readonly tracked: ReadonlySet<string>
  /** The single-column primary key that pairs old and new rows, when the table has one. */
  readonly primaryKey: Column | undefined
  /** `capture` as one raw RETURNING list, for statements whose caller reads no rows. */
  readonly returning: SQL
  /** The table's columns by property name. */
  readonly columns: Readonly<Record<string, Column>>
  /** How an update reads its rows' old values itself, where the table has a single-column primary key. */
  readonly old: OldRows | undefined
}

/**
 * The parts of an update that reads the old values of the rows it changes in the same
 * statement, on PostgreSQL: `update t set … from (select <capture> from t where <where>
 * for update) old where t.<pk> = old.<pk> returning …, old.<capture>`. The sub-select
 * locks the rows before the update changes them, so the old values are the ones the
 * update replaced even when another transaction changed them in between.
 *
 * @internal
 */
export interface OldRows {
  readonly alias: string
  /** The sub-select's columns: the captured ones, named `c0`, `c1`, … */
  readonly select: SQL
  /** The join of the table to the sub-select, by primary key. */
  readonly join: SQL
  /** The sub-select's columns, each under the marked name of the captured column it read. */
  readonly returning: ReadonlyArray<{ readonly column: Column; readonly name: string; readonly field: SQL }>
}

const BEFORE = "__cachefx_before:"

const oldRows = (capture: ReadonlyArray<Column>, primaryKey: Column): OldRows => {
  const alias = "__cachefx_old"
  const at = (i: number) => sql`${sql.identifier(alias)}.${sql.identifier(`c${i}`)}`
  return {
    alias,
    select: sql.join(capture.map((column, i) => sql`${column} as ${sql.identifier(`c${i}`)}`), sql`, `),
    join: sql`${primaryKey} = ${at(capture.indexOf(primaryKey))}`,
    returning: capture.map((column, i) => ({ column, name: BEFORE + column.name, field: at(i) }))
  }
}

/**
 * The plan of a Drizzle table under a list of cached values, or undefined when no rule
 * names the table (its writes are then left alone).
 *
 * @internal
 */
export type Planner = (table: unknown) => TablePlan | undefined

/**
 * The database names of the columns a rule reads, as the engine resolves them: every
 * column of the table for a custom rule (its invalidator may read any column of the rows
 * before and after) and for a rule the engine rejects (none of its events is applied).
 */
const readBy = (rule: InvalidationRule.InvalidationRule): ReadonlyArray<string> | "all" =>
  Option.isSome(rule.run) ? "all" : Either.match(InvalidationRule.columns(rule), {
    onLeft: () => "all",
    onRight: ({ mapping, watch }) => [...mapping.map(([, column]) => column), ...watch ?? []]
  })

const planOf = (table: Table, rules: ReadonlyArray<InvalidationRule.InvalidationRule>): TablePlan => {
  const columns = getTableColumns(table)
  const all = Object.values(columns)
  const primaryKey = all.filter((column) => column.primary)
  const read = rules.map(readBy)
  const tracked = read.includes("all")
    ? all
    : all.filter((column) => read.some((names) => names !== "all" && names.includes(column.name)))
  const capture = read.includes("all") || rules.some((rule) => rule.options.when !== undefined)
    ? all
    : all.filter((column) => tracked.includes(column) || primaryKey.includes(column))
  const key = primaryKey.length === 1 ? primaryKey[0] : undefined
  return {
    table,
    name: getTableName(table),
    capture,
    tracked: new Set(tracked.map((column) => column.name)),
    primaryKey: key,
    // Drizzle renders each column by its database name (casing applied); the alias keys raw rows by `name`.
    returning: sql.join(capture.map((column) => sql`${column} as ${sql.identifier(column.name)}`), sql`, `),
    columns,
    old: key === undefined ? undefined : oldRows(capture, key)
  }
}

/**
 * Groups the rules of cached values by table name; a table's plan is made on its first
 * write and kept.
 *
 * @internal
 */
export const planner = (caches: ReadonlyArray<Cached.Cached.Any>): Planner => {
  const byName = new Map<string, Array<InvalidationRule.InvalidationRule>>()
  for (const rule of caches.flatMap((cached) => cached.rules)) {
    byName.set(rule.table, [...byName.get(rule.table) ?? [], rule])
  }
  const plans = new WeakMap<Table, TablePlan>()
  return (table) => {
    if (!is(table, Table)) {
      return undefined
    }
    const known = plans.get(table)
    if (known !== undefined) {
      return known
    }
    const rules = byName.get(getTableName(table))
    if (rules === undefined) {
      return undefined
    }
    const plan = planOf(table, rules)
    plans.set(table, plan)
    return plan
  }
}

/**
 * The captured columns of a plan by database name, for a select of the old rows on a
 * database of the dialect whose tables `fits` says the plan's is one of.
 *
 * @internal
 */
export const captured = <C extends Column>(
  plan: TablePlan,
  fits: (table: Table) => boolean,
  kind: abstract new(...args: Array<any>) => C
): Record<string, C> => {
  if (!fits(plan.table)) {
    throw new TypeError(`cachefx: cannot read the rows of table "${plan.name}" through this database`)
  }
  return Object.fromEntries(plan.capture.filter((column): column is C => column instanceof kind).map((column) => [column.name, column]))
}
