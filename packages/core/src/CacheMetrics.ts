/**
 * The metrics cachefx records. Each counter carries a `cache` tag with the cached
 * value's name, so one dashboard shows every cached value side by side.
 *
 * @since 0.1.0
 */
import * as Metric from "effect/Metric"
import * as timer from "./internal/timer.js"

/**
 * Calls answered from a fresh entry.
 *
 * @example
 * ```ts
 * import { Effect, Metric } from "effect"
 * import { CacheMetrics } from "@cachefx/core"
 *
 * const hits = Metric.value(CacheMetrics.hits).pipe(Effect.map((state) => state.count))
 * ```
 *
 * @since 0.1.0
 * @category metrics
 */
export const hits = Metric.counter("cachefx_hits_total", {
  description: "cached calls answered from a fresh entry",
  incremental: true
})

/**
 * Calls that computed their value (no entry, an expired one, or one that no longer
 * decodes).
 *
 * @example
 * ```ts
 * import { Metric } from "effect"
 * import { CacheMetrics } from "@cachefx/core"
 *
 * const misses = Metric.value(CacheMetrics.misses)
 * ```
 *
 * @since 0.1.0
 * @category metrics
 */
export const misses = Metric.counter("cachefx_misses_total", {
  description: "cached calls that computed their value",
  incremental: true
})

/**
 * Calls answered from a stale entry while a background refresh ran.
 *
 * @example
 * ```ts
 * import { Metric } from "effect"
 * import { CacheMetrics } from "@cachefx/core"
 *
 * const stale = Metric.value(CacheMetrics.staleHits)
 * ```
 *
 * @since 0.1.0
 * @category metrics
 */
export const staleHits = Metric.counter("cachefx_stale_hits_total", {
  description: "cached calls answered from a stale entry",
  incremental: true
})

/**
 * Store failures, timeouts, values that could not be encoded or decoded, and keys that
 * could not be built. None of them fails a cached call while fail-open is on.
 *
 * @example
 * ```ts
 * import { Metric } from "effect"
 * import { CacheMetrics } from "@cachefx/core"
 *
 * const errors = Metric.value(CacheMetrics.errors)
 * ```
 *
 * @since 0.1.0
 * @category metrics
 */
export const errors = Metric.counter("cachefx_errors_total", {
  description: "store errors, timeouts and values or keys that could not be encoded",
  incremental: true
})

/**
 * Store operations skipped at once because the store's circuit breaker was open (its
 * operations kept timing out): the cached call computed without the store (tagged with
 * the `store`).
 *
 * @example
 * ```ts
 * import { Metric } from "effect"
 * import { CacheMetrics } from "@cachefx/core"
 *
 * const skipped = Metric.value(CacheMetrics.storeSkipped)
 * ```
 *
 * @since 0.3.0
 * @category metrics
 */
export const storeSkipped = Metric.counter("cachefx_store_skipped_total", {
  description: "store operations skipped while the store's circuit breaker was open",
  incremental: true
})

/**
 * Computed values the guarded fill refused to store, because their key, partition or
 * namespace was invalidated while they were computed (or the fill window passed).
 *
 * @example
 * ```ts
 * import { Metric } from "effect"
 * import { CacheMetrics } from "@cachefx/core"
 *
 * const skipped = Metric.value(CacheMetrics.fillsSkipped)
 * ```
 *
 * @since 0.1.0
 * @category metrics
 */
export const fillsSkipped = Metric.counter("cachefx_fills_skipped_total", {
  description: "computed values not stored because an invalidation raced them",
  incremental: true
})

/**
 * Invalidation events the engine handled (tagged with the `table`).
 *
 * @example
 * ```ts
 * import { Metric } from "effect"
 * import { CacheMetrics } from "@cachefx/core"
 *
 * const events = Metric.value(CacheMetrics.invalidationEvents)
 * ```
 *
 * @since 0.1.0
 * @category metrics
 */
export const invalidationEvents = Metric.counter("cachefx_invalidation_events_total", {
  description: "invalidation events handled by the engine",
  incremental: true
})

/**
 * Invalidation jobs run (one per rule and event, tagged with `cache` and `rule`).
 *
 * @example
 * ```ts
 * import { Metric } from "effect"
 * import { CacheMetrics } from "@cachefx/core"
 *
 * const jobs = Metric.value(CacheMetrics.invalidationJobs)
 * ```
 *
 * @since 0.1.0
 * @category metrics
 */
export const invalidationJobs = Metric.counter("cachefx_invalidation_jobs_total", {
  description: "invalidation jobs run",
  incremental: true
})

/**
 * Exact keys deleted by invalidation rules.
 *
 * @example
 * ```ts
 * import { Metric } from "effect"
 * import { CacheMetrics } from "@cachefx/core"
 *
 * const deleted = Metric.value(CacheMetrics.keysDeleted)
 * ```
 *
 * @since 0.1.0
 * @category metrics
 */
export const keysDeleted = Metric.counter("cachefx_invalidation_keys_deleted_total", {
  description: "exact keys deleted by invalidation rules",
  incremental: true
})

/**
 * Partitions wiped by invalidation rules.
 *
 * @example
 * ```ts
 * import { Metric } from "effect"
 * import { CacheMetrics } from "@cachefx/core"
 *
 * const wiped = Metric.value(CacheMetrics.partitionsWiped)
 * ```
 *
 * @since 0.1.0
 * @category metrics
 */
export const partitionsWiped = Metric.counter("cachefx_invalidation_partitions_wiped_total", {
  description: "partitions wiped by invalidation rules",
  incremental: true
})

/**
 * Namespaces wiped by invalidation rules (rows that resolve no partition).
 *
 * @example
 * ```ts
 * import { Metric } from "effect"
 * import { CacheMetrics } from "@cachefx/core"
 *
 * const wiped = Metric.value(CacheMetrics.namespacesWiped)
 * ```
 *
 * @since 0.1.0
 * @category metrics
 */
export const namespacesWiped = Metric.counter("cachefx_invalidation_namespaces_wiped_total", {
  description: "namespaces wiped by invalidation rules",
  incremental: true
})

/**
 * Keys recomputed by rules with `rewarm`.
 *
 * @example
 * ```ts
 * import { Metric } from "effect"
 * import { CacheMetrics } from "@cachefx/core"
 *
 * const rewarms = Metric.value(CacheMetrics.rewarms)
 * ```
 *
 * @since 0.1.0
 * @category metrics
 */
export const rewarms = Metric.counter("cachefx_invalidation_rewarms_total", {
  description: "keys recomputed by rewarm rules",
  incremental: true
})

/**
 * Invalidation jobs that still failed after their retries (each is also logged).
 *
 * @example
 * ```ts
 * import { Metric } from "effect"
 * import { CacheMetrics } from "@cachefx/core"
 *
 * const failures = Metric.value(CacheMetrics.invalidationFailures)
 * ```
 *
 * @since 0.1.0
 * @category metrics
 */
export const invalidationFailures = Metric.counter("cachefx_invalidation_failures_total", {
  description: "invalidation jobs that failed after their retries",
  incremental: true
})

/**
 * Cached values with invalidation rules that ran in a runtime whose
 * `InvalidationEngine` was not given them (`InvalidationEngine.layer({ caches })`): no
 * write invalidates them there. Counted once per cached value and engine, tagged with
 * `cache`, along with a warning in the log.
 *
 * @example
 * ```ts
 * import { Metric } from "effect"
 * import { CacheMetrics } from "@cachefx/core"
 *
 * const forgotten = Metric.value(CacheMetrics.unregisteredCaches)
 * ```
 *
 * @since 0.2.0
 * @category metrics
 */
export const unregisteredCaches = Metric.counter("cachefx_unregistered_caches_total", {
  description: "cached values with rules that ran where the invalidation engine does not know them",
  incremental: true
})

/**
 * Invalidations that failed because the store did not answer and that the engine will
 * apply once it answers again: jobs, plus the namespaces it will wipe instead of the jobs
 * past its bound (`InvalidationEngine.Options.replay`). Nonzero only while the store is
 * unreachable; a value that stays up means the store did not come back.
 *
 * @example
 * ```ts
 * import { Metric } from "effect"
 * import { CacheMetrics } from "@cachefx/core"
 *
 * const toReplay = Metric.value(CacheMetrics.invalidationsToReplay)
 * ```
 *
 * @since 0.2.0
 * @category metrics
 */
export const invalidationsToReplay = Metric.gauge("cachefx_invalidations_to_replay", {
  description: "failed invalidations waiting for the store to answer again"
})

/**
 * The age in seconds of the oldest row of a transactional outbox (`@cachefx/drizzle`),
 * tagged with `table`, as its relay last saw it; 0 when the outbox is empty. A row stays
 * until every job of its event was applied, so an age that keeps growing means
 * invalidations that have not been applied (the store is down, or a rule keeps failing).
 *
 * @example
 * ```ts
 * import { Metric } from "effect"
 * import { CacheMetrics } from "@cachefx/core"
 *
 * const age = Metric.value(Metric.tagged(CacheMetrics.outboxOldestRowAge, "table", "cachefx_outbox"))
 * ```
 *
 * @since 0.2.0
 * @category metrics
 */
export const outboxOldestRowAge = Metric.gauge("cachefx_outbox_oldest_row_age_seconds", {
  description: "age of the oldest row of a transactional outbox, as its relay last saw it"
})

/**
 * Invalidation jobs handed to an in-process dispatcher (`inline`, `pool`,
 * `background`) that have not finished running, tagged with `dispatcher`: a pool whose
 * gauge keeps growing is slower than the writes it serves. A broker's jobs wait in
 * the broker, which has its own figures.
 *
 * @example
 * ```ts
 * import { Metric } from "effect"
 * import { CacheMetrics } from "@cachefx/core"
 *
 * const pending = Metric.value(Metric.tagged(CacheMetrics.invalidationJobsPending, "dispatcher", "pool"))
 * ```
 *
 * @since 0.1.0
 * @category metrics
 */
export const invalidationJobsPending = Metric.gauge("cachefx_invalidation_jobs_pending", {
  description: "invalidation jobs handed to a dispatcher and not yet run"
})

/**
 * How long each store operation took, in milliseconds, tagged with the store
 * (`store`: `"redis"`, or the name given to `CacheStore.withTelemetry`) and the operation
 * (`operation`: `get`, `getMany`, `set`, `invalidate`, `deleteVersions`). Failed and timed-out operations count too. The memory store (and
 * the in-memory tier of the Redis store) is not timed: its operations take well under a
 * microsecond, and timing them tripled the cost of a hit (`npm run bench`).
 *
 * @example
 * ```ts
 * import { Effect, Metric } from "effect"
 * import { CacheMetrics } from "@cachefx/core"
 *
 * const redisGets = Metric.value(
 *   CacheMetrics.storeDuration.pipe(Metric.tagged("store", "redis"), Metric.tagged("operation", "get"))
 * ).pipe(Effect.map((state) => state.count))
 * ```
 *
 * @since 0.3.0
 * @category metrics
 */
export const storeDuration = timer.storeOperations.metric

/**
 * Entries a memory store holds, tagged with the store (`store`): set after each fill and
 * invalidation. Entries a namespace wipe or their expiry made dead count until a read or
 * an eviction drops them.
 *
 * @example
 * ```ts
 * import { Effect, Metric } from "effect"
 * import { CacheMetrics } from "@cachefx/core"
 *
 * const entries = Metric.value(CacheMetrics.memoryEntries.pipe(Metric.tagged("store", "memory")))
 * ```
 *
 * @since 0.3.0
 * @category metrics
 */
export const memoryEntries = Metric.gauge("cachefx_memory_entries", {
  description: "entries a memory store holds"
})

/**
 * Entries a memory store evicted to stay within its capacity (not read lately
 * first), tagged with the store (`store`). Entries dropped because they expired or were
 * invalidated are not evictions.
 *
 * @example
 * ```ts
 * import { Metric } from "effect"
 * import { CacheMetrics } from "@cachefx/core"
 *
 * const evictions = Metric.value(CacheMetrics.memoryEvictions.pipe(Metric.tagged("store", "memory")))
 * ```
 *
 * @since 0.3.0
 * @category metrics
 */
export const memoryEvictions = Metric.counter("cachefx_memory_evictions_total", {
  description: "entries a memory store evicted to stay within its capacity",
  incremental: true
})

/**
 * How long each call of a cached value took, in milliseconds, tagged with the cached
 * value (`cache`) and how the call was answered (`status`: `Hit`, `Miss`, `Stale`,
 * `Bypass`, `Refresh`): every call, `withStatus` and `refresh`, fast hits included. A
 * call that fails is timed under `Miss` (`Refresh` for `refresh`, `Bypass` with caching
 * disabled); an interrupted one is not timed. `many` and `peek` are not calls: they are
 * not timed here. Buckets from 1 µs (a memory hit takes a few) to 10 s. The fiber's own
 * metric labels (`Effect.tagMetrics`) are not added, as on the other metrics of
 * `cached()`. Read it tagged in this order, `cache` then `status`, as below: Effect
 * names a metric by its tags in order.
 *
 * @example
 * ```ts
 * import { Effect, Metric } from "effect"
 * import { CacheMetrics } from "@cachefx/core"
 *
 * const userHits = Metric.value(
 *   CacheMetrics.callDuration.pipe(Metric.tagged("cache", "users"), Metric.tagged("status", "Hit"))
 * ).pipe(Effect.map((state) => state.count))
 * ```
 *
 * @since 0.3.0
 * @category metrics
 */
export const callDuration = timer.calls.metric
