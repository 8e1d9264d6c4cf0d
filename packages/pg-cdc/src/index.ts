/**
 * @since 0.1.0
 */
export * as ChangeStream from "./ChangeStream.js"

/**
 * @since 0.1.0
 */
export * as ChangeStreamError from "./ChangeStreamError.js"

/**
 * @since 0.1.0
 */
export * as ChangeStreamMetrics from "./ChangeStreamMetrics.js"

/**
 * @since 0.1.0
 */
export * as Slot from "./Slot.js"
