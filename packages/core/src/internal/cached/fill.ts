import type * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Random from "effect/Random"
import type * as Cached from "../../Cached.js"
import { CacheTimeoutError, CacheValueError } from "../../CacheError.js"
import type * as CacheEntry from "../../CacheEntry.js"
import * as CacheMetrics from "../../CacheMetrics.js"
import type { FillGuard, LeaseOutcome, Lookup } from "../../CacheStore.js"
import * as Ttl from "../../Ttl.js"
import { InFlight } from "../inFlight.js"
import type { SingleFlight } from "../singleFlight.js"
import { type Call, count, type Definition, failOpen, ttlOf } from "./definition.js"
import { lead, Leader, noHold, type Outcome, release } from "./lease.js"

/**
 * How a call was answered, before it is shaped for the caller.
 *
 * @internal
 */
export interface Answer<A> {
  readonly value: A
  readonly status: Cached.CacheStatus
  readonly entry: CacheEntry.CacheEntry | undefined
}

const unstored = Effect.succeed(undefined)

/**
 * Encodes and stores a computed value under a guard; gives the entry when stored. A
 * value `cacheIf` or `cacheUnless` refuses, or whose TTL keeps nothing, is not stored
 * (a lease the guard carries is then given back by the leader's `release`). `onSet`
 * runs once the store has answered (it gave back a lease the guard carried).
 *
 * @internal
 */
export const fill = <A>(
  { def, key, settings, store }: Call<any, A, any, any>,
  value: A,
  guard: FillGuard,
  onSet?: () => void
): Effect.Effect<CacheEntry.CacheEntry | undefined> =>
  def.admit !== undefined && !def.admit(value) ? unstored : Effect.flatMap(Effect.zip(Clock.currentTimeMillis, Random.next), ([now, random]) => {
    const deadlines = Ttl.deadlines(ttlOf(def, value, settings), now, random)
    if (deadlines === undefined) {
      return Effect.succeed(undefined)
    }
    const encoded = def.codec.encode(value)
    if (Either.isLeft(encoded)) {
      count(def, CacheMetrics.errors)
      return Effect.as(
        Effect.logWarning(new CacheValueError({ key: key.key, direction: "encode", reason: encoded.left }).message),
        undefined
      )
    }
    const entry: CacheEntry.CacheEntry = { value: encoded.right, cachedAt: now, ...deadlines }
    const set = onSet === undefined ? store.set(key, entry, guard) : Effect.tap(store.set(key, entry, guard), onSet)
    return Effect.map(failOpen(def, settings, set, false), (stored) => {
      if (stored) {
        return entry
      }
      count(def, CacheMetrics.fillsSkipped)
      return undefined
    })
  })

/**
 * Computes a key and stores its value: once per key at a time in this process
 * (`group`'s single-flight; a `refresh` flight is not joined by readers, who have a
 * value to serve), and once across processes on a store with leases. A lease the read
 * took (`lease`) is given back by the fill, or by `Leases.release` when there is none
 * or it fails; a caller that joins another's flight in this process gives it back at
 * once (the leader may be waiting for it). Answers with the value and the entry
 * stored, by this process or by another.
 *
 * @internal
 */
export const computeOnce = <I, A, E, R>(
  call: Call<I, A, E, R>,
  group: SingleFlight<A, E>,
  guard: FillGuard,
  lease: LeaseOutcome | undefined,
  refresh = false
): Effect.Effect<Answer<A>, E, R> =>
  Effect.withFiberRuntime((fiber) => {
    const { def, key } = call
    // an invalidation of the key's namespace, partition or key stops this computation
    Context.get(fiber.currentContext, InFlight).track(key.namespace, def.flights)
    const leader = new Leader(lease)
    let outcome: Outcome<A> | undefined
    let stored: CacheEntry.CacheEntry | undefined
    const compute = Effect.map(lead(call, guard, lease, leader), (ended) => {
      outcome = ended
      return ended.value
    })
    // a set under the guard that carries the lease gives it back, whether it stores or not
    const givenBack = () => {
      if (leader.hold._tag === "InGuard") {
        leader.hold = noHold
      }
    }
    const keep = (value: A) => {
      const ended = outcome!
      return ended._tag === "Found"
        ? Effect.sync(() => {
          stored = ended.entry
        })
        : Effect.map(fill(call, value, ended.guard, givenBack), (entry) => {
          stored = entry
        })
    }
    const leases = call.store.leases
    const giveBack = leases === undefined ? undefined : release(call, leases, leader)
    const run = group.run(key, compute, keep, refresh, giveBack)
    return Effect.map(
      giveBack === undefined ? run : Effect.ensuring(run, giveBack),
      (value): Answer<A> => ({ value, status: "Miss", entry: stored })
    )
  })

/**
 * Bounds a call's wait for a computation by the hard timeout.
 *
 * @internal
 */
export const withinHard = <X, E2, R2>(
  { def, key }: Call<any, any, any, any>,
  wait: Effect.Effect<X, E2, R2>
): Effect.Effect<X, E2 | CacheTimeoutError, R2> => {
  const hard = def.timeouts.hard
  return hard === undefined ? wait : Effect.timeoutFail(wait, {
    duration: hard,
    onTimeout: () => new CacheTimeoutError({ cache: def.name, key: key.key, timeout: hard })
  })
}

/**
 * Computes a missing value once per key. With a hard timeout the computation runs
 * detached from the caller, who waits for it at most that long: it finishes and fills
 * whatever happens to the caller.
 *
 * @internal
 */
export const miss = <I, A, E, R>(call: Call<I, A, E, R>, found: Lookup): Effect.Effect<Answer<A>, E | CacheTimeoutError, R> =>
  Effect.suspend(() => {
    const { def } = call
    count(def, CacheMetrics.misses)
    const computation = computeOnce(call, def.flights, found.guard, found.lease)
    return def.timeouts.hard === undefined
      ? computation
      : Effect.flatMap(Effect.forkDaemon(computation), (fiber) => withinHard(call, Fiber.join(fiber)))
  })

/**
 * Logs a refresh in the background that failed.
 *
 * @internal
 */
export const refreshFailed = (def: Definition<any, any, any, any>) => (cause: Cause.Cause<unknown>) =>
  Effect.logWarning("cachefx: background refresh failed", cause).pipe(Effect.annotateLogs({ cache: def.name }))

/**
 * Refreshes a key in the background, in `group`, unless a computation of it is under way.
 *
 * @internal
 */
export const revalidate = <I, A, E, R>(
  call: Call<I, A, E, R>,
  group: SingleFlight<A, E>,
  guard: FillGuard
): Effect.Effect<void, never, R> => {
  const { def, key } = call
  return def.flights.has(key.key) || def.ahead.has(key.key)
    ? Effect.void
    : computeOnce(call, group, guard, undefined, true).pipe(
      Effect.catchAllCause(refreshFailed(def)),
      Effect.forkDaemon,
      Effect.asVoid
    )
}
