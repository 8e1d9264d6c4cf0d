/**
 * The change stream's metrics: read them with `Metric.value`, or export them with
 * `@effect/opentelemetry` like the rest of cachefx's.
 *
 * @since 0.1.0
 */
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"

/**
 * Milliseconds from a transaction's commit (the commit time PostgreSQL records) to the
 * moment every job of its events was applied, one sample per transaction that touched a
 * table some rule names. Clocks of the database and the consumer differ by their skew.
 *
 * @example
 * ```ts
 * import { Effect, Metric } from "effect"
 * import { ChangeStreamMetrics } from "@cachefx/pg-cdc"
 *
 * const p99 = Effect.map(Metric.value(ChangeStreamMetrics.lag), (state) => state.max)
 * ```
 *
 * @since 0.1.0
 * @category metrics
 */
export const lag = Metric.histogram(
  "cachefx_cdc_lag_milliseconds",
  MetricBoundaries.exponential({ start: 1, factor: 2, count: 16 }),
  "commit time of a transaction to its invalidations applied"
)

/**
 * Bytes of WAL the slot keeps on the server's disk (`pg_current_wal_lsn()` minus the
 * slot's `restart_lsn`), read every `metricsInterval`. It grows while no consumer reads
 * the slot: alert on it, and cap it with `max_slot_wal_keep_size`.
 *
 * @example
 * ```ts
 * import { Effect, Metric } from "effect"
 * import { ChangeStreamMetrics } from "@cachefx/pg-cdc"
 *
 * const retained = Effect.map(Metric.value(ChangeStreamMetrics.retainedWalBytes), (state) => state.value)
 * ```
 *
 * @since 0.1.0
 * @category metrics
 */
export const retainedWalBytes = Metric.gauge("cachefx_cdc_retained_wal_bytes", {
  description: "WAL the replication slot keeps on the server's disk"
})

/**
 * Invalidation events published from the change stream (their rate is events per
 * second).
 *
 * @example
 * ```ts
 * import { Effect, Metric } from "effect"
 * import { ChangeStreamMetrics } from "@cachefx/pg-cdc"
 *
 * const published = Effect.map(Metric.value(ChangeStreamMetrics.events), (state) => state.count)
 * ```
 *
 * @since 0.1.0
 * @category metrics
 */
export const events = Metric.counter("cachefx_cdc_events_total", {
  description: "invalidation events published from the change stream",
  incremental: true
})

/**
 * Committed transactions applied and confirmed to PostgreSQL.
 *
 * @example
 * ```ts
 * import { Effect, Metric } from "effect"
 * import { ChangeStreamMetrics } from "@cachefx/pg-cdc"
 *
 * const applied = Effect.map(Metric.value(ChangeStreamMetrics.transactions), (state) => state.count)
 * ```
 *
 * @since 0.1.0
 * @category metrics
 */
export const transactions = Metric.counter("cachefx_cdc_transactions_total", {
  description: "committed transactions applied and confirmed",
  incremental: true
})
