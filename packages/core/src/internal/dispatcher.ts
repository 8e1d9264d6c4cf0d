import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as FiberSet from "effect/FiberSet"
import * as MetricLabel from "effect/MetricLabel"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import { CacheDefinitionError } from "../CacheError.js"
import * as CacheMetrics from "../CacheMetrics.js"
import type * as Dispatcher from "../Dispatcher.js"
import { afterExit } from "./afterExit.js"

/**
 * The pending-jobs gauge of a dispatcher (`CacheMetrics.invalidationJobsPending`), moved
 * through one label array kept for it (a metric's hook is cached by the array's
 * identity; `Metric.tagged` would make a new one, and look the hook up, each time).
 */
const gaugeOf = (dispatcher: string) => {
  const labels = [MetricLabel.make("dispatcher", dispatcher)]
  return {
    add: () => CacheMetrics.invalidationJobsPending.unsafeModify(1, labels),
    done: () => CacheMetrics.invalidationJobsPending.unsafeModify(-1, labels)
  }
}

/**
 * For a dispatcher that hands jobs over: counts a job as pending from now until it has
 * run; gives the job's run, which ends the count.
 */
const pending = (dispatcher: string) => {
  const gauge = gaugeOf(dispatcher)
  const added = Effect.sync(gauge.add)
  return (run: Effect.Effect<void>): Effect.Effect<Effect.Effect<void>> => Effect.as(added, Effect.ensuring(run, Effect.sync(gauge.done)))
}

const inlineGauge = gaugeOf("inline")

/**
 * Runs the job in place, uninterruptibly (a publisher that stops waiting does not stop
 * its invalidation), counted as pending while it runs.
 *
 * @internal
 */
export const inline: Dispatcher.Dispatcher = {
  name: "inline",
  dispatch: ({ run }) =>
    Effect.suspend(() => {
      inlineGauge.add()
      return Effect.uninterruptible(afterExit(run, inlineGauge.done))
    })
}

/** @internal */
export const makePool = <N extends string>(options: Dispatcher.PoolOptions<N>) => {
  const concurrency = options.concurrency
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new CacheDefinitionError({
      subject: "Dispatcher.layerPool",
      reason: `concurrency must be a whole number of at least 1, got ${concurrency}`
    })
  }
  return Effect.gen(function*() {
    // `none` tells one worker to stop; it is offered behind every queued job
    const queue = yield* Queue.unbounded<Option.Option<Effect.Effect<void>>>()
    let closing = false
    const work: Effect.Effect<void> = Effect.flatMap(
      Queue.take(queue),
      Option.match({ onNone: () => Effect.void, onSome: (run) => Effect.zipRight(run, Effect.suspend(() => work)) })
    )
    const workers = yield* Effect.replicateEffect(Effect.forkScoped(work), concurrency)
    yield* Effect.addFinalizer(() =>
      Effect.suspend(() => {
        closing = true
        return Queue.offerAll(queue, workers.map(() => Option.none()))
      }).pipe(Effect.zipRight(Fiber.awaitAll(workers)))
    )
    const name = options.name ?? "pool"
    const track = pending(name)
    const dispatcher: Dispatcher.Dispatcher = {
      name,
      dispatch: ({ run }) =>
        Effect.flatMap(track(run), (job) => closing ? job : Queue.offer(queue, Option.some(job)))
    }
    return dispatcher
  })
}

/** @internal */
export const makeBackground = Effect.gen(function*() {
  const fibers = yield* FiberSet.make<void>()
  const track = pending("background")
  yield* Effect.addFinalizer(() => FiberSet.awaitEmpty(fibers))
  const dispatcher: Dispatcher.Dispatcher = {
    name: "background",
    dispatch: ({ run }) => Effect.flatMap(track(run), (job) => Effect.asVoid(FiberSet.run(fibers, job)))
  }
  return dispatcher
})
