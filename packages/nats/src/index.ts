/**
 * @since 0.2.0
 */
export * as NatsSync from "./NatsSync.js"
