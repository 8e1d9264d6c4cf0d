import * as Duration from "effect/Duration"
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import * as MetricLabel from "effect/MetricLabel"

/** The name, boundaries (ms) and description of `CacheMetrics.storeDuration`. @internal */
export const name = "cachefx_store_operation_duration"
/** @internal */
export const boundaries: ReadonlyArray<number> = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500]
/** @internal */
export const description = "how long a store operation took"

/**
 * The histogram under `CacheMetrics.storeDuration` (a timer: this histogram of
 * milliseconds, tagged `time_unit`), updated directly with one labels array per store
 * and operation: Effect caches a metric's hook by the identity of that array, while the
 * timer, and every `Metric.tagged` over it, builds a new array per update and so a new
 * metric key, hashed and looked up each time (about 3 µs of client CPU per Redis
 * operation: `npm run bench:profile -- redis`).
 *
 * @internal
 */
export const histogram = Metric.histogram(name, MetricBoundaries.fromIterable(boundaries), description)

/**
 * `CacheMetrics.storeDuration`: what `Metric.timerWithBoundaries` makes, over `histogram`
 * itself, since two histograms of equal boundaries are two metrics (their boundaries
 * compare by reference).
 *
 * @internal
 */
export const timer = Metric.mapInput(Metric.tagged(histogram, "time_unit", "milliseconds"), Duration.toMillis)

/**
 * The labels of one store's operation, in the order the timer tagged with `store` then
 * `operation` gives them, so that both name one metric.
 *
 * @internal
 */
export const labels = (store: string, operation: string): ReadonlyArray<MetricLabel.MetricLabel> => [
  MetricLabel.make("time_unit", "milliseconds"),
  MetricLabel.make("store", store),
  MetricLabel.make("operation", operation)
]
