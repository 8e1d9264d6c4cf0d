import type { CacheEntry, CacheKey } from "@cachefx/core"
import { CacheError, CacheSettings, CacheStore, CircuitBreaker } from "@cachefx/core"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberId from "effect/FiberId"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import { type Backend, type Row, TimedOut } from "./backend.js"

/** The stamps a read saw of a key: its own, and the soft stamps of its partition and namespace. */
interface Seen {
  readonly k: number
  readonly p: number
  readonly n: number
}

/** What a read saw, and when; and the token of the lease it took, which the fill under it gives back. */
class Guard {
  constructor(readonly seen: Seen, readonly readAt: number, readonly lease: CacheStore.LeaseToken | undefined) {}

  /** The guard as the store hands it out: opaque. */
  get sealed(): CacheStore.FillGuard {
    return this as unknown as CacheStore.FillGuard
  }
}

/**
 * What an invalidation of a scope did to an entry that recorded `recorded` of its soft
 * stamp: nothing (`fresh`), a soft invalidation since (`stale`: the soft stamp moved, the
 * hard one is still at or below what the entry recorded), or a hard one, or the stamp's
 * row was swept (`dead`).
 */
const scopeState = (recorded: number, hard: number, soft: number): "fresh" | "stale" | "dead" =>
  recorded === soft ? "fresh" : recorded >= hard && recorded < soft ? "stale" : "dead"

/** The options of the store that `SqlStore` checked. @internal */
export interface Options {
  /** The longest an entry lives, in ms. */
  readonly maxTtl: number
  /** How often the sweep runs; none: never. */
  readonly sweepInterval: Duration.Duration | undefined
  /** How often a caller waiting for a lease another process holds checks it. */
  readonly leasePollInterval: Duration.Duration
}

/** Rows deleted by one statement of the sweep, at most. */
const sweepBatch = 1_000

/** The store over one backend, with its metrics, timeout and breaker, and its sweep running in the scope. @internal */
export const make = (backend: Backend, options: Options): Effect.Effect<CacheStore.Service, never, Scope.Scope> =>
  Effect.gen(function*() {
    const clock = yield* Effect.clock
    const settings = yield* CacheSettings.CacheSettings
    const window = Math.max(1, Duration.toMillis(settings.fillWindow))
    const now = () => clock.unsafeCurrentTimeMillis()
    const attempt = <A>(operation: string, effect: Effect.Effect<A, unknown>) =>
      Effect.mapError(effect, (cause) =>
        cause instanceof TimedOut
          ? new CacheError.CacheStoreError({ operation, reason: "Timeout" })
          : new CacheError.CacheStoreError({ operation, reason: "Unavailable", cause }))

    const { leases, wake } = yield* makeLeases(backend, attempt, now, options.leasePollInterval)

    const lookupOf = (row: Row, at: number, lease?: CacheStore.LeaseToken): CacheStore.Lookup => {
      const guard = new Guard({ k: row.k, p: row.pSoft, n: row.nSoft }, at, lease).sealed
      if (row.value === null || row.goneAt <= at || (row.staleUntil !== null && row.staleUntil <= at)) {
        return { entry: Option.none(), guard }
      }
      const partition = scopeState(row.p, row.pHard, row.pSoft)
      const namespace = scopeState(row.n, row.nHard, row.nSoft)
      if (partition === "dead" || namespace === "dead") {
        return { entry: Option.none(), guard }
      }
      let value: unknown
      try {
        value = JSON.parse(row.value)
      } catch {
        return { entry: Option.none(), guard, foreign: "the entry's value is not JSON (written by another program?)" }
      }
      const entry = Option.some({ value, cachedAt: row.cachedAt, expiresAt: row.expiresAt, staleUntil: row.staleUntil })
      return row.stale || partition === "stale" || namespace === "stale" ? { entry, guard, stale: true } : { entry, guard }
    }

    const getMany = (keys: ReadonlyArray<CacheKey.CacheKey>) =>
      keys.length === 0
        ? Effect.succeed([])
        : Effect.map(attempt("getMany", backend.read(keys)), (rows) => {
          const at = now()
          return rows.map((row) => lookupOf(row, at))
        })

    const read = (key: CacheKey.CacheKey) => Effect.map(attempt("get", backend.read([key])), (rows) => lookupOf(rows[0]!, now()))

    /** A read that takes the lease when the key serves no entry, in the read's round trip. */
    const readLeasing = (readLeasing: NonNullable<Backend["readLeasing"]>) =>
    (key: CacheKey.CacheKey, duration: Duration.Duration) =>
      Effect.suspend(() => {
        const at = now()
        const token = crypto.randomUUID() as CacheStore.LeaseToken
        const until = at + Math.max(1, Duration.toMillis(duration))
        return Effect.map(attempt("get", readLeasing(key, token, until, at)), ({ asked, row, taken }) => {
          const lookup = lookupOf(row, at, taken ? token : undefined)
          return asked ? { ...lookup, lease: taken ? { _tag: "Taken" as const, token } : { _tag: "Held" as const } } : lookup
        })
      })
    const leasing = backend.readLeasing === undefined ? undefined : readLeasing(backend.readLeasing)

    // without a read that takes leases, `CacheStore.make` takes them in a statement of their own
    const get = (key: CacheKey.CacheKey, getOptions?: CacheStore.GetOptions) =>
      getOptions?.lease === undefined || leasing === undefined ? read(key) : leasing(key, getOptions.lease)

    const set = (key: CacheKey.CacheKey, entry: CacheEntry.CacheEntry, guard: CacheStore.FillGuard) =>
      Effect.suspend(() => {
        if (!(guard instanceof Guard)) {
          return Effect.succeed(false)
        }
        const at = now()
        if (at - guard.readAt > window || (entry.staleUntil !== null && entry.staleUntil <= at)) {
          // nothing to store: the lease the read took goes back alone
          return guard.lease === undefined
            ? Effect.succeed(false)
            : Effect.as(leases.release(key, guard.lease), false)
        }
        const stored = attempt(
          "set",
          backend.fill({
            key,
            // the value is already in its encoded (JSON) form; `undefined` is stored as null, as JSON has it
            value: JSON.stringify(entry.value) ?? "null",
            cachedAt: entry.cachedAt,
            expiresAt: entry.expiresAt,
            staleUntil: entry.staleUntil,
            goneAt: Math.min(entry.staleUntil ?? Infinity, at + options.maxTtl),
            ...guard.seen
          }, guard.lease)
        )
        // the fill gave the lease back: this process's waiters for it read the key again at once
        return guard.lease === undefined ? stored : Effect.tap(stored, () => wake(key.key))
      })

    const invalidate = (target: CacheKey.Target, invalidateOptions?: CacheStore.InvalidateOptions) =>
      Effect.suspend(() => {
        const at = now()
        // a key's tombstone outlives the fill window of every read before it, with room for clock skew
        return attempt("invalidate", backend.invalidate(target, invalidateOptions?.soft === true, at, at + 2 * window))
      })


    // each statement is bounded by the backend itself (see `Backend`), not by `CacheStore.withTimeout`
    const store = CacheStore.make({ get, getMany, set, invalidate, leases })
    const breaker = yield* CircuitBreaker.make({ store: backend.name })

    if (options.sweepInterval !== undefined) {
      // each run deletes batch after batch until one comes back short; a failed run waits for the next
      const sweepOnce = Effect.suspend(() => {
        const at = now()
        return backend.sweep(at, at - options.maxTtl, sweepBatch)
      })
      const sweep = sweepOnce.pipe(
        Effect.repeat({ until: (deleted) => deleted < sweepBatch }),
        Effect.timeout(Duration.times(options.sweepInterval, 2)),
        Effect.ignore
      )
      yield* Effect.forkScoped(Effect.repeat(Effect.delay(sweep, options.sweepInterval), Schedule.forever))
    }
    return CacheStore.withTelemetry(CacheStore.withBreaker(store, breaker), backend.name)
  })

/**
 * Leases in a table of the store. A release wakes the callers of this process waiting
 * for the lease at once; a caller waiting for another process's lease checks it every
 * `poll` (the database has no message to wake it).
 */
const makeLeases = (
  backend: Backend,
  attempt: <A>(operation: string, effect: Effect.Effect<A, unknown>) => Effect.Effect<A, CacheError.CacheStoreError>,
  now: () => number,
  poll: Duration.Duration
): Effect.Effect<{ readonly leases: CacheStore.Leases; readonly wake: (key: string) => Effect.Effect<void> }> =>
  Effect.sync(() => {
    /** The callers of this process waiting for each key's lease. */
    const waiting = new Map<string, Set<Deferred.Deferred<void>>>()
    const wake = (key: string) =>
      Effect.suspend(() => {
        const waiters = waiting.get(key)
        waiting.delete(key)
        return waiters === undefined
          ? Effect.void
          : Effect.forEach(waiters, (waiter) => Deferred.succeed(waiter, undefined), { discard: true })
      })
    /** Completes when this process releases the key's lease; the waiter is forgotten however it ends. */
    const releasedHere = (key: string) =>
      Effect.suspend(() => {
        const waiter = Deferred.unsafeMake<void>(FiberId.none)
        const waiters = waiting.get(key) ?? new Set()
        waiting.set(key, waiters.add(waiter))
        return Effect.ensuring(
          Deferred.await(waiter),
          Effect.sync(() => {
            waiters.delete(waiter)
            if (waiters.size === 0 && waiting.get(key) === waiters) {
              waiting.delete(key)
            }
          })
        )
      })
    const free = (key: string) => Effect.map(attempt("awaitRelease", backend.held(key, now())), (held) => !held)
    const leases: CacheStore.Leases = {
      acquire: (key, duration) =>
        Effect.suspend(() => {
          const token = crypto.randomUUID() as CacheStore.LeaseToken
          const at = now()
          return Effect.map(
            attempt("acquireLease", backend.acquire(key.key, token, at + Math.max(1, Duration.toMillis(duration)), at)),
            (taken) => taken ? Option.some(token) : Option.none()
          )
        }),
      release: (key, token) => Effect.zipRight(attempt("releaseLease", backend.release(key.key, token)), wake(key.key)),
      awaitRelease: (key, timeout) =>
        Effect.raceFirst(
          releasedHere(key.key),
          Effect.repeat(free(key.key), { until: (isFree) => isFree, schedule: Schedule.spaced(poll) })
        ).pipe(Effect.timeout(timeout), Effect.catchTag("TimeoutException", () => Effect.void), Effect.asVoid)
    }
    return { leases, wake }
  })
