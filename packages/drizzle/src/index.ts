/**
 * @since 0.2.0
 */
export * as DrizzleError from "./DrizzleError.js"

/**
 * @since 0.1.0
 */
export * as DrizzleHooks from "./DrizzleHooks.js"
