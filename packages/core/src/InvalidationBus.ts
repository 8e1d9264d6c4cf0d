/**
 * The `InvalidationBus` carries invalidation events from the code that writes (a
 * Drizzle write hook, or `Invalidation.publish`) to the `InvalidationEngine`: an Effect
 * `Queue` of deliveries, each an event and the signal the engine completes once the
 * event's inline jobs are done and its other jobs handed over.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import type * as Tracer from "effect/Tracer"
import type * as InvalidationEvent from "./InvalidationEvent.js"

/**
 * An event on the bus, the signal its publisher waits for, and the publisher's span.
 *
 * @example
 * ```ts
 * import { Deferred, Effect } from "effect"
 * import type { InvalidationBus } from "@cachefx/core"
 *
 * const acknowledge = (delivery: InvalidationBus.Delivery) => Deferred.succeed(delivery.handled, void 0)
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Delivery {
  readonly event: InvalidationEvent.InvalidationEvent
  readonly handled: Deferred.Deferred<void>
  /** The publisher's span, so the engine's spans continue its trace. */
  readonly parent: Option.Option<Tracer.AnySpan>
}

/**
 * @example
 * ```ts
 * import { Effect, Queue } from "effect"
 * import { InvalidationBus } from "@cachefx/core"
 *
 * const pending = Effect.flatMap(InvalidationBus.InvalidationBus, (bus) => Queue.size(bus.deliveries))
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Offers an event and waits until the engine has handled it. */
  readonly publish: (event: InvalidationEvent.InvalidationEvent) => Effect.Effect<void>
  /** The queue the engine consumes. */
  readonly deliveries: Queue.Dequeue<Delivery>
}

/**
 * The bus service.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { InvalidationBus, InvalidationEvent } from "@cachefx/core"
 *
 * const onWrite = Effect.flatMap(InvalidationBus.InvalidationBus, (bus) =>
 *   bus.publish(InvalidationEvent.make({ table: "users", operation: "insert", rows: [{ id: 1 }] })))
 * ```
 *
 * @since 0.1.0
 * @category tags
 */
export class InvalidationBus extends Context.Tag("@cachefx/core/InvalidationBus")<InvalidationBus, Service>() {}

/**
 * Makes a bus in a scope. When the scope closes, deliveries nobody consumed are
 * released with a warning, so no publisher waits forever.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { InvalidationBus } from "@cachefx/core"
 *
 * const program = Effect.scoped(Effect.map(InvalidationBus.make, (bus) => bus.deliveries))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<Service, never, Scope.Scope> = Effect.gen(function*() {
  const queue = yield* Queue.unbounded<Delivery>()
  yield* Effect.addFinalizer(() =>
    Effect.flatMap(Queue.takeAll(queue), (left) =>
      Effect.forEach(left, (delivery) =>
        Effect.zipRight(
          Effect.logWarning("cachefx: an invalidation event was published after the engine stopped").pipe(
            Effect.annotateLogs({ table: delivery.event.table })
          ),
          Deferred.succeed(delivery.handled, void 0)
        ), { discard: true })).pipe(Effect.zipRight(Queue.shutdown(queue)))
  )
  return {
    deliveries: queue,
    publish: (event) =>
      Effect.flatMap(Effect.zip(Deferred.make<void>(), Effect.option(Effect.currentParentSpan)), ([handled, parent]) =>
        Queue.offer(queue, { event, handled, parent }).pipe(Effect.zipRight(Deferred.await(handled))))
  }
})

/**
 * The bus as a layer. `InvalidationEngine.layer` includes one.
 *
 * @example
 * ```ts
 * import { InvalidationBus } from "@cachefx/core"
 *
 * const BusLive = InvalidationBus.layer
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<InvalidationBus> = Layer.scoped(InvalidationBus, make)
