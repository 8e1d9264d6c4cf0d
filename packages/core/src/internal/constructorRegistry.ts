import * as Effect from "effect/Effect"
import type { CacheStoreError } from "../CacheError.js"
import { CacheSettings } from "../CacheSettings.js"
import { CacheStore } from "../CacheStore.js"
import type * as KeyConstructor from "../KeyConstructor.js"

/** Forgets the computations under way of one cached value in a namespace (its single-flight detach). */
type Detach = (namespace: string) => void

/** The cached values built on each key constructor, as `cached()` registers them. */
const registry = new WeakMap<KeyConstructor.KeyConstructor.Any, Set<Detach>>()

/**
 * Registers a cached value built on a constructor.
 *
 * @internal
 */
export const register = (constructor: KeyConstructor.KeyConstructor.Any, detach: Detach): void => {
  const detachers = registry.get(constructor)
  if (detachers === undefined) {
    registry.set(constructor, new Set([detach]))
  } else {
    detachers.add(detach)
  }
}

/**
 * Wipes the namespace of a constructor (one `clear`) and detaches the computations under
 * way of every cached value built on it, so that no caller joins one that began before.
 *
 * @internal
 */
export const invalidateAll = (
  constructor: KeyConstructor.KeyConstructor.Any
): Effect.Effect<void, CacheStoreError, CacheStore> =>
  Effect.flatMap(CacheSettings, (settings) =>
    Effect.flatMap(CacheStore, (store) => {
      const namespace = settings.keyPrefix + ":" + constructor.namespace
      for (const detach of registry.get(constructor) ?? []) {
        detach(namespace)
      }
      return store.clear(namespace)
    }))
