/**
 * @since 0.1.0
 */
export * as DrizzleHooks from "./DrizzleHooks.js"
