/**
 * @since 0.1.0
 */
export * as BullMQDispatcher from "./BullMQDispatcher.js"

/**
 * @since 0.1.0
 */
export * as BullMQWorker from "./BullMQWorker.js"
