import * as Either from "effect/Either"
import { hasProperty } from "effect/Predicate"
import { CacheDefinitionError } from "../CacheError.js"

// drizzle-orm keeps a table's name and columns under these registered symbols; reading
// them structurally keeps core free of a dependency on drizzle-orm.
const NameSymbol = Symbol.for("drizzle:Name")
const ColumnsSymbol = Symbol.for("drizzle:Columns")

/**
 * A table as rules see it: its name and, for a Drizzle table, the database name of
 * each column under both its database name and its property name.
 *
 * @internal
 */
export interface Table {
  readonly name: string
  readonly columns: ReadonlyMap<string, string> | undefined
}

const drizzleName = (u: unknown): string | undefined =>
  hasProperty(u, NameSymbol) && typeof u[NameSymbol] === "string" ? u[NameSymbol] : undefined

const isColumn = (u: unknown): u is { readonly name: string; readonly table: unknown } =>
  hasProperty(u, "name") && typeof u.name === "string" && hasProperty(u, "table")

/**
 * The name of a table given by name or as a Drizzle table. Throws a
 * `CacheDefinitionError` for anything else.
 *
 * @internal
 */
export const tableName = (table: string | object): string => {
  const name = typeof table === "string" ? table : drizzleName(table)
  if (name === undefined) {
    throw new CacheDefinitionError({
      subject: "InvalidationRule table",
      reason: "expected a Drizzle table (from pgTable, mysqlTable or sqliteTable) or a table name"
    })
  }
  return name
}

/** @internal */
export const describe = (table: string | object): Table => {
  const name = tableName(table)
  if (typeof table === "string" || !hasProperty(table, ColumnsSymbol)) {
    return { name, columns: undefined }
  }
  const columns = new Map<string, string>()
  const entries = Object.entries(table[ColumnsSymbol] as Record<string, unknown>).filter(
    (entry): entry is [string, { readonly name: string; readonly table: unknown }] => isColumn(entry[1])
  )
  for (const [, column] of entries) {
    columns.set(column.name, column.name)
  }
  for (const [property, column] of entries) {
    if (!columns.has(property)) {
      columns.set(property, column.name)
    }
  }
  return { name, columns }
}

/**
 * The database name of a column of `table`, given by name (database or property name)
 * or as a column object; a reason when it is not one of the table's columns.
 *
 * @internal
 */
export const columnName = (table: Table, column: unknown): Either.Either<string, string> => {
  const unknown = (name: string) =>
    Either.left(
      `table "${table.name}" has no column "${name}" (its columns: ${[...new Set(table.columns?.values())].join(", ")})`
    )
  if (typeof column === "string") {
    const name = table.columns === undefined ? column : table.columns.get(column)
    return name === undefined ? unknown(column) : Either.right(name)
  }
  if (!isColumn(column)) {
    return Either.left(`${String(column)} is neither a column nor a column name`)
  }
  const owner = drizzleName(column.table)
  if (owner !== undefined && owner !== table.name) {
    return Either.left(`column "${column.name}" belongs to table "${owner}", not "${table.name}"`)
  }
  return table.columns === undefined || table.columns.has(column.name)
    ? Either.right(column.name)
    : unknown(column.name)
}
