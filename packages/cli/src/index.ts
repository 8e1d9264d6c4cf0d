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
 * `cachefx cdc create | inspect | drop`: the slot and publication of the change stream.
 *
 * @since 0.1.0
 */
export * as Cdc from "./Cdc.js"
