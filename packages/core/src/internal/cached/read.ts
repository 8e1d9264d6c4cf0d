import type * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import type { CacheTimeoutError } from "../../CacheError.js"
import { CacheValueError } from "../../CacheError.js"
import * as CacheEntry from "../../CacheEntry.js"
import type * as CacheKey from "../../CacheKey.js"
import * as CacheMetrics from "../../CacheMetrics.js"
import type { Settings } from "../../CacheSettings.js"
import type { FillGuard, Lookup, Service as Store } from "../../CacheStore.js"
import { type Call, computeSpan, count, type Definition, failOpen, mayRefreshAhead, report } from "./definition.js"
import { due, type Hit, live } from "./entry.js"
import { type Answer, computeOnce, miss, refreshFailed, revalidate, withinHard } from "./fill.js"
import { leaseOf } from "./lease.js"

/**
 * The computation of an input, answered with `status`, nothing stored.
 *
 * @internal
 */
export const computeOnly = <I, A, E, R>(
  def: Definition<I, A, E, R>,
  input: I,
  status: Answer<A>["status"]
): Effect.Effect<Answer<A>, E, R> =>
  Effect.map(computeSpan(def, input), (value): Answer<A> => ({ value, status, entry: undefined }))

/**
 * A fresh hit read at once from a store that holds its entries in this process
 * (`getSync`), when nothing else has to happen: an entry that decodes, no refresh ahead
 * due. A fresh entry is the answer even while a computation of the key is under way (it
 * finished, or another instance filled the key), as `lookup` would give it after that
 * computation. `undefined` sends the call down the path that reads through `get`, which
 * handles every other case. It runs before the call's `Call` record is built, so that a
 * hit builds none: it takes the parts of the call it reads.
 *
 * @internal
 */
export const hitNow = <A>(
  def: Definition<any, A, any, any>,
  store: Store,
  settings: Settings,
  key: CacheKey.CacheKey,
  clock: Clock.Clock
): Answer<A> | undefined => {
  if (store.getSync === undefined) {
    return undefined
  }
  // one reading of the clock for the store and for the entry's freshness
  const now = clock.unsafeCurrentTimeMillis()
  const entry = store.getSync(key, now)
  if (entry === undefined) {
    return undefined
  }
  if (CacheEntry.stateAt(entry, now) !== "Fresh") {
    return undefined
  }
  const decoded = def.codec.decode(entry.value)
  if (decoded._tag === "Left") {
    return undefined
  }
  const hit: Hit<A> = { value: decoded.right, entry, fresh: true }
  if (mayRefreshAhead(def, settings) && due(def, settings, hit, now)) {
    return undefined
  }
  count(def, CacheMetrics.hits)
  return { value: hit.value, status: "Hit", entry }
}

/**
 * Reports the stored entry of a call that does not decode.
 *
 * @internal
 */
export const decodeFailure = ({ def, key, settings }: Call<any, any, any, any>, reason: string) =>
  report(def, settings, new CacheValueError({ key: key.key, direction: "decode", reason }))

/**
 * Joins a computation of the key under way without reading the store, or reads it.
 *
 * @internal
 */
export const lookup = <I, A, E, R>(call: Call<I, A, E, R>): Effect.Effect<Answer<A>, E | CacheTimeoutError, R> => {
  const waiting = call.def.flights.wait(call.key.key)
  if (waiting === undefined) {
    return read(call)
  }
  count(call.def, CacheMetrics.misses)
  return Effect.flatMap(withinHard(call, waiting), (exit) =>
    exit === undefined
      ? read(call)
      : Effect.map(exit, (value): Answer<A> => ({ value, status: "Miss", entry: undefined })))
}

/**
 * Reads the key, taking its lease should it hold no entry (on a store with leases,
 * leasing on). A caller interrupted while such a read is under way, or before the
 * computation that gives the lease back has started, still gives it back: the read
 * finishes (it is bounded by the store's timeout), then the lease is released, so no
 * caller waits out the lease of one that left.
 */
const read = <I, A, E, R>(call: Call<I, A, E, R>): Effect.Effect<Answer<A>, E | CacheTimeoutError, R> => {
  const { def, key, settings, store } = call
  const lease = leaseOf(call)
  const leases = store.leases
  if (lease === undefined || leases === undefined) {
    return Effect.flatMap(failOpen(def, settings, store.get(key), undefined), (found) => answerOf(call, found))
  }
  return Effect.uninterruptibleMask((restore) =>
    Effect.flatMap(failOpen(def, settings, store.get(key, { lease }), undefined), (found) => {
      const answer = restore(answerOf(call, found))
      const taken = found?.lease
      return taken?._tag === "Taken"
        ? Effect.onInterrupt(answer, () => failOpen(def, settings, leases.release(key, taken.token), undefined))
        : answer
    })
  )
}

/**
 * The answer to a call from its read of the store: a fresh or stale hit, or the computation.
 *
 * @internal
 */
export const answerOf = <I, A, E, R>(
  call: Call<I, A, E, R>,
  found: Lookup | undefined
): Effect.Effect<Answer<A>, E | CacheTimeoutError, R> => {
  const { def, settings } = call
  if (found === undefined) {
    return computeOnly(def, call.input, "Miss")
  }
  return Effect.clockWith((clock) => {
    const now = clock.unsafeCurrentTimeMillis()
    const hit = live(def, found, now)
    if (hit === undefined || "_tag" in hit) {
      const computed = miss(call, found)
      const reason = hit?.reason ?? found.foreign
      return reason === undefined ? computed : Effect.zipRight(decodeFailure(call, reason), computed)
    }
    if (hit.fresh) {
      count(def, CacheMetrics.hits)
      const answer: Answer<A> = { value: hit.value, status: "Hit", entry: hit.entry }
      return mayRefreshAhead(def, settings) && due(def, settings, hit, now)
        ? Effect.as(revalidate(call, def.ahead, found.guard), answer)
        : Effect.succeed(answer)
    }
    return staleHit(call, found.guard, { value: hit.value, status: "Stale", entry: hit.entry })
  })
}

/**
 * A stale hit: served at once while one refresh runs in the background; with a soft
 * timeout, the refreshed value when it comes within it (a failed refresh also serves
 * the stale value).
 */
const staleHit = <I, A, E, R>(call: Call<I, A, E, R>, guard: FillGuard, stale: Answer<A>): Effect.Effect<Answer<A>, never, R> => {
  const { def } = call
  const soft = def.timeouts.soft
  if (soft === undefined) {
    count(def, CacheMetrics.staleHits)
    return Effect.as(revalidate(call, def.flights, guard), stale)
  }
  return computeOnce(call, def.flights, guard, undefined, true).pipe(
    Effect.tapErrorCause(refreshFailed(def)),
    Effect.forkDaemon,
    Effect.flatMap((fiber) => Effect.timeoutOption(Fiber.await(fiber), soft)),
    Effect.map((exit) => {
      if (Option.isSome(exit) && Exit.isSuccess(exit.value)) {
        count(def, CacheMetrics.misses)
        return exit.value.value
      }
      count(def, CacheMetrics.staleHits)
      return stale
    })
  )
}
