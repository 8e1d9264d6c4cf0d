import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type * as InvalidationEngine from "../InvalidationEngine.js"
import * as InvalidationRule from "../InvalidationRule.js"

const operations = ["insert", "update", "delete"] as const

/**
 * Input → the database name of its column, as the engine reads event rows (a
 * Drizzle property name resolved); a rule the engine would refuse keeps the names as
 * given, for the engine's own error to name.
 */
const mappedColumns = (
  rule: InvalidationRule.InvalidationRule,
  fieldMapping: InvalidationRule.InvalidationRule["options"]["fieldMapping"]
): Record<string, string> => {
  const resolved = InvalidationRule.columns(rule)
  return Either.isRight(resolved)
    ? Object.fromEntries(resolved.right.mapping)
    : Object.fromEntries(
      Object.entries(fieldMapping).map(([input, column]) => [input, typeof column === "string" ? column : column.name])
    )
}

/** @internal */
export const describe = (options: InvalidationEngine.Options): InvalidationEngine.Description => {
  const byTable = new Map<string, Array<InvalidationEngine.RuleDescription>>()
  for (const cached of new Set(options.caches)) {
    for (const rule of cached.rules) {
      const { dispatcher, fieldMapping, on, rewarm, soft } = rule.options
      const described: InvalidationEngine.RuleDescription = {
        rule: rule.name,
        cache: cached.name,
        namespace: cached.key.namespace,
        kind: Option.isSome(rule.run) ? "custom" : "fieldMapping",
        fieldMapping: mappedColumns(rule, fieldMapping),
        on: on ?? operations,
        rewarm: rewarm === true,
        soft: soft === true,
        dispatcher: dispatcher ?? "inline"
      }
      byTable.set(rule.table, [...byTable.get(rule.table) ?? [], described])
    }
  }
  return {
    tables: [...byTable].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0).map(([table, rules]) => ({ table, rules }))
  }
}
