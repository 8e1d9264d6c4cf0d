/**
 * What `InvalidationEngine.describe` gives, written out three ways: `text` (one block
 * per table, one line per rule), `json` (the description itself) and `mermaid` (a
 * flowchart: tables → rules → cached values, each rule with its operations and
 * dispatcher).
 *
 * @since 0.1.0
 */
import type { InvalidationEngine } from "@cachefx/core"
import * as internal from "./internal/format.js"

/**
 * The formats `cachefx rules --format` knows.
 *
 * @example
 * ```ts
 * import { Format } from "@cachefx/cli"
 *
 * console.log(Format.formats) // ["text", "json", "mermaid"]
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export const formats = ["text", "json", "mermaid"] as const

/**
 * One of `formats`.
 *
 * @example
 * ```ts
 * import type { Format } from "@cachefx/cli"
 *
 * const format: Format.Format = "mermaid"
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type Format = typeof formats[number]

/**
 * A description as text: one block per table, one line per rule.
 *
 * @example
 * ```ts
 * import { Format } from "@cachefx/cli"
 *
 * console.log(Format.text({ tables: [] })) // "no invalidation rules"
 * ```
 *
 * @since 0.1.0
 * @category formatting
 */
export const text: (description: InvalidationEngine.Description) => string = internal.text

/**
 * A description as JSON, exactly as `InvalidationEngine.describe` gives it.
 *
 * @example
 * ```ts
 * import { Format } from "@cachefx/cli"
 *
 * console.log(Format.json({ tables: [] })) // {"tables": []} over three lines
 * ```
 *
 * @since 0.1.0
 * @category formatting
 */
export const json = (description: InvalidationEngine.Description): string => JSON.stringify(description, null, 2)

/**
 * A description as a Mermaid flowchart, left to right: one node per table, rule and
 * cached value; an edge from each table to its rules and from each rule to its cached
 * value. Paste it in a ```` ```mermaid ```` block.
 *
 * @example
 * ```ts
 * import { Format } from "@cachefx/cli"
 *
 * console.log(Format.mermaid({ tables: [] })) // "flowchart LR" and a note that there are no rules
 * ```
 *
 * @since 0.1.0
 * @category formatting
 */
export const mermaid: (description: InvalidationEngine.Description) => string = internal.mermaid

/**
 * A description in a given format.
 *
 * @example
 * ```ts
 * import { Format } from "@cachefx/cli"
 *
 * console.log(Format.render({ tables: [] }, "text")) // "no invalidation rules"
 * ```
 *
 * @since 0.1.0
 * @category formatting
 */
export const render = (description: InvalidationEngine.Description, format: Format): string =>
  format === "json" ? json(description) : format === "mermaid" ? mermaid(description) : text(description)
