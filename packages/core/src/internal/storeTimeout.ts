import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { CacheStoreError } from "../CacheError.js"
import type * as CacheStore from "../CacheStore.js"

/** Acquire and release bounded; `awaitRelease` bounded by its own timeout. */
const withLeaseTimeout = (
  leases: CacheStore.Leases,
  bound: <A>(operation: string, effect: Effect.Effect<A, CacheStoreError>) => Effect.Effect<A, CacheStoreError>
): CacheStore.Leases => ({
  acquire: (key, duration) => bound("acquireLease", leases.acquire(key, duration)),
  release: (key, token) => bound("releaseLease", leases.release(key, token)),
  awaitRelease: leases.awaitRelease
})

/** @internal */
export const withTimeout = (store: CacheStore.Service, timeout: Duration.DurationInput): CacheStore.Service => {
  const duration = Duration.decode(timeout)
  const bound = <A>(operation: string, effect: Effect.Effect<A, CacheStoreError>) =>
    Effect.timeoutFail(effect, {
      duration,
      onTimeout: () => new CacheStoreError({ operation, reason: "Timeout" })
    })
  const { deleteVersions, getMany, leases } = store
  return {
    get: (key, options) => bound("get", store.get(key, options)),
    ...(getMany === undefined ? {} : { getMany: (keys) => bound("getMany", getMany(keys)) }),
    set: (key, entry, guard) => bound("set", store.set(key, entry, guard)),
    delete: (key, options) => bound("delete", store.delete(key, options)),
    deletePartition: (partition, options) => bound("deletePartition", store.deletePartition(partition, options)),
    clear: (namespace, options) => bound("clear", store.clear(namespace, options)),
    ...(leases === undefined ? {} : { leases: withLeaseTimeout(leases, bound) }),
    // many batches, each a bounded operation of the store's own: not bound as one
    ...(deleteVersions === undefined ? {} : { deleteVersions })
  }
}
