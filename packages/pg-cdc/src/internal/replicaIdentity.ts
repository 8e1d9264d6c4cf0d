import type { InvalidationEngine } from "@cachefx/core"
import * as Effect from "effect/Effect"
import { ChangeStreamError, ReplicaIdentityError } from "../ChangeStreamError.js"
import { type Queryable, qualified, query } from "./sql.js"

/**
 * What the rules of one table need of its old rows: the columns they map (an update that
 * changes one must invalidate where the row was; a delete names the row by them), or the
 * whole row for a custom rule, which may read any column.
 *
 * @internal
 */
export interface Need {
  readonly table: string
  readonly columns: ReadonlySet<string>
  readonly whole: boolean
}

/** @internal */
export const needs = (description: InvalidationEngine.Description): ReadonlyArray<Need> =>
  description.tables.map(({ rules, table }) => {
    const columns = new Set<string>()
    let whole = false
    for (const rule of rules) {
      if (!rule.on.includes("update") && !rule.on.includes("delete")) {
        continue
      }
      if (rule.kind === "custom") {
        whole = true
      }
      for (const column of Object.values(rule.fieldMapping)) {
        columns.add(column)
      }
    }
    return { table, columns, whole }
  })

interface IdentityRow {
  readonly identity: string
  readonly columns: Array<string> | null
}

/** Why a table's identity does not serve its rules, or undefined when it does. */
const shortfall = (need: Need, row: IdentityRow): string | undefined => {
  if (row.identity === "f") {
    return undefined
  }
  const held = row.columns ?? []
  if (row.identity === "n" || held.length === 0) {
    return `it has no replica identity (${row.identity === "n" ? "REPLICA IDENTITY NOTHING" : "no primary key"}), ` +
      "so once it is in the publication PostgreSQL refuses its updates and deletes"
  }
  if (need.whole) {
    return `a custom rule reads its old rows whole, and its replica identity holds only ${held.join(", ")}`
  }
  const missing = [...need.columns].filter((column) => !held.includes(column))
  return missing.length === 0
    ? undefined
    : `its rules map ${missing.join(", ")}, which its replica identity (${held.join(", ")}) does not hold, ` +
      "so an update that changes them would leave the entries of the old values stale"
}

/**
 * Checks each table's `REPLICA IDENTITY` against what its rules need; with `apply`, sets
 * the tables that fall short to `REPLICA IDENTITY FULL` instead of failing.
 *
 * @internal
 */
export const check = (
  client: Queryable,
  schema: string,
  needs: ReadonlyArray<Need>,
  mode: "check" | "apply"
): Effect.Effect<void, ChangeStreamError | ReplicaIdentityError> =>
  Effect.forEach(needs, (need) =>
    Effect.gen(function*() {
      const [row] = yield* query<IdentityRow>(
        client,
        `reading the replica identity of ${schema}.${need.table}`,
        `select c.relreplident as identity,
           (select array_agg(a.attname::text order by a.attnum)
              from pg_index i join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey)
             where i.indrelid = c.oid
               and case c.relreplident when 'd' then i.indisprimary when 'i' then i.indisreplident else false end
           ) as columns
         from pg_class c join pg_namespace n on n.oid = c.relnamespace
         where n.nspname = $1 and c.relname = $2 and c.relkind in ('r', 'p')`,
        [schema, need.table]
      )
      if (row === undefined) {
        return yield* new ChangeStreamError({
          reason: `table ${schema}.${need.table}, which invalidation rules name, does not exist ` +
            "(is the schema option right?)"
        })
      }
      const reason = shortfall(need, row)
      if (reason === undefined) {
        return
      }
      const statement = `ALTER TABLE ${qualified(schema, need.table)} REPLICA IDENTITY FULL`
      if (mode === "check") {
        return yield* new ReplicaIdentityError({ table: `${schema}.${need.table}`, reason, statement })
      }
      yield* query(client, `setting the replica identity of ${schema}.${need.table}`, statement)
      yield* Effect.logInfo(`cachefx change stream: ran ${statement} (${reason})`)
    }), { discard: true })
