import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { CacheStoreError } from "../../CacheError.js"
import type * as CacheEntry from "../../CacheEntry.js"
import type {
  FillGuard,
  GetOptions,
  LeaseOutcome,
  Leases,
  LeaseToken,
  Lookup
} from "../../CacheStore.js"
import { type Call, computeSpan, failOpen, report } from "./definition.js"
import { freshHit } from "./entry.js"

/** How many times the leader of a miss waits for another process's lease before computing anyway. */
const leaseRounds = 3

/** A read after a lease: of the tier instances share, where another instance may have filled the key. */
const shared: GetOptions = { shared: true }

/**
 * The lease the leader of a computation holds: none; one its read took, which a fill
 * under that read's guard gives back (`InGuard`); or one it acquired apart, which only
 * `Leases.release` gives back.
 *
 * @internal
 */
export type Hold =
  | { readonly _tag: "None" }
  | { readonly _tag: "InGuard"; readonly token: LeaseToken }
  | { readonly _tag: "Acquired"; readonly token: LeaseToken }

/** @internal */
export const noHold: Hold = { _tag: "None" }

/**
 * How the leader of a computation ends: it computed the value (to fill under `guard`), or
 * found the entry another process stored while it waited for that process's lease.
 *
 * @internal
 */
export type Outcome<A> =
  | { readonly _tag: "Computed"; readonly value: A; readonly guard: FillGuard }
  | { readonly _tag: "Found"; readonly value: A; readonly entry: CacheEntry.CacheEntry }

/**
 * The lease a leader holds, read by whoever must give it back (its fill, or its
 * finalizer when the computation fails or is interrupted).
 *
 * @internal
 */
export class Leader {
  hold: Hold
  constructor(lease: LeaseOutcome | undefined) {
    this.hold = lease?._tag === "Taken" ? { _tag: "InGuard", token: lease.token } : noHold
  }
}

/**
 * How long a miss leases its key: `undefined` on a store without leases, or with leasing off.
 *
 * @internal
 */
export const leaseOf = ({ def, settings, store }: Call<any, any, any, any>): Duration.Duration | undefined => {
  const duration = def.leaseDuration ?? settings.leaseDuration
  return store.leases === undefined || Duration.isZero(duration) ? undefined : duration
}

/**
 * Gives back the lease the leader of a call's computation holds, if any (once), to the
 * call's store's `leases`.
 *
 * @internal
 */
export const release = ({ def, key, settings }: Call<any, any, any, any>, leases: Leases, leader: Leader): Effect.Effect<void> =>
  Effect.suspend(() => {
    const hold = leader.hold
    if (hold._tag === "None") {
      return Effect.void
    }
    leader.hold = noHold
    return failOpen(def, settings, leases.release(key, hold.token), undefined)
  })

/**
 * The computation of a flight's leader. On a store with leases it computes only while
 * it holds the key's lease: taken by the read that missed, or else (a read that took
 * none: a refresh, a batch's miss) by `Leases.acquire` and a second read (another
 * process may have filled the key since). While another process holds the lease it
 * waits for its release and reads the key again, taking the lease if the key is still
 * empty: the value that process stored is the answer; otherwise it tries again (at most
 * `leaseRounds` waits, and one lease duration of waiting in all: then it computes
 * anyway). A lease error computes at once (fail-open).
 *
 * @internal
 */
export const lead = <I, A, E, R>(
  call: Call<I, A, E, R>,
  guard: FillGuard,
  lease: LeaseOutcome | undefined,
  leader: Leader
): Effect.Effect<Outcome<A>, E, R> => {
  const { def, input, key, settings, store } = call
  const leases = store.leases
  const duration = leaseOf(call)
  const computed = (guard: FillGuard) =>
    Effect.map(computeSpan(def, input), (value): Outcome<A> => ({ _tag: "Computed", value, guard }))
  if (leases === undefined || duration === undefined) {
    return computed(guard)
  }
  const fallback = (guard: FillGuard) => (error: CacheStoreError) =>
    Effect.zipRight(report(def, settings, error), computed(guard))
  const compute = (guard: FillGuard) => Effect.onError(computed(guard), () => release(call, leases, leader))
  /** Reads the key again: a fresh entry there is the answer; otherwise `next` goes on under the read's guard. */
  const reread = (
    guard: FillGuard,
    read: Effect.Effect<Lookup, CacheStoreError>,
    next: (guard: FillGuard, lease: LeaseOutcome | undefined) => Effect.Effect<Outcome<A>, E, R>
  ) =>
    Effect.matchEffect(read, {
      onFailure: fallback(guard),
      onSuccess: (lookup) =>
        Effect.clockWith((clock) => {
          if (lookup.lease?._tag === "Taken") {
            leader.hold = { _tag: "InGuard", token: lookup.lease.token }
          }
          const hit = freshHit(def, settings, lookup, clock.unsafeCurrentTimeMillis())
          return hit === undefined
            ? next(lookup.guard, lookup.lease)
            : Effect.succeed<Outcome<A>>({ _tag: "Found", value: hit.value, entry: hit.entry })
        })
    })
  /**
   * Computes under the lease held, waits for another's, or takes it apart from a read.
   * `until`: when the waiting ends (the clock's millis), set by the first wait.
   */
  const next = (
    guard: FillGuard,
    lease: LeaseOutcome | undefined,
    waits: number,
    until: number | undefined
  ): Effect.Effect<Outcome<A>, E, R> =>
    leader.hold._tag !== "None"
      ? compute(guard)
      : lease?._tag === "Held"
      ? wait(guard, waits, until)
      : acquire(guard, waits, until)
  const wait = (guard: FillGuard, waits: number, until: number | undefined): Effect.Effect<Outcome<A>, E, R> =>
    waits === leaseRounds ? computed(guard) : Effect.flatMap(Clock.currentTimeMillis, (now) => {
      const end = until ?? now + Duration.toMillis(duration)
      return now >= end ? computed(guard) : Effect.matchEffect(leases.awaitRelease(key, Duration.millis(end - now)), {
        onFailure: fallback(guard),
        onSuccess: () =>
          reread(
            guard,
            Effect.uninterruptible(store.get(key, { lease: duration, shared: true })),
            (guard, lease) => next(guard, lease, waits + 1, end)
          )
      })
    })
  const acquire = (guard: FillGuard, waits: number, until: number | undefined): Effect.Effect<Outcome<A>, E, R> =>
    Effect.matchEffect(Effect.uninterruptible(leases.acquire(key, duration)), {
      onFailure: fallback(guard),
      onSuccess: (token) => {
        if (Option.isNone(token)) {
          return wait(guard, waits, until)
        }
        leader.hold = { _tag: "Acquired", token: token.value }
        return reread(guard, store.get(key, shared), compute)
      }
    })
  return next(guard, lease, 0, undefined)
}
