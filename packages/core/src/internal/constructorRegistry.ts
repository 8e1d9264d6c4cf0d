import * as Effect from "effect/Effect"
import type { CacheStoreError } from "../CacheError.js"
import { CacheSettings } from "../CacheSettings.js"
import { CacheStore, type InvalidateOptions } from "../CacheStore.js"
import type * as KeyConstructor from "../KeyConstructor.js"

/** Forgets the computations under way of one cached value in a namespace (its single-flight detach). */
type Detach = (namespace: string) => void

/** The cached values built on each key constructor, as `cached()` registers them. */
const registry = new WeakMap<KeyConstructor.KeyConstructor.Any, Set<Detach>>()

/** The versions of each namespace that cached values of this process use. */
const versions = new Map<string, Set<string>>()

/**
 * Registers a cached value built on a constructor.
 *
 * @internal
 */
export const register = (constructor: KeyConstructor.KeyConstructor.Any, detach: Detach): void => {
  const inUse = versions.get(constructor.namespace)
  if (inUse === undefined) {
    versions.set(constructor.namespace, new Set([constructor.version]))
  } else {
    inUse.add(constructor.version)
  }
  const detachers = registry.get(constructor)
  if (detachers === undefined) {
    registry.set(constructor, new Set([detach]))
  } else {
    detachers.add(detach)
  }
}

/**
 * Wipes the namespace of a constructor (one `clear`, soft when asked) and detaches the
 * computations under way of every cached value built on it, so that no caller joins one
 * that began before.
 *
 * @internal
 */
export const invalidateAll = (
  constructor: KeyConstructor.KeyConstructor.Any,
  options?: InvalidateOptions
): Effect.Effect<void, CacheStoreError, CacheStore> =>
  Effect.flatMap(CacheSettings, (settings) =>
    Effect.flatMap(CacheStore, (store) => {
      const namespace = settings.keyPrefix + ":" + constructor.namespace
      for (const detach of registry.get(constructor) ?? []) {
        detach(namespace)
      }
      return store.clear(namespace, options)
    }))

const whole = /^(0|[1-9][0-9]*)$/

/**
 * Deletes the entries of the versions of a constructor's namespace lower than its own
 * (whole-number versions only), except versions that another cached value of this
 * process uses; gives how many keys the store deleted, or 0 when it cannot.
 *
 * @internal
 */
export const deletePreviousVersions = (
  constructor: KeyConstructor.KeyConstructor.Any
): Effect.Effect<number, CacheStoreError, CacheStore> =>
  Effect.flatMap(CacheSettings, (settings) =>
    Effect.flatMap(CacheStore, (store) => {
      if (!whole.test(constructor.version)) {
        return Effect.succeed(0)
      }
      if (store.deleteVersions === undefined) {
        return Effect.as(Effect.logWarning("cachefx: this store cannot delete previous versions; they expire on their TTL"), 0)
      }
      const current = Number(constructor.version)
      const inUse = versions.get(constructor.namespace)
      return store.deleteVersions(
        settings.keyPrefix + ":" + constructor.namespace,
        (version) => whole.test(version) && Number(version) < current && inUse?.has(version) !== true
      )
    }))
