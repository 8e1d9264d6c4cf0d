/**
 * @since 0.1.0
 */
export * as RabbitMQDispatcher from "./RabbitMQDispatcher.js"

/**
 * @since 0.1.0
 */
export * as RabbitMQWorker from "./RabbitMQWorker.js"
