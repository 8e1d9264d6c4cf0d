import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { CacheStoreError } from "../CacheError.js"
import type * as CacheStore from "../CacheStore.js"

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
    get: (key) => bound("get", store.get(key)),
    ...(store.getMany === undefined ? {} : { getMany: (keys) => bound("getMany", store.getMany!(keys)) }),
    set: (key, entry, guard) => bound("set", store.set(key, entry, guard)),
    delete: (key, options) => bound("delete", store.delete(key, options)),
    deletePartition: (partition, options) => bound("deletePartition", store.deletePartition(partition, options)),
    clear: (namespace, options) => bound("clear", store.clear(namespace, options)),
    ...(getMany === undefined ? {} : { getMany: (keys) => bound("getMany", getMany(keys)) }),
    ...(leases === undefined ? {} : {
      leases: {
        acquire: (key, duration) => bound("acquire", leases.acquire(key, duration)),
        release: (key, token) => bound("release", leases.release(key, token)),
        // waits as long as its caller asks: bounded by its own timeout, not the operation's
        awaitRelease: leases.awaitRelease
      }
    }),
    // many batches, each a bounded operation of the store's own: not bound as one
    ...(deleteVersions === undefined ? {} : { deleteVersions })
  }
}
