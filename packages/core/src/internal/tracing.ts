import * as Context from "effect/Context"
import * as DefaultServices from "effect/DefaultServices"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import * as Tracer from "effect/Tracer"

/** The tracer of a runtime no one gave one: Effect's own, whose spans nothing exports. */
const builtIn = Context.get(DefaultServices.liveServices, Tracer.Tracer)

/**
 * `Effect.withSpan`, when a tracer that exports spans is installed (`@effect/opentelemetry`,
 * `Effect.withTracer`, `Layer.setTracer`). With Effect's built-in tracer only, the effect
 * runs without the span: such a span is kept by no one, and making one (a context with the
 * span, its end on exit) costs about as much as an inline invalidation on the memory store.
 *
 * @internal
 */
export const withSpan = (name: string, options: Tracer.SpanOptions) =>
<A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.withFiberRuntime((fiber) => isExporting(fiber) ? Effect.withSpan(effect, name, options) : effect)

/**
 * Whether the fiber's tracer exports spans (is not Effect's built-in one): for code that
 * reads the fiber for other reasons too, and decides in the same step.
 *
 * @internal
 */
export const isExporting = (fiber: Fiber.RuntimeFiber<unknown, unknown>): boolean => fiber.currentTracer !== builtIn
