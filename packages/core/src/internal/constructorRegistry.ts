import * as Effect from "effect/Effect"
import { CacheDefinitionError, type CacheStoreError } from "../CacheError.js"
import * as CacheKey from "../CacheKey.js"
import { CacheSettings } from "../CacheSettings.js"
import { CacheStore, type InvalidateOptions, type Service as Store } from "../CacheStore.js"
import type * as KeyConstructor from "../KeyConstructor.js"
import * as inFlight from "./inFlight.js"
import { scopeOf } from "./keyConstructor.js"
import { encodeSlice } from "./keyEncoding.js"

type Constructor = KeyConstructor.KeyConstructor.Any

/*
 * What stays process-wide here, and why: the cached values of a process are defined by its
 * modules, when they load, before any layer exists; `identities` and `versions` are facts
 * about those definitions (a constructor-wide wipe must reach a cached value named apart
 * that has not run yet; a version still defined must not be deleted because its cached
 * value has not run yet), so no layer could hold them without losing what they guarantee.
 * `claims` is keyed by the store itself, weakly: it lives and dies with each store.
 */

/** The identities of the cached values named apart in each namespace: the namespaces a constructor-wide wipe clears. */
const identities = new Map<string, Set<string>>()

/** The versions of each namespace that cached values of this process use. */
const versions = new Map<string, Set<string>>()

/** Which cached value (its owner token) uses each constructor and name on each store. */
const claims = new WeakMap<Store, WeakMap<Constructor, Map<string, object>>>()

/** The value of a key of a map, made and set when absent. */
const getOrMake = <K, V>(
  map: { get(key: K): V | undefined; set(key: K, value: V): unknown },
  key: K,
  make: () => V
): V => {
  let value = map.get(key)
  if (value === undefined) {
    value = make()
    map.set(key, value)
  }
  return value
}

/**
 * The identity of a cached value in its constructor's namespace: none for the cached
 * value named as the namespace (the default), `#@` and its escaped name otherwise. `#@`
 * starts no version (versions may not start with `#`), so a cached value named apart has
 * a namespace of its own, `<prefix>:<namespace>:#@<name>`: its own wipes are O(1) and
 * reach nothing else.
 *
 * @internal
 */
export const identityOf = (constructor: Constructor, name: string): string | undefined =>
  name === constructor.namespace ? undefined : "#@" + encodeSlice(name, false)

/**
 * Registers a cached value built on a constructor: the version it uses, and its identity
 * when it is named apart.
 *
 * @internal
 */
export const register = (constructor: Constructor, identity: string | undefined): void => {
  getOrMake(versions, constructor.namespace, () => new Set()).add(constructor.version)
  if (identity !== undefined) {
    getOrMake(identities, constructor.namespace, () => new Set()).add(identity)
  }
}

/**
 * Records that the cached value `owner` (constructor, name) uses a store; gives the
 * `CacheDefinitionError` to raise when another cached value with the same constructor
 * and name used it first: the two would share entries, and one would be served the
 * other's values. The same definition made again (a test, a reloaded module) on another
 * store is no conflict.
 *
 * @internal
 */
export const claim = (store: Store, constructor: Constructor, name: string, owner: object): CacheDefinitionError | undefined => {
  const byName = getOrMake(getOrMake(claims, store, () => new WeakMap()), constructor, () => new Map<string, object>())
  const first = byName.get(name)
  if (first === undefined) {
    byName.set(name, owner)
    return undefined
  }
  return first === owner ? undefined : new CacheDefinitionError({
    subject: `cached "${name}"`,
    reason: `another cached value on the same key constructor (namespace "${constructor.namespace}") has this name ` +
      "and uses this store already: the two would share entries, and one would be served the other's values. " +
      "Give each cached value its own `name`"
  })
}

/** The namespaces of a constructor's cached values this process knows: the default one, and one per identity. */
const scopes = (constructor: Constructor, prefix: string): Array<string> => [
  scopeOf(constructor, prefix, undefined),
  ...Array.from(identities.get(constructor.namespace) ?? [], (identity) => scopeOf(constructor, prefix, identity))
]

/**
 * Wipes the namespaces of every cached value on a constructor's namespace that this
 * process defines (one O(1) namespace `invalidate` each, soft when asked), and stops
 * their computations under way.
 *
 * @internal
 */
export const invalidateAll = (
  constructor: Constructor,
  options?: InvalidateOptions
): Effect.Effect<void, CacheStoreError, CacheStore> =>
  Effect.flatMap(CacheSettings, (settings) =>
    Effect.forEach(
      scopes(constructor, settings.keyPrefix),
      (namespace) => inFlight.invalidate(CacheKey.namespace(namespace), options),
      { concurrency: "unbounded", discard: true }
    ))

const whole = /^(0|[1-9][0-9]*)$/

/**
 * Deletes the entries of the versions of a constructor's namespace lower than its own
 * (whole-number versions only), in the namespace of every cached value of it this
 * process knows, except versions that another cached value of this process uses; gives
 * how many keys the store deleted, or 0 when it cannot.
 *
 * @internal
 */
export const deletePreviousVersions = (
  constructor: Constructor
): Effect.Effect<number, CacheStoreError, CacheStore> =>
  Effect.flatMap(CacheSettings, (settings) =>
    Effect.flatMap(CacheStore, (store) => {
      if (!whole.test(constructor.version)) {
        return Effect.succeed(0)
      }
      const deleteVersions = store.deleteVersions
      if (deleteVersions === undefined) {
        return Effect.as(Effect.logWarning("cachefx: this store cannot delete previous versions; they expire on their TTL"), 0)
      }
      const current = Number(constructor.version)
      const inUse = versions.get(constructor.namespace)
      const previous = (version: string) => whole.test(version) && Number(version) < current && inUse?.has(version) !== true
      return Effect.map(
        Effect.forEach(scopes(constructor, settings.keyPrefix), (namespace) => deleteVersions(namespace, previous)),
        (counts) => counts.reduce((sum, count) => sum + count, 0)
      )
    }))
