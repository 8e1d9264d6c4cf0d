/**
 * @since 0.1.0
 */

/**
 * The `cachefx` command: `cachefx rules <module>`.
 *
 * @since 0.1.0
 */
export * as Cli from "./Cli.js"
