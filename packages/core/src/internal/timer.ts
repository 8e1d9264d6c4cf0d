import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as DefaultServices from "effect/DefaultServices"
import * as Duration from "effect/Duration"
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import type * as MetricHook from "effect/MetricHook"
import * as MetricKey from "effect/MetricKey"
import type * as MetricKeyType from "effect/MetricKeyType"
import * as MetricLabel from "effect/MetricLabel"
import type * as MetricState from "effect/MetricState"

/**
 * The histogram of a timer under fixed labels, updated with milliseconds.
 *
 * @internal
 */
export type Hook = MetricHook.MetricHook<number, MetricState.MetricState.Histogram>

/**
 * A timer metric (what `Metric.timerWithBoundaries` makes: a histogram in milliseconds
 * tagged `time_unit`) and the hooks of its histogram under fixed labels.
 *
 * @internal
 */
export interface Timer {
  readonly metric: Metric.Metric<MetricKeyType.MetricKeyType.Histogram, Duration.Duration, MetricState.MetricState.Histogram>
  /**
   * The hook of the histogram under `labels`, as `metric.pipe(Metric.tagged(…), …)` in
   * the order of `labels` reads it. Take it once and keep it: `hook.update(millis)` is
   * all an update then costs. Updating `metric` itself with a labels array kept for the
   * purpose gains nothing: the timer adds its `time_unit` tag to the labels of each
   * update in a new array, so the hook is looked up in the registry (the key hashed)
   * every time, about 2.7 µs of CPU against 0.07 µs for the hook (`Metric` of
   * Effect 3.22, measured on the machine of `npm run bench`).
   */
  readonly hook: (labels: ReadonlyArray<MetricLabel.MetricLabel>) => Hook
}

const timeUnit = MetricLabel.make("time_unit", "milliseconds")

/**
 * A timer and its hooks. Effect compares the boundaries of two histograms by identity:
 * both are made from one instance, so they name one metric key.
 *
 * @internal
 */
export const make = (name: string, boundaries: ReadonlyArray<number>, description: string): Timer => {
  const bounds = MetricBoundaries.fromIterable(boundaries)
  const key = MetricKey.histogram(name, bounds, description)
  return {
    metric: Metric.histogram(name, bounds, description).pipe(
      Metric.tagged("time_unit", "milliseconds"),
      Metric.mapInput(Duration.toMillis)
    ),
    hook: (labels) => Metric.globalMetricRegistry.get(MetricKey.taggedWithLabels(key, [timeUnit, ...labels]))
  }
}

/** The clock of every runtime that was given no other: its time is `performance.now()`'s. */
const defaultClock = Context.get(DefaultServices.liveServices, Clock.Clock)

/**
 * Now, in milliseconds from an origin of the clock's: `performance.now()` on Effect's
 * own clock (its nanoseconds are a `bigint` from `process.hrtime`, which costs a hit
 * more), the clock's nanoseconds on any other (a `TestClock`).
 *
 * @internal
 */
export const now = (clock: Clock.Clock): number =>
  clock === defaultClock ? performance.now() : Number(clock.unsafeCurrentTimeNanos()) / 1e6

/**
 * `CacheMetrics.callDuration`. The buckets start at 1 µs: a memory hit takes a few.
 *
 * @internal
 */
export const calls = make(
  "cachefx_call_duration",
  [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000],
  "how long a cached call took, by cache and status"
)

/**
 * `CacheMetrics.storeDuration`.
 *
 * @internal
 */
export const storeOperations = make(
  "cachefx_store_operation_duration",
  [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500],
  "how long a store operation took"
)
