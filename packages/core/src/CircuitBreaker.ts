/**
 * A circuit breaker for a store: after `threshold` operations in a row have timed out,
 * the store is skipped at once (each skipped operation fails with a `CacheStoreError`
 * of reason `"CircuitOpen"`, which a cached call fails open on, and is counted in
 * `CacheMetrics.storeSkipped`), and one operation every `probeInterval` is let through
 * as a probe until one answers. A store that is black-holed (nothing answers, nothing
 * closes) then costs a caller nothing instead of a full timeout each.
 *
 * Any store can use it: `CacheStore.withBreaker` wraps a whole store; a store that runs
 * its own operations (the Redis store) reports each outcome to the breaker itself.
 *
 * @since 0.3.0
 */
import type * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { CacheStoreError } from "./CacheError.js"
import { CacheSettings, type Settings } from "./CacheSettings.js"
import * as internal from "./internal/circuitBreaker.js"

/**
 * Options of a breaker. Defaults come from the `CacheSettings` in force
 * (`breakerThreshold`, `breakerProbeInterval`) where a store reads them.
 *
 * @example
 * ```ts
 * import type { CircuitBreaker } from "@cachefx/core"
 *
 * const options: CircuitBreaker.Options = { threshold: 5, probeInterval: "1 second" }
 * ```
 *
 * @since 0.3.0
 * @category models
 */
export interface Options {
  /** Operations in a row that time out before the store is skipped. 0: never skipped. Default 5. */
  readonly threshold?: number | undefined
  /** How long the store is skipped before one operation probes it. Default 1 second. */
  readonly probeInterval?: Duration.DurationInput | undefined
  /**
   * Runs each time the breaker opens on a timeout (threshold reached, or a probe timed
   * out): a store can drop its connection there, and with it whatever the operations
   * that timed out still hold.
   */
  readonly onOpen?: (() => void) | undefined
  /** The `store` label of `CacheMetrics.storeSkipped`. Default `"store"`. */
  readonly store?: string | undefined
}

/**
 * Where a breaker stands: `Closed` (every operation runs), `Open` (operations are
 * skipped until the probe interval has passed), `Probing` (one operation is under way
 * as a probe, the others are skipped).
 *
 * @example
 * ```ts
 * import type { CircuitBreaker } from "@cachefx/core"
 *
 * const usable = (state: CircuitBreaker.State) => state === "Closed"
 * ```
 *
 * @since 0.3.0
 * @category models
 */
export type State = "Closed" | "Open" | "Probing"

/**
 * A breaker, told the outcome of each operation it let run. Its `unsafe` methods are
 * synchronous, for stores that settle operations in callbacks; `guard` wraps an effect.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { CircuitBreaker } from "@cachefx/core"
 *
 * const program = Effect.gen(function*() {
 *   const breaker = yield* CircuitBreaker.make({ threshold: 3 })
 *   if (breaker.unsafeAllow()) {
 *     breaker.unsafeTimedOut()
 *   }
 *   console.log(breaker.state) // "Closed": one timeout of 3
 * })
 * ```
 *
 * @since 0.3.0
 * @category models
 */
export interface CircuitBreaker {
  readonly state: State
  /** Whether an operation may run now; false counts it as skipped. */
  readonly unsafeAllow: () => boolean
  /** An operation it let run was answered. */
  readonly unsafeAnswered: () => void
  /** An operation it let run failed at once (not a timeout): it neither opens nor closes the breaker. */
  readonly unsafeFailed: () => void
  /** An operation it let run timed out. */
  readonly unsafeTimedOut: () => void
}

/**
 * A breaker on a given clock, its defaults from `settings` when given. Throws a
 * `CacheDefinitionError` for a threshold that is not a whole number of at least 0.
 *
 * @example
 * ```ts
 * import { Clock } from "effect"
 * import { CircuitBreaker } from "@cachefx/core"
 *
 * const breaker = CircuitBreaker.unsafeMake({ threshold: 3, probeInterval: "500 millis" }, Clock.make())
 * ```
 *
 * @since 0.3.0
 * @category constructors
 */
export const unsafeMake = (
  options: Options,
  clock: Clock.Clock,
  settings?: Pick<Settings, "breakerThreshold" | "breakerProbeInterval">
): CircuitBreaker => {
  const timeouts = options.threshold === undefined
    ? settings?.breakerThreshold ?? 5
    : internal.threshold("CircuitBreaker threshold", options.threshold)
  const interval = options.probeInterval === undefined
    ? settings?.breakerProbeInterval ?? Duration.seconds(1)
    : Duration.decode(options.probeInterval)
  return new internal.Breaker(timeouts, Duration.toMillis(interval), options.onOpen, options.store ?? "store", clock)
}

/**
 * A breaker on the fiber's clock, its defaults from the `CacheSettings` in force.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { CircuitBreaker } from "@cachefx/core"
 *
 * const breaker = CircuitBreaker.make({ probeInterval: "2 seconds" })
 * ```
 *
 * @since 0.3.0
 * @category constructors
 */
export const make = (options: Options = {}): Effect.Effect<CircuitBreaker> =>
  Effect.zipWith(Effect.clock, CacheSettings, (clock, settings) => unsafeMake(options, clock, settings))

/**
 * Runs `effect` (an operation of the store named `operation`) through the breaker:
 * skipped at once with a `CacheStoreError` of reason `"CircuitOpen"` while it is open,
 * otherwise run, and its outcome reported (a `"Timeout"` error counts as a timeout).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { CacheKey, CacheStore, CircuitBreaker } from "@cachefx/core"
 *
 * const program = Effect.gen(function*() {
 *   const store = yield* CacheStore.makeMemory()
 *   const breaker = yield* CircuitBreaker.make()
 *   yield* CircuitBreaker.guard(breaker, "invalidate", store.invalidate(CacheKey.namespace("cachefx:users")))
 * })
 * ```
 *
 * @since 0.3.0
 * @category combinators
 */
export const guard = <A, R>(
  breaker: CircuitBreaker,
  operation: string,
  effect: Effect.Effect<A, CacheStoreError, R>
): Effect.Effect<A, CacheStoreError, R> =>
  Effect.suspend(() =>
    breaker.unsafeAllow()
      ? Effect.tapBoth(effect, {
        onFailure: (error) =>
          Effect.sync(() => error.reason === "Timeout" ? breaker.unsafeTimedOut() : breaker.unsafeFailed()),
        onSuccess: () => Effect.sync(() => breaker.unsafeAnswered())
      })
      : Effect.fail(new CacheStoreError({ operation, reason: "CircuitOpen" }))
  )
