/**
 * @since 0.1.0
 */

/**
 * The `cachefx` command: `cachefx rules <module>`.
 *
 * @since 0.1.0
 */
export * as Cli from "./Cli.js"

/**
 * Finding an application's cached values in a module's exports.
 *
 * @since 0.1.0
 */
export * as Discovery from "./Discovery.js"

/**
 * A description of the invalidation rules as text, JSON or a Mermaid flowchart.
 *
 * @since 0.1.0
 */
export * as Format from "./Format.js"


/**
 * `cachefx cdc create | inspect | drop`: the slot and publication of the change stream.
 *
 * @since 0.1.0
 */
export * as Cdc from "./Cdc.js"
