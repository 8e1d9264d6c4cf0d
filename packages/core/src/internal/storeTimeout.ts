import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { CacheStoreError } from "../CacheError.js"
import type * as CacheStore from "../CacheStore.js"
import * as CircuitBreaker from "../CircuitBreaker.js"

/** What wraps each operation of a store, by its name. */
type Bound = <A>(operation: string, effect: Effect.Effect<A, CacheStoreError>) => Effect.Effect<A, CacheStoreError>

/** Acquire and release bounded; `awaitRelease` bounded by its own timeout. */
const boundLeases = (leases: CacheStore.Leases, bound: Bound): CacheStore.Leases => ({
  acquire: (key, duration) => bound("acquireLease", leases.acquire(key, duration)),
  release: (key, token) => bound("releaseLease", leases.release(key, token)),
  awaitRelease: leases.awaitRelease
})

/** Every operation of `store` through `bound`. */
const boundStore = (store: CacheStore.Service, bound: Bound): CacheStore.Service => {
  const { deleteVersions, leases } = store
  return {
    get: (key, options) => bound("get", store.get(key, options)),
    getMany: (keys) => bound("getMany", store.getMany(keys)),
    set: (key, entry, guard) => bound("set", store.set(key, entry, guard)),
    invalidate: (target, options) => bound("invalidate", store.invalidate(target, options)),
    ...(leases === undefined ? {} : { leases: boundLeases(leases, bound) }),
    // many batches, each a bounded operation of the store's own: not bound as one
    ...(deleteVersions === undefined ? {} : { deleteVersions })
  }
}

/** @internal */
export const withTimeout = (store: CacheStore.Service, timeout: Duration.DurationInput): CacheStore.Service => {
  const duration = Duration.decode(timeout)
  // interruptible inside: `cached()` runs a read that may take a lease uninterruptibly (a
  // caller that leaves must not leave a lease behind), where a timeout could not stop it
  return boundStore(store, (operation, effect) =>
    Effect.timeoutFail(Effect.interruptible(effect), {
      duration,
      onTimeout: () => new CacheStoreError({ operation, reason: "Timeout" })
    }))
}

/** @internal */
export const withBreaker = (store: CacheStore.Service, breaker: CircuitBreaker.CircuitBreaker): CacheStore.Service =>
  boundStore(store, (operation, effect) => CircuitBreaker.guard(breaker, operation, effect))
