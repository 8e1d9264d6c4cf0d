/**
 * The `InvalidationBus` carries invalidation events from the code that writes (a
 * Drizzle write hook, or `Invalidation.publish`) to the `InvalidationEngine`: an Effect
 * `Queue` of deliveries, each an event and the signal the engine completes once the
 * event's inline jobs are done and its other jobs handed over. `InvalidationEngine.layer`
 * makes its own bus and serves it: `publish` then runs the engine's handling in the
 * publisher's own fiber, and the queue holds only what is published before the engine
 * starts or after it stops. An engine made with `InvalidationEngine.make` on a bus of
 * `make` consumes the bus's queue.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Deferred from "effect/Deferred"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import type * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import type * as Tracer from "effect/Tracer"
import * as internal from "./internal/invalidationBus.js"
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
  /**
   * Where a tracked publish (`Invalidation.publishTracked`) waits for the outcome of each
   * job of the event: the engine adds one signal per job (since 0.2.0).
   */
  readonly receipts?: Array<Deferred.Deferred<boolean>> | undefined
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
export const make: Effect.Effect<Service, never, Scope.Scope> = internal.make

/**
 * The bus as a layer, for an engine made with `InvalidationEngine.make`.
 * `InvalidationEngine.layer` provides a bus of its own, served in the publisher's fiber.
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
