import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as FiberSet from "effect/FiberSet"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import { CacheDefinitionError } from "../CacheError.js"
import type * as Dispatcher from "../Dispatcher.js"

/** @internal */
export const inline: Dispatcher.Dispatcher = { name: "inline", dispatch: ({ run }) => run }

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
    const dispatcher: Dispatcher.Dispatcher = {
      name: options.name ?? "pool",
      dispatch: ({ run }) => Effect.suspend(() => closing ? run : Queue.offer(queue, Option.some(run)))
    }
    return dispatcher
  })
}

/** @internal */
export const makeBackground = Effect.gen(function*() {
  const fibers = yield* FiberSet.make<void>()
  yield* Effect.addFinalizer(() => FiberSet.awaitEmpty(fibers))
  const dispatcher: Dispatcher.Dispatcher = {
    name: "background",
    dispatch: ({ run }) => Effect.asVoid(FiberSet.run(fibers, run))
  }
  return dispatcher
})
