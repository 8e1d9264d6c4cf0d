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

/** The handler of each bus `make` gave, while an engine serves it. */
const handlers = new WeakMap<InvalidationBus.Service, { current: Handler | undefined }>()

/** @internal */
export const make: Effect.Effect<InvalidationBus.Service, never, Scope.Scope> = Effect.gen(function*() {
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
  const handler: { current: Handler | undefined } = { current: undefined }
  const offer = (event: InvalidationEvent.InvalidationEvent) =>
    Effect.flatMap(
      Effect.all([Deferred.make<void>(), Effect.option(Effect.currentParentSpan), FiberRef.get(currentReceipts)]),
      ([handled, parent, receipts]) =>
        Queue.offer(queue, { event, handled, parent, receipts }).pipe(Effect.zipRight(Deferred.await(handled)))
    )
  const service: InvalidationBus.Service = {
    deliveries: queue,
    publish: (event) => Effect.suspend(() => handler.current === undefined ? offer(event) : handler.current(event))
  }
  handlers.set(service, handler)
  return service
})

/**
 * While the scope is open, a bus `make` gave runs `handle` in the publisher's fiber
 * instead of queueing the event: no hand-over to the engine's fiber and back. Gives false
 * for any other bus, whose queue the engine then consumes alone.
 *
 * @internal
 */
export const serve = (bus: InvalidationBus.Service, handle: Handler): Effect.Effect<boolean, never, Scope.Scope> =>
  Effect.suspend(() => {
    const handler = handlers.get(bus)
    return handler === undefined ? Effect.succeed(false) : Effect.as(
      Effect.acquireRelease(
        Effect.sync(() => {
          handler.current = handle
        }),
        () =>
          Effect.sync(() => {
            handler.current = undefined
          })
      ),
      true
    )
  })
