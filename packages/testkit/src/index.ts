/**
 * What the tests of every package share to inject faults: a TCP proxy that delays,
 * drops and black-holes, `redis-server`s started on free ports and stopped by PID, and
 * the shared Redis with its cleanup. Tests only (private, never published).
 */
export * from "./FaultProxy.js"
export * from "./RedisServer.js"
export * from "./SharedRedis.js"
