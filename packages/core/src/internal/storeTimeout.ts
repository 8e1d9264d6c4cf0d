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
  return {
    get: (key) => bound("get", store.get(key)),
    ...(store.getMany === undefined ? {} : { getMany: (keys) => bound("getMany", store.getMany!(keys)) }),
    set: (key, entry, guard) => bound("set", store.set(key, entry, guard)),
    delete: (key) => bound("delete", store.delete(key)),
    deletePartition: (partition) => bound("deletePartition", store.deletePartition(partition)),
    clear: (namespace) => bound("clear", store.clear(namespace)),
    // many batches, each a bounded operation of the store's own: not bound as one
    ...(store.deleteVersions === undefined ? {} : { deleteVersions: store.deleteVersions })
  }
}
