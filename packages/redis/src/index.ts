/**
 * @since 0.1.0
 */
export * as RedisStore from "./RedisStore.js"

/**
 * @since 0.2.0
 */
export * as RedisSync from "./RedisSync.js"

/**
 * @since 0.1.0
 */
export * as StreamDispatcher from "./StreamDispatcher.js"

/**
 * @since 0.1.0
 */
export * as StreamWorker from "./StreamWorker.js"
