/**
 * What the tests of every package share: the broker contract's fixture (the contract
 * itself, which loads vitest, is `@cachefx/testkit/BrokerContract`), and to inject faults: a TCP proxy that delays,
 * drops and black-holes, `redis-server`s started on free ports and stopped by PID, the
 * shared Redis with its cleanup, and the heap measured after full collections. Tests only (private, never published).
 */
export * from "./BrokerFixture.js"
export * from "./FaultProxy.js"
export * from "./Heap.js"
export * from "./RedisServer.js"
export * from "./SharedRedis.js"
export * from "./PersistentRedis.js"
