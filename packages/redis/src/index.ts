/**
 * @since 0.1.0
 */
export * as RedisStore from "./RedisStore.js"

/**
 * @since 0.1.0
 */
export * as StreamDispatcher from "./StreamDispatcher.js"

/**
 * @since 0.1.0
 */
export * as StreamWorker from "./StreamWorker.js"
