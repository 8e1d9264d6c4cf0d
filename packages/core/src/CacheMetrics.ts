/**
 * The metrics cachefx records. Each counter carries a `cache` tag with the cached
 * value's name, so one dashboard shows every cached value side by side.
 *
 * @since 0.1.0
 */
import * as Metric from "effect/Metric"

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
