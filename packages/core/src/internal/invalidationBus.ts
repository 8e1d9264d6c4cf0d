import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import type * as InvalidationBus from "../InvalidationBus.js"
import type * as InvalidationEvent from "../InvalidationEvent.js"

/**
 * Where the engine puts one signal per job of an event a tracked publish made (see
 * `Invalidation.publishTracked`): true once the job is applied, false once it ran out of
 * retries. Set around one publish only: a fiber forked inside it does not inherit it.
 *
 * @internal
 */
export type Receipts = Array<Deferred.Deferred<boolean>>

/** @internal */
export const currentReceipts: FiberRef.FiberRef<Receipts | undefined> = FiberRef.unsafeMake<Receipts | undefined>(
  undefined,
  { fork: () => undefined }
)

/** A receipt that says "not applied", for an event released without an engine. */
const notApplied = (receipts: Receipts | undefined) =>
  receipts === undefined ? Effect.void : Effect.map(Deferred.make<boolean>(), (deferred) => {
    Deferred.unsafeDone(deferred, Effect.succeed(false))
    receipts.push(deferred)
  })

/** What an engine serving a bus runs for each event, in the publisher's fiber. */
type Handler = (event: InvalidationEvent.InvalidationEvent) => Effect.Effect<void>

/**
 * A bus and the way to serve it, held by whoever made them (the engine's layer): while a
 * scope given to `serve` is open, `publish` runs the handler in the publisher's fiber, no
 * hand-over to the engine's fiber and back; before and after, events go to the queue.
 *
 * @internal
 */
export interface Served {
  readonly bus: InvalidationBus.Service
  readonly serve: (handle: Handler) => Effect.Effect<void, never, Scope.Scope>
}

/** @internal */
export const makeServed: Effect.Effect<Served, never, Scope.Scope> = Effect.gen(function*() {
  const queue = yield* Queue.unbounded<InvalidationBus.Delivery>()
  yield* Effect.addFinalizer(() =>
    Effect.flatMap(Queue.takeAll(queue), (left) =>
      Effect.forEach(left, (delivery) =>
        Effect.zipRight(
          Effect.logWarning("cachefx: an invalidation event was published after the engine stopped").pipe(
            Effect.annotateLogs({ table: delivery.event.table })
          ),
          Effect.zipRight(notApplied(delivery.receipts), Deferred.succeed(delivery.handled, void 0))
        ), { discard: true })).pipe(Effect.zipRight(Queue.shutdown(queue)))
  )
  let handler: Handler | undefined
  const offer = (event: InvalidationEvent.InvalidationEvent) =>
    Effect.flatMap(
      Effect.all([Deferred.make<void>(), Effect.option(Effect.currentParentSpan), FiberRef.get(currentReceipts)]),
      ([handled, parent, receipts]) =>
        Queue.offer(queue, { event, handled, parent, receipts }).pipe(Effect.zipRight(Deferred.await(handled)))
    )
  const bus: InvalidationBus.Service = {
    deliveries: queue,
    publish: (event) => Effect.suspend(() => handler === undefined ? offer(event) : handler(event))
  }
  const serve = (handle: Handler) =>
    Effect.acquireRelease(
      Effect.sync(() => {
        handler = handle
      }),
      () =>
        Effect.sync(() => {
          handler = undefined
        })
    )
  return { bus, serve }
})

/** @internal */
export const make: Effect.Effect<InvalidationBus.Service, never, Scope.Scope> = Effect.map(makeServed, (served) => served.bus)
