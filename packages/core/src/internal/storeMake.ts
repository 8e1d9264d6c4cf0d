import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as CacheKey from "../CacheKey.js"
import type * as CacheStore from "../CacheStore.js"
import { withGetSync } from "./getSync.js"

/** The guard of a read whose lease `make` took: the store's own guard, and the lease's token. */
class Leased {
  constructor(readonly guard: CacheStore.FillGuard, readonly token: CacheStore.LeaseToken) {}
}

/**
 * A read that takes the lease itself when the store's `get` did not: only when it was
 * asked to, found no entry, and answered nothing of the lease.
 */
const leasingGet = (get: CacheStore.Service["get"], leases: CacheStore.Leases): CacheStore.Service["get"] =>
(key, options) =>
  Effect.flatMap(get(key, options), (lookup) => {
    const duration = options?.lease
    if (duration === undefined || Option.isSome(lookup.entry) || lookup.lease !== undefined) {
      return Effect.succeed(lookup)
    }
    return Effect.map(leases.acquire(key, duration), (token): CacheStore.Lookup =>
      Option.isNone(token)
        ? { ...lookup, lease: { _tag: "Held" } }
        : {
          ...lookup,
          guard: new Leased(lookup.guard, token.value) as unknown as CacheStore.FillGuard,
          lease: { _tag: "Taken", token: token.value }
        })
  })

/** A fill under a guard of `leasingGet`'s: the store's fill, then the lease back, whatever the fill did. */
const leasingSet = (set: CacheStore.Service["set"], leases: CacheStore.Leases): CacheStore.Service["set"] =>
(key, entry, guard) =>
  guard instanceof Leased
    ? Effect.ensuring(set(key, entry, guard.guard), Effect.ignore(leases.release(key, guard.token)))
    : set(key, entry, guard)

/** Reads key by key, concurrently: what a store without a read of many keys answers. */
const getEach = (get: CacheStore.Service["get"]) => (keys: ReadonlyArray<CacheKey.CacheKey>) =>
  Effect.forEach(keys, (key) => get(key), { concurrency: "unbounded" })

/** @internal */
export const make = (operations: CacheStore.Operations): CacheStore.Service => {
  const { deleteVersions, invalidate, leases } = operations
  const get = leases === undefined ? operations.get : leasingGet(operations.get, leases)
  const set = leases === undefined ? operations.set : leasingSet(operations.set, leases)
  return withGetSync({
    get,
    // getMany takes no leases: it reads with the store's own get
    getMany: operations.getMany ?? getEach(operations.get),
    set,
    invalidate,
    ...(leases === undefined ? {} : { leases }),
    ...(deleteVersions === undefined ? {} : { deleteVersions })
  }, operations.getSync)
}
