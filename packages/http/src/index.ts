/**
 * @since 0.1.0
 */
export * as RequestKeyField from "./RequestKeyField.js"

/**
 * @since 0.1.0
 */
export * as ResponseCache from "./ResponseCache.js"

/**
 * @since 0.1.0
 */
export * as ResponseCacheSettings from "./ResponseCacheSettings.js"
