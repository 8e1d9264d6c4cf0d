import type { InvalidationEngine } from "@cachefx/core"

const none = "no invalidation rules"

const flags = (rule: InvalidationEngine.RuleDescription): string =>
  `${rule.rewarm ? ", rewarm" : ""}${rule.soft ? ", soft" : ""}`

/** @internal */
export const text = (description: InvalidationEngine.Description): string =>
  description.tables.length === 0 ? none : description.tables.map(({ rules, table }) =>
    [
      table,
      ...rules.map((rule) => {
        const mapping = Object.entries(rule.fieldMapping).map(([input, column]) => `${input}=${column}`).join(", ")
        const reads = rule.kind === "custom" ? "custom invalidator" : `reads ${mapping}`
        return `  ${rule.rule} → ${rule.cache} (namespace ${rule.namespace}): ${reads}; on ${
          rule.on.join("/")
        }${flags(rule)}; dispatcher ${rule.dispatcher}`
      })
    ].join("\n")
  ).join("\n\n")

/** A label inside a Mermaid node's quotes: its own quotes and angle brackets as entities. */
const label = (lines: ReadonlyArray<string>): string =>
  `"${lines.map((line) => line.replace(/"/g, "#quot;").replace(/</g, "#lt;").replace(/>/g, "#gt;")).join("<br/>")}"`

/** @internal */
export const mermaid = (description: InvalidationEngine.Description): string => {
  if (description.tables.length === 0) {
    return `flowchart LR\n  none[${label([none])}]`
  }
  const lines = ["flowchart LR"]
  // one node per cached value, however many rules point at it
  const caches = new Map<string, string>()
  const cacheNode = (rule: InvalidationEngine.RuleDescription): string => {
    const key = JSON.stringify([rule.cache, rule.namespace])
    const known = caches.get(key)
    if (known !== undefined) {
      return known
    }
    const id = `c${caches.size}`
    caches.set(key, id)
    const namespace = rule.namespace === rule.cache ? [] : [`namespace ${rule.namespace}`]
    lines.push(`  ${id}[${label([rule.cache, ...namespace])}]`)
    return id
  }
  description.tables.forEach(({ rules, table }, t) => {
    lines.push(`  t${t}[(${label([table])})]`)
    rules.forEach((rule, r) => {
      const id = `r${t}_${r}`
      const custom = rule.kind === "custom" ? "custom; " : ""
      lines.push(`  ${id}{{${label([rule.rule, `${custom}on ${rule.on.join("/")}${flags(rule)}; ${rule.dispatcher}`])}}}`)
      lines.push(`  t${t} --> ${id}`)
      lines.push(`  ${id} --> ${cacheNode(rule)}`)
    })
  })
  return lines.join("\n")
}
