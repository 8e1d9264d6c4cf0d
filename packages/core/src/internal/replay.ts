import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { CacheDefinitionError } from "../CacheError.js"
import * as CacheMetrics from "../CacheMetrics.js"

/** An invalidation job that ran out of retries because the store did not answer. */
export interface Failed {
  /** The cached value whose namespace stands in for the job past the bound. */
  readonly cache: string
  /** The job, run once; it fails only when the store does not answer (any other failure drops the job). */
  readonly attempt: Effect.Effect<void, unknown>
  /** The wipe of the cached value's namespace. */
  readonly wipe: Effect.Effect<void, unknown>
}

/** @internal */
export interface Replay {
  /** Remembers a job to run again once the store answers. */
  readonly remember: (failed: Failed) => Effect.Effect<void>
}

/** @internal */
export interface Options {
  /** Jobs remembered at most; past it, the namespaces of the jobs are wiped instead. */
  readonly capacity: number
  /** The first pause between two tries while the store does not answer, doubled up to `maxInterval`. */
  readonly interval: Duration.DurationInput
  readonly maxInterval: Duration.DurationInput
}

/**
 * Remembers the invalidations that failed because the store did not answer, and applies
 * them once it answers again: a loop in `scope` tries the oldest one, then the rest, and
 * stops at the first that fails, to try again after a pause that doubles. Past
 * `capacity` jobs, it remembers the namespace of a cached value instead of its jobs (and
 * forgets the jobs it had of that cached value), and wipes it. What is remembered lives in
 * this process only: a crash loses it (the outbox does not).
 *
 * @internal
 */
export const make = (options: Options): Effect.Effect<Replay, never, Scope.Scope> => {
  if (!Number.isInteger(options.capacity) || options.capacity < 0) {
    throw new CacheDefinitionError({
      subject: "InvalidationEngine replay",
      reason: `capacity must be a whole number of at least 0, got ${options.capacity}`
    })
  }
  const first = Duration.toMillis(Duration.decode(options.interval))
  const most = Duration.toMillis(Duration.decode(options.maxInterval))
  return Effect.gen(function*() {
    let jobs: Array<Failed> = []
    const wipes = new Map<string, Failed>()
    // open while something waits: the loop sleeps on it, not on a timer, when there is nothing to replay
    const waiting = yield* Effect.makeLatch(false)
    const gauge = () => CacheMetrics.invalidationsToReplay.unsafeUpdate(jobs.length + wipes.size, [])
    const remember = (failed: Failed) =>
      Effect.sync(() => {
        if (wipes.has(failed.cache)) {
          return
        }
        if (jobs.length < options.capacity) {
          jobs.push(failed)
        } else {
          wipes.set(failed.cache, failed)
          jobs = jobs.filter((job) => job.cache !== failed.cache)
        }
        gauge()
        waiting.unsafeOpen()
      })
    /** Runs what is remembered, wipes first; true when all of it was applied. */
    const round = Effect.suspend(() => {
      const next = wipes.values().next()
      if (!next.done) {
        return Effect.as(
          Effect.zipRight(next.value.wipe, Effect.sync(() => wipes.delete(next.value.cache))),
          false
        )
      }
      const job = jobs[0]
      return job === undefined
        ? Effect.succeed(true)
        : Effect.as(
          Effect.zipRight(
            job.attempt,
            Effect.sync(() => {
              // by identity: an overflow may have dropped jobs while this one ran
              const at = jobs.indexOf(job)
              if (at >= 0) {
                jobs.splice(at, 1)
              }
            })
          ),
          false
        )
    }).pipe(
      Effect.zipLeft(Effect.sync(gauge)),
      Effect.repeat({ until: (done) => done }),
      Effect.orElseSucceed(() => false)
    )
    let pause = first
    const loop = waiting.await.pipe(
      Effect.zipRight(Effect.suspend(() => Effect.sleep(Duration.millis(pause)))),
      Effect.zipRight(round),
      Effect.map((applied) => {
        pause = applied ? first : Math.min(pause * 2, most)
        if (jobs.length === 0 && wipes.size === 0) {
          waiting.unsafeClose()
        }
      }),
      Effect.forever
    )
    yield* Effect.forkScoped(loop)
    yield* Effect.addFinalizer(() =>
      Effect.suspend(() =>
        jobs.length === 0 && wipes.size === 0 ? Effect.void : Effect.logWarning(
          `cachefx: the engine stops with ${jobs.length} invalidation jobs and ${wipes.size} namespace wipes not applied (the store did not answer)`
        )
      )
    )
    return { remember }
  })
}
