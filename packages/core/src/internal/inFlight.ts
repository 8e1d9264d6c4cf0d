import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type { CacheStoreError } from "../CacheError.js"
import type * as CacheKey from "../CacheKey.js"
import { CacheStore, type InvalidateOptions } from "../CacheStore.js"
import type { SingleFlight } from "./singleFlight.js"

/**
 * The computations under way that an invalidation must stop, by namespace. A cached value
 * tracks its single-flight group here, in the namespace of a key, when it starts computing
 * that key; an invalidation stops (detaches) the computations its target covers, so that a
 * caller arriving after it never joins one that began before.
 *
 * @internal
 */
export interface Computations {
  /** Tracks `flights` as holding computations of keys in `namespace`. */
  readonly track: (namespace: string, flights: SingleFlight<any, any>) => void
  /** Detaches the computations under way of the keys `target` covers. */
  readonly stop: (target: CacheKey.Target) => void
}

/** @internal */
export const make = (): Computations => {
  const byNamespace = new Map<string, Set<SingleFlight<any, any>>>()
  return {
    track: (namespace, flights) => {
      const tracked = byNamespace.get(namespace)
      if (tracked === undefined) {
        byNamespace.set(namespace, new Set([flights]))
      } else {
        tracked.add(flights)
      }
    },
    stop: (target) => {
      const tracked = byNamespace.get(target.namespace)
      if (tracked === undefined) {
        return
      }
      const covered = target._tag === "Key"
        ? (key: CacheKey.CacheKey) => key.key === target.key
        : target._tag === "Partition"
        ? (key: CacheKey.CacheKey) => key.partition === target.partition
        : () => true
      for (const flights of tracked) {
        flights.detach(covered)
      }
    }
  }
}

/**
 * The computations of the cached values that run in a context: one per context that
 * provides it (the engine's layer does, with the store), a default one otherwise.
 *
 * @internal
 */
export class InFlight extends Context.Reference<InFlight>()("@cachefx/core/InFlight", {
  defaultValue: make
}) {}

/**
 * Applies one invalidation target: stops the computations it covers under way, then
 * invalidates it in the store (softly when asked).
 *
 * @internal
 */
export const invalidate = (
  target: CacheKey.Target,
  options?: InvalidateOptions
): Effect.Effect<void, CacheStoreError, CacheStore> =>
  Effect.withFiberRuntime((fiber) => invalidateIn(fiber.currentContext, target, options))

/**
 * `invalidate` with the computations and the store of `context`, for a caller that
 * already holds the fiber's context.
 *
 * @internal
 */
export const invalidateIn = (
  context: Context.Context<never>,
  target: CacheKey.Target,
  options?: InvalidateOptions
): Effect.Effect<void, CacheStoreError, CacheStore> => {
  Context.get(context, InFlight).stop(target)
  return Context.unsafeGet(context, CacheStore).invalidate(target, options)
}
