/**
 * @since 0.1.0
 */
export * as PgBossDispatcher from "./PgBossDispatcher.js"

/**
 * @since 0.1.0
 */
export * as PgBossWorker from "./PgBossWorker.js"
