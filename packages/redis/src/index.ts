/**
 * @since 0.1.0
 */
export * as RedisStore from "./RedisStore.js"
