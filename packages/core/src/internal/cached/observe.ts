import * as Cause from "effect/Cause"
import type * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as MetricLabel from "effect/MetricLabel"
import type * as Cached from "../../Cached.js"
import * as timer from "../timer.js"
import type { Definition } from "./definition.js"

/**
 * The call timings of one cached value: the histogram of `CacheMetrics.callDuration` of
 * each status, its hook taken at the status's first call (see `Timer.hook`: the timer
 * itself costs a memory hit more) and updated with milliseconds from then on.
 *
 * @internal
 */
export class CallTimings {
  private hit: timer.Hook | undefined
  private readonly others = new Map<Cached.CacheStatus, timer.Hook>()
  constructor(private readonly cache: MetricLabel.MetricLabel) {}
  /** In the order of `callDuration.pipe(Metric.tagged("cache", …), Metric.tagged("status", …))`. */
  private hook(status: Cached.CacheStatus): timer.Hook {
    return timer.calls.hook([this.cache, MetricLabel.make("status", status)])
  }
  record(status: Cached.CacheStatus, millis: number): void {
    if (status === "Hit") {
      ;(this.hit ??= this.hook("Hit")).update(millis)
      return
    }
    let hook = this.others.get(status)
    if (hook === undefined) {
      hook = this.hook(status)
      this.others.set(status, hook)
    }
    hook.update(millis)
  }
}

/**
 * Now, in milliseconds (see `Timer.now`).
 *
 * @internal
 */
export const now = timer.now

/**
 * Times a call that started at `start` (`now`) into `CacheMetrics.callDuration`.
 *
 * @internal
 */
export const record = (
  def: Definition<any, any, any, any>,
  status: Cached.CacheStatus,
  start: number,
  clock: Clock.Clock
): void => def.timings.record(status, now(clock) - start)

/**
 * How a keyed operation that is a call replies: the status of its outcome `Y`, and that
 * outcome shaped for its caller.
 *
 * @internal
 */
export interface Reply<Y, X> {
  readonly status: (outcome: Y) => Cached.CacheStatus
  readonly shape: (outcome: Y) => X
  /** The status of a call that fails: its computation failed, as a miss or a refresh. */
  readonly failed: Cached.CacheStatus
}

/**
 * A call answered through effects: timed once it ends (a failure under `failed`; an
 * interruption is not timed, it answered nothing), and, when `traced`, in a span
 * `cachefx.cached` with the cache's name and the call's status.
 *
 * @internal
 */
export const observe = <Y, X, E, R>(
  def: Definition<any, any, any, any>,
  outcome: Effect.Effect<Y, E, R>,
  reply: Reply<Y, X>,
  failed: Cached.CacheStatus,
  start: number,
  clock: Clock.Clock,
  traced: boolean
): Effect.Effect<X, E, R> => {
  const observed = Effect.matchCauseEffect(outcome, {
    onFailure: (cause) => {
      if (Cause.isInterruptedOnly(cause)) {
        return Effect.failCause(cause)
      }
      record(def, failed, start, clock)
      return traced ? Effect.zipRight(annotate(failed), Effect.failCause(cause)) : Effect.failCause(cause)
    },
    onSuccess: (y) => {
      const status = reply.status(y)
      record(def, status, start, clock)
      return traced ? Effect.as(annotate(status), reply.shape(y)) : Effect.succeed(reply.shape(y))
    }
  })
  return traced ? Effect.withSpan(observed, "cachefx.cached", { attributes: { "cachefx.cache": def.name } }) : observed
}

const annotate = (status: Cached.CacheStatus) => Effect.annotateCurrentSpan("cachefx.status", status)
