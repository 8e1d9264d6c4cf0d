import * as Clock from "effect/Clock"
import type * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import type * as Metric from "effect/Metric"
import * as MetricLabel from "effect/MetricLabel"
import * as Option from "effect/Option"
import { hasProperty } from "effect/Predicate"
import * as Random from "effect/Random"
import type * as Cached from "../Cached.js"
import { CacheDefinitionError, CacheTimeoutError, CacheValueError, type KeyError } from "../CacheError.js"
import type { CacheStoreError } from "../CacheError.js"
import * as CacheEntry from "../CacheEntry.js"
import type * as CacheKey from "../CacheKey.js"
import * as CacheMetrics from "../CacheMetrics.js"
import { CacheSettings, type Settings } from "../CacheSettings.js"
import {
  CacheStore,
  type FillGuard,
  type GetOptions,
  type InvalidateOptions,
  type LeaseOutcome,
  type Leases,
  type LeaseToken,
  type Lookup,
  type Service as Store
} from "../CacheStore.js"
import type * as KeyConstructor from "../KeyConstructor.js"
import * as Ttl from "../Ttl.js"
import * as codecs from "./codec.js"
import * as registry from "./constructorRegistry.js"
import * as registration from "./registration.js"
import { checkedDuration } from "./duration.js"
import { fingerprintSlice } from "./fingerprint.js"
import * as keys from "./keyConstructor.js"
import { SingleFlight } from "./singleFlight.js"
import * as tracing from "./tracing.js"

/**
 * `Effect.contextWithEffect` in one step of the fiber instead of three (it reads the
 * context in a step of its own): on every read and every invalidation of a key.
 */
const withContext = <A, E, R>(f: (context: Context.Context<never>) => Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.withFiberRuntime((fiber) => f(fiber.currentContext))

/** @internal */
export const TypeId: typeof Cached.TypeId = Symbol.for("@cachefx/core/Cached") as typeof Cached.TypeId

/** @internal */
export const isCached = (u: unknown): u is Cached.Cached.Any => hasProperty(u, TypeId)

const none = Option.none()

/** Whether an entry's TTL has a stale-while-revalidate window. */
const hasStaleWindow = (entry: CacheEntry.CacheEntry): boolean =>
  entry.expiresAt !== null && entry.staleUntil !== null && entry.staleUntil > entry.expiresAt

/** A read after a lease: of the tier instances share, where another instance may have filled the key. */
const shared: GetOptions = { shared: true }

/** How many times the leader of a miss waits for another process's lease before computing anyway. */
const leaseRounds = 3

/** What the leader of a computation learns on its way: the guard to fill under, its lease, or another process's entry. */
interface Lead {
  guard: FillGuard
  /** The lease this caller holds, until it is given back. */
  token: LeaseToken | undefined
  /** Whether `guard` carries `token` (a read took the lease): a fill under it gives the lease back. */
  carried: boolean
  /** The entry another process stored while this one waited: the answer, with nothing to fill. */
  found: CacheEntry.CacheEntry | undefined
}

/** How a call was answered, before it is shaped for `withStatus`. */
interface Answer<A> {
  readonly value: A
  readonly status: Cached.CacheStatus
  readonly entry: CacheEntry.CacheEntry | undefined
}

/** The timeouts of a cached value, checked when it is defined. */
interface Timeouts {
  readonly soft: Duration.Duration | undefined
  readonly hard: Duration.Duration | undefined
}

const decodeTimeouts = (name: string, timeout: Cached.Timeout | undefined): Timeouts => {
  const subject = `cached "${name}" timeout`
  const soft = timeout?.soft === undefined ? undefined : checkedDuration(`${subject}.soft`, timeout.soft)
  const hard = timeout?.hard === undefined ? undefined : checkedDuration(`${subject}.hard`, timeout.hard)
  if (soft !== undefined && hard !== undefined && !Duration.lessThan(soft, hard)) {
    throw new CacheDefinitionError({
      subject,
      reason: `soft (${Duration.format(soft)}) must be shorter than hard (${Duration.format(hard)}): ` +
        `a caller with a stale value at hand is served it after soft, and never fails`
    })
  }
  return { soft, hard }
}

/** @internal */
export const cached = (options: Cached.Options<KeyConstructor.KeyConstructor.Any, any>): any => (fa: any) => {
  if (Effect.isEffect(fa)) {
    return make(options, () => fa)({})
  }
  return make(options, fa)
}

const make = <I, A, E, R>(
  options: Cached.Options<KeyConstructor.KeyConstructor.Any, A>,
  compute: (input: I) => Effect.Effect<A, E, R>
): Cached.Cached<I, A, E | CacheTimeoutError, R, any, any> => {
  const constructor = options.key
  const name = options.name ?? constructor.namespace
  // A cached value named apart from its namespace has a namespace of its own (see `registry.identityOf`).
  const identity = registry.identityOf(constructor, name)
  const fingerprint = options.value === undefined || options.fingerprint === false
    ? undefined
    : fingerprintSlice(options.value)
  /** The slice of the cached value's own between the partition and the suffix. */
  const extra = (settings: Settings) => settings.fingerprint ? fingerprint : undefined
  const sync = keys.isSync(constructor)
  const size = constructor.fields.length
  const codec: codecs.Codec<A> = options.value === undefined ? codecs.json : codecs.fromSchema(options.value)
  const ttlOption = options.ttl
  const staticTtl = ttlOption === undefined || typeof ttlOption === "function" ? undefined : Ttl.decode(ttlOption)
  const { hard, soft } = decodeTimeouts(name, options.timeout)
  // every caller that joins a computation gets a copy of its own: callers never share a mutable value
  const copy = codecs.copier(codec)
  const flights = new SingleFlight<A, E>(copy)
  // Refreshes ahead run apart from `flights`: readers join a computation in `flights`,
  // but a key refreshed ahead is still fresh, so its readers are answered from the store.
  const ahead = new SingleFlight<A, E>(copy)
  const leaseDuration = options.leaseDuration === undefined ? undefined : Duration.decode(options.leaseDuration)
  // A static policy without refresh-ahead reads no clock per hit for it.
  const mayRefreshAhead = staticTtl === undefined || (staticTtl._tag === "Expiring" && staticTtl.refreshAhead > 0)
  registry.register(constructor, identity, (namespace) => flights.detach((flight) => flight.namespace === namespace))
  // the store this cached value last checked it may use (see `registry.claim`), and its token there
  let claimed: Store | undefined
  const owner = {}
  // One label array for the life of the cached value: the metric hook is cached by its identity.
  const labels = [MetricLabel.make("cache", name)]
  const count = (metric: Metric.Metric.Counter<number>) => metric.unsafeUpdate(1, labels)

  const keyOf = (input: unknown, settings: Settings): Effect.Effect<CacheKey.CacheKey, KeyError, any> =>
    Effect.flatMap(
      keys.slices(constructor, input, size),
      (slices) => keys.assembleEffect(constructor, settings, slices, extra(settings), identity)
    )

  /** Reports a cache-side error: counted and logged when failing open, a defect otherwise. */
  const report = (settings: Settings, error: KeyError | CacheStoreError | CacheValueError) =>
    settings.failOpen
      ? Effect.suspend(() => {
        count(CacheMetrics.errors)
        return Effect.logDebug("cachefx: cache error, failing open").pipe(
          Effect.annotateLogs({ cache: name, error: error.message })
        )
      })
      : Effect.die(error)

  const failOpen = <X, Y>(settings: Settings, effect: Effect.Effect<X, CacheStoreError>, fallback: Y) =>
    Effect.catchAll(effect, (error): Effect.Effect<X | Y> => Effect.as(report(settings, error), fallback))

  const ttlOf = (value: A, settings: Settings): Ttl.Ttl =>
    staticTtl ?? (ttlOption === undefined ? settings.defaultTtl : Ttl.decode((ttlOption as (a: A) => Ttl.TtlInput)(value)))

  const computeSpan = (input: I) =>
    tracing.withSpan("cachefx.compute", { attributes: { "cachefx.cache": name } })(compute(input))

  /** Encodes and stores a computed value under a guard; gives the entry when stored. */
  const fill = (
    store: Store,
    settings: Settings,
    key: CacheKey.CacheKey,
    value: A,
    guard: FillGuard,
    onSet?: () => void
  ): Effect.Effect<CacheEntry.CacheEntry | undefined> =>
    Effect.flatMap(Effect.zip(Clock.currentTimeMillis, Random.next), ([now, random]) => {
      const deadlines = Ttl.deadlines(ttlOf(value, settings), now, random)
      if (deadlines === undefined) {
        return Effect.succeed(undefined)
      }
      const encoded = codec.encode(value)
      if (Either.isLeft(encoded)) {
        count(CacheMetrics.errors)
        return Effect.as(
          Effect.logWarning(new CacheValueError({ key: key.key, direction: "encode", reason: encoded.left }).message),
          undefined
        )
      }
      const entry: CacheEntry.CacheEntry = { value: encoded.right, cachedAt: now, ...deadlines }
      const set = onSet === undefined ? store.set(key, entry, guard) : Effect.tap(store.set(key, entry, guard), onSet)
      return Effect.map(failOpen(settings, set, false), (stored) => {
        if (stored) {
          return entry
        }
        count(CacheMetrics.fillsSkipped)
        return undefined
      })
    })

  const computeOnly = (input: I, status: Cached.CacheStatus) =>
    Effect.map(computeSpan(input), (value): Answer<A> => ({ value, status, entry: undefined }))

  /** Whether a fresh entry is past the refresh-ahead point of its value's policy at `now`. */
  const due = (settings: Settings, value: A, entry: CacheEntry.CacheEntry, now: number): boolean => {
    const at = Ttl.refreshAt(ttlOf(value, settings), entry.cachedAt, entry.expiresAt)
    return at !== undefined && now >= at
  }

  /** The entry of a lookup when it needs no computation: fresh, and not due for a refresh ahead. */
  const settled = (settings: Settings, key: CacheKey.CacheKey, lookup: Lookup) =>
    // a read again of the key: an entry that does not decode was reported by the read that missed
    Effect.flatMap(live(settings, key, lookup, false), (hit) =>
      hit === undefined || !hit.fresh
        ? Effect.succeed(undefined)
        : Effect.clockWith((clock) =>
          Effect.succeed(due(settings, hit.value, hit.entry, clock.unsafeCurrentTimeMillis()) ? undefined : hit)
        ))

  /** How long a miss leases its key: `undefined` on a store without leases, or with leasing off. */
  const leaseOf = (store: Store, settings: Settings): Duration.Duration | undefined => {
    const duration = leaseDuration ?? settings.leaseDuration
    return store.leases === undefined || Duration.isZero(duration) ? undefined : duration
  }

  /** Gives back the lease a caller holds, if any (once). */
  const release = (settings: Settings, leases: Leases, key: CacheKey.CacheKey, state: Lead) =>
    Effect.suspend(() => {
      const token = state.token
      if (token === undefined) {
        return Effect.void
      }
      state.token = undefined
      state.carried = false
      return failOpen(settings, leases.release(key, token), undefined)
    })

  /**
   * The computation of a flight's leader. On a store with leases it computes only while
   * it holds the key's lease: taken by the read that missed (`lease`), or else (a read
   * that took none: a refresh, a batch's miss) by `Leases.acquire` and a second read
   * (another process may have filled the key since). While another process holds the
   * lease it waits for its release and reads the key again, taking the lease if the key
   * is still empty: the value that process stored is the answer; otherwise it tries
   * again (at most `leaseRounds` waits, and one lease duration of waiting in all: then
   * it computes anyway). A lease error computes at once (fail-open).
   */
  const lead = (
    store: Store,
    settings: Settings,
    key: CacheKey.CacheKey,
    input: I,
    state: Lead,
    lease: LeaseOutcome | undefined
  ) => {
    const leases = store.leases
    const duration = leaseOf(store, settings)
    if (leases === undefined || duration === undefined) {
      return computeSpan(input)
    }
    const fallback = (error: CacheStoreError) => Effect.zipRight(report(settings, error), computeSpan(input))
    const compute = Effect.onError(computeSpan(input), () => release(settings, leases, key, state))
    /** Reads the key again: a fresh entry there is the answer; otherwise `next` goes on under the read's guard. */
    const reread = (
      read: Effect.Effect<Lookup, CacheStoreError>,
      next: (lease: LeaseOutcome | undefined) => Effect.Effect<A, E, any>
    ) =>
      Effect.matchEffect(read, {
        onFailure: fallback,
        onSuccess: (lookup) => {
          if (lookup.lease?._tag === "Taken") {
            state.token = lookup.lease.token
            state.carried = true
          }
          return Effect.flatMap(settled(settings, key, lookup), (hit): Effect.Effect<A, E, any> => {
            if (hit !== undefined) {
              state.found = hit.entry
              return Effect.succeed(hit.value)
            }
            state.guard = lookup.guard
            return next(lookup.lease)
          })
        }
      })
    /**
     * Computes under the lease held, waits for another's, or takes it apart from a read.
     * `until`: when the waiting ends (the clock's millis), set by the first wait.
     */
    const next = (lease: LeaseOutcome | undefined, waits: number, until: number | undefined): Effect.Effect<A, E, any> =>
      state.token !== undefined ? compute : lease?._tag === "Held" ? wait(waits, until) : acquire(waits, until)
    const wait = (waits: number, until: number | undefined): Effect.Effect<A, E, any> =>
      waits === leaseRounds ? computeSpan(input) : Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const end = until ?? now + Duration.toMillis(duration)
        return now >= end ? computeSpan(input) : Effect.matchEffect(leases.awaitRelease(key, Duration.millis(end - now)), {
          onFailure: fallback,
          onSuccess: () =>
            reread(Effect.uninterruptible(store.get(key, { lease: duration, shared: true })), (lease) => next(lease, waits + 1, end))
        })
      })
    const acquire = (waits: number, until: number | undefined): Effect.Effect<A, E, any> =>
      Effect.matchEffect(Effect.uninterruptible(leases.acquire(key, duration)), {
        onFailure: fallback,
        onSuccess: (token) => {
          if (Option.isNone(token)) {
            return wait(waits, until)
          }
          state.token = token.value
          return reread(store.get(key, shared), () => compute)
        }
      })
    return next(lease, 0, undefined)
  }

  /**
   * Computes a key and stores its value: once per key at a time in this process
   * (`group`'s single-flight; a `refresh` flight is not joined by readers, who have a
   * value to serve), and once across processes on a store with leases. A lease the read
   * took (`lease`) is given back by the fill, or by `Leases.release` when there is none
   * or it fails; a caller that joins another's flight in this process gives it back at
   * once (the leader may be waiting for it). Answers with the value and the entry
   * stored, by this process or by another.
   */
  const computeOnce = (
    group: SingleFlight<A, E>,
    store: Store,
    settings: Settings,
    key: CacheKey.CacheKey,
    input: I,
    guard: FillGuard,
    lease: LeaseOutcome | undefined,
    refresh = false
  ) =>
    Effect.suspend(() => {
      const taken = lease?._tag === "Taken"
      const state: Lead = { guard, token: taken ? lease.token : undefined, carried: taken, found: undefined }
      let stored: CacheEntry.CacheEntry | undefined
      const given = () => {
        if (state.carried) {
          state.token = undefined
          state.carried = false
        }
      }
      const keep = (value: A) =>
        state.found === undefined
          ? Effect.map(fill(store, settings, key, value, state.guard, given), (entry) => {
            stored = entry
          })
          : Effect.sync(() => {
            stored = state.found
          })
      const leases = store.leases
      const giveBack = leases === undefined ? undefined : release(settings, leases, key, state)
      const run = group.run(key, lead(store, settings, key, input, state, lease), keep, refresh, giveBack)
      return Effect.map(
        giveBack === undefined ? run : Effect.ensuring(run, giveBack),
        (value): Answer<A> => ({ value, status: "Miss", entry: stored })
      )
    })

  /** Bounds a wait for a computation by the hard timeout. */
  const withinHard = <X, E2>(key: CacheKey.CacheKey, wait: Effect.Effect<X, E2, any>) =>
    hard === undefined ? wait : Effect.timeoutFail(wait, {
      duration: hard,
      onTimeout: () => new CacheTimeoutError({ cache: name, key: key.key, timeout: hard })
    })

  /**
   * Computes a missing value once per key. With a hard timeout the computation runs
   * detached from the caller, who waits for it at most that long: it finishes and fills
   * whatever happens to the caller.
   */
  const miss = (store: Store, settings: Settings, key: CacheKey.CacheKey, input: I, found: Lookup) =>
    Effect.suspend(() => {
      count(CacheMetrics.misses)
      const computation = computeOnce(flights, store, settings, key, input, found.guard, found.lease)
      return hard === undefined
        ? computation
        : Effect.flatMap(Effect.forkDaemon(computation), (fiber) => withinHard(key, Fiber.join(fiber)))
    })

  const refreshFailed = (cause: Cause.Cause<E>) =>
    Effect.logWarning("cachefx: background refresh failed", cause).pipe(Effect.annotateLogs({ cache: name }))

  /** Refreshes a key in the background, in `group`, unless a computation of it is under way. */
  const revalidate = (
    group: SingleFlight<A, E>,
    store: Store,
    settings: Settings,
    key: CacheKey.CacheKey,
    input: I,
    guard: FillGuard
  ) =>
    flights.has(key.key) || ahead.has(key.key)
      ? Effect.void
      : computeOnce(group, store, settings, key, input, guard, undefined, true).pipe(
        Effect.catchAllCause(refreshFailed),
        Effect.forkDaemon,
        Effect.asVoid
      )

  /**
   * A stale hit: served at once while one refresh runs in the background; with a soft
   * timeout, the refreshed value when it comes within it (a failed refresh also serves
   * the stale value).
   */
  const staleHit = (
    store: Store,
    settings: Settings,
    key: CacheKey.CacheKey,
    input: I,
    guard: FillGuard,
    stale: Answer<A>
  ): Effect.Effect<Answer<A>, never, any> => {
    if (soft === undefined) {
      count(CacheMetrics.staleHits)
      return Effect.as(revalidate(flights, store, settings, key, input, guard), stale)
    }
    return computeOnce(flights, store, settings, key, input, guard, undefined, true).pipe(
      Effect.tapErrorCause(refreshFailed),
      Effect.forkDaemon,
      Effect.flatMap((fiber) => Effect.timeoutOption(Fiber.await(fiber), soft)),
      Effect.map((exit) => {
        if (Option.isSome(exit) && Exit.isSuccess(exit.value)) {
          count(CacheMetrics.misses)
          return exit.value.value
        }
        count(CacheMetrics.staleHits)
        return stale
      })
    )
  }

  /** Answers a fresh hit, and refreshes the key ahead in the background when it is due. */
  const hitAhead = (
    store: Store,
    settings: Settings,
    key: CacheKey.CacheKey,
    input: I,
    guard: FillGuard,
    hit: { readonly value: A; readonly entry: CacheEntry.CacheEntry }
  ) =>
    Effect.clockWith((clock) => {
      const answer: Answer<A> = { value: hit.value, status: "Hit", entry: hit.entry }
      return due(settings, hit.value, hit.entry, clock.unsafeCurrentTimeMillis())
        ? Effect.as(revalidate(ahead, store, settings, key, input, guard), answer)
        : Effect.succeed(answer)
    })

  const decodeFailure = (settings: Settings, key: CacheKey.CacheKey, reason: string) =>
    report(settings, new CacheValueError({ key: key.key, direction: "decode", reason }))

  /**
   * The live entry of a lookup at the current time, decoded; `undefined` when there is
   * none. An entry invalidated softly is stale, and live only while its TTL's
   * stale-while-revalidate window lasts (without one, it is a miss).
   */
  const live = (settings: Settings, key: CacheKey.CacheKey, lookup: Lookup | undefined, reportUndecodable = true) =>
    Effect.clockWith((clock): Effect.Effect<{ readonly value: A; readonly entry: CacheEntry.CacheEntry; readonly fresh: boolean } | undefined> => {
      if (lookup === undefined || Option.isNone(lookup.entry)) {
        return Effect.succeed(undefined)
      }
      const entry = lookup.entry.value
      const state = CacheEntry.stateAt(entry, clock.unsafeCurrentTimeMillis())
      const softened = lookup.stale === true
      if (state === "Expired" || (softened && !hasStaleWindow(entry))) {
        return Effect.succeed(undefined)
      }
      const decoded = codec.decode(entry.value)
      return Either.isRight(decoded)
        ? Effect.succeed({ value: decoded.right, entry, fresh: state === "Fresh" && !softened })
        : reportUndecodable
        ? Effect.as(decodeFailure(settings, key, decoded.left), undefined)
        : Effect.succeed(undefined)
    })

  /** Joins a computation of the key under way without reading the store, or reads it. */
  const lookup = (
    store: Store,
    settings: Settings,
    key: CacheKey.CacheKey,
    input: I
  ): Effect.Effect<Answer<A>, E | CacheTimeoutError, any> => {
    const waiting = flights.wait(key.key)
    if (waiting === undefined) {
      return read(store, settings, key, input)
    }
    count(CacheMetrics.misses)
    return Effect.flatMap(withinHard(key, waiting), (exit) =>
      exit === undefined
        ? read(store, settings, key, input)
        : Effect.map(exit, (value): Answer<A> => ({ value, status: "Miss", entry: undefined })))
  }

  /**
   * Reads the key, taking its lease should it hold no entry (on a store with leases,
   * leasing on). A caller interrupted while such a read is under way, or before the
   * computation that gives the lease back has started, still gives it back: the read
   * finishes (it is bounded by the store's timeout), then the lease is released, so no
   * caller waits out the lease of one that left.
   */
  const read = (store: Store, settings: Settings, key: CacheKey.CacheKey, input: I) => {
    const lease = leaseOf(store, settings)
    const leases = store.leases
    if (lease === undefined || leases === undefined) {
      return Effect.flatMap(failOpen(settings, store.get(key), undefined), (found) =>
        answerOf(store, settings, key, input, found))
    }
    return Effect.uninterruptibleMask((restore) =>
      Effect.flatMap(failOpen(settings, store.get(key, { lease }), undefined), (found) => {
        const answer = restore(answerOf(store, settings, key, input, found))
        const taken = found?.lease
        return taken?._tag === "Taken"
          ? Effect.onInterrupt(answer, () => failOpen(settings, leases.release(key, taken.token), undefined))
          : answer
      })
    )
  }

  /** The answer to a read of the store: a fresh or stale hit, or the computation. */
  const answerOf = (
    store: Store,
    settings: Settings,
    key: CacheKey.CacheKey,
    input: I,
    found: Lookup | undefined
  ): Effect.Effect<Answer<A>, E | CacheTimeoutError, any> => {
    if (found === undefined) {
      return computeOnly(input, "Miss")
    }
    return Effect.flatMap(live(settings, key, found), (hit) => {
      if (hit === undefined) {
        return found.foreign === undefined
          ? miss(store, settings, key, input, found)
          : Effect.zipRight(decodeFailure(settings, key, found.foreign), miss(store, settings, key, input, found))
      }
      if (hit.fresh) {
        count(CacheMetrics.hits)
        return mayRefreshAhead
          ? hitAhead(store, settings, key, input, found.guard, hit)
          : Effect.succeed({ value: hit.value, status: "Hit", entry: hit.entry })
      }
      return staleHit(store, settings, key, input, found.guard, { value: hit.value, status: "Stale", entry: hit.entry })
    })
  }

  /** The key of an input: built at once when every field is synchronous, through `keyOf` otherwise. */
  const resolveKey = <X, E2>(
    input: unknown,
    settings: Settings,
    onKey: (key: CacheKey.CacheKey) => Effect.Effect<X, E2, any>,
    onError: (error: KeyError) => Effect.Effect<X, E2, any>
  ): Effect.Effect<X, E2, any> => {
    if (!sync) {
      return Effect.matchEffect(keyOf(input, settings), { onFailure: onError, onSuccess: onKey })
    }
    let key: CacheKey.CacheKey
    try {
      key = keys.assemble(constructor, settings, keys.slicesSync(constructor, input, size), extra(settings), identity)
    } catch (error) {
      return onError(error as KeyError)
    }
    return onKey(key)
  }

  /** Runs `f` with the settings, the store and the key of an input; computes when there is no key. */
  const withKey = <X, E2>(
    input: I,
    f: (store: Store, settings: Settings, key: CacheKey.CacheKey) => Effect.Effect<X, E2, any>,
    orElse: (settings: Settings) => Effect.Effect<X, E2, any>
  ): Effect.Effect<X, E2, any> =>
    withContext((context) => {
      const settings = Context.get(context, CacheSettings)
      const store = Context.unsafeGet(context, CacheStore)
      if (store !== claimed) {
        const conflict = registry.claim(store, constructor, name, owner)
        if (conflict !== undefined) {
          return Effect.die(conflict)
        }
        claimed = store
      }
      const unregistered = check?.(context)
      const resolved = resolveKey(
        input,
        settings,
        (key) => f(store, settings, key),
        (error) => Effect.zipRight(report(settings, error), orElse(settings))
      )
      return unregistered === undefined ? resolved : Effect.zipRight(unregistered, resolved)
    })

  /** The partition of an input: built at once when every field is synchronous. */
  const partitionOf = (input: unknown, settings: Settings): Effect.Effect<CacheKey.Partition, KeyError, any> => {
    if (!sync) {
      return Effect.map(
        keys.slices(constructor, input, constructor.partitionSize),
        (slices) => keys.assemblePartition(constructor, settings, slices, identity)
      )
    }
    try {
      return Effect.succeed(
        keys.assemblePartition(
          constructor,
          settings,
          keys.slicesSync(constructor, input, constructor.partitionSize),
          identity
        )
      )
    } catch (error) {
      return Effect.fail(error as KeyError)
    }
  }

  const answer = (input: I): Effect.Effect<Answer<A>, E | CacheTimeoutError, any> =>
    Effect.flatMap(CacheSettings, (settings) =>
      settings.enabled
        ? withKey(input, (store, settings, key) => lookup(store, settings, key, input), () => computeOnly(input, "Miss"))
        : computeOnly(input, "Bypass"))

  const withStatus = (input: I): Effect.Effect<Cached.CacheResult<A>, E | CacheTimeoutError, any> =>
    Effect.map(answer(input), ({ entry, status, value }) => ({
      value,
      status,
      cachedAt: entry === undefined ? none : Option.some(new Date(entry.cachedAt)),
      expiresAt: entry === undefined || entry.expiresAt === null ? none : Option.some(new Date(entry.expiresAt))
    }))

  const refresh = (input: I): Effect.Effect<A, E, any> =>
    withKey(
      input,
      (store, settings, key) =>
        Effect.flatMap(failOpen(settings, store.get(key), undefined), (found) =>
          Effect.tap(computeSpan(input), (value) =>
            found === undefined ? Effect.void : fill(store, settings, key, value, found.guard))),
      () => computeSpan(input)
    )

  const keyFor = (input: I) => Effect.flatMap(CacheSettings, (settings) => keyOf(input, settings))

  /** The key of each input: `undefined` (reported) for one whose key cannot be built. */
  const keysOf = (inputs: ReadonlyArray<I>) =>
    Effect.forEach(inputs, (input) =>
      withKey(
        input,
        (_store, _settings, key): Effect.Effect<CacheKey.CacheKey | undefined> => Effect.succeed(key),
        () => Effect.succeed(undefined)
      ))

  /** The lookups of many keys: one `getMany`, or concurrent `get`s when the store has none. */
  const readMany = (
    store: Store,
    settings: Settings,
    keys: ReadonlyArray<CacheKey.CacheKey>
  ): Effect.Effect<ReadonlyArray<Lookup | undefined>> =>
    store.getMany === undefined
      ? Effect.forEach(keys, (key) => failOpen(settings, store.get(key), undefined), { concurrency: "unbounded" })
      : failOpen(settings, store.getMany(keys), keys.map(() => undefined))

  /**
   * Cache-aside for a batch: the distinct keys read at once, each answered as a single
   * call's read is (hits decoded, stale ones refreshed, misses computed through the
   * single-flight under the guards of this read), concurrently. An input whose key cannot
   * be built is computed, as a single call's is.
   */
  const many = (inputs: Iterable<I>, options?: Cached.ManyOptions): Effect.Effect<Array<A>, E | CacheTimeoutError, any> =>
    Effect.flatMap(CacheSettings, (settings) => {
      const all = Array.from(inputs)
      const concurrency = options?.concurrency ?? "unbounded"
      if (all.length === 0) {
        return Effect.succeed([])
      }
      if (!settings.enabled) {
        return Effect.forEach(all, computeSpan, { concurrency })
      }
      return Effect.flatMap(Effect.zip(keysOf(all), CacheStore), ([keys, store]) => {
        const distinct: Array<CacheKey.CacheKey> = []
        const firstInputs: Array<I> = []
        const keyless: Array<I> = []
        const indexOf = new Map<string, number>()
        // the answer each input takes: a distinct key's, or (after them) its own computation's
        const slots = keys.map((key, i) => {
          if (key === undefined) {
            keyless.push(all[i]!)
            return -keyless.length
          }
          let index = indexOf.get(key.key)
          if (index === undefined) {
            index = distinct.push(key) - 1
            firstInputs.push(all[i]!)
            indexOf.set(key.key, index)
          }
          return index
        })
        return Effect.flatMap(readMany(store, settings, distinct), (lookups) =>
          Effect.clockWith((clock) => {
            const now = clock.unsafeCurrentTimeMillis()
            const answers = new Array<Answer<A>>(distinct.length + keyless.length)
            // fresh entries have nothing to wait for: answered in one pass, not a fiber each
            const fresh: Array<Effect.Effect<void, E | CacheTimeoutError, any>> = []
            const others: Array<Effect.Effect<void, E | CacheTimeoutError, any>> = []
            distinct.forEach((key, i) => {
              const found = lookups[i]
              const isFresh = found !== undefined && found.stale !== true && Option.isSome(found.entry) &&
                CacheEntry.stateAt(found.entry.value, now) === "Fresh"
              ;(isFresh ? fresh : others).push(Effect.map(answerOf(store, settings, key, firstInputs[i]!, found), (answer) => {
                answers[i] = answer
              }))
            })
            keyless.forEach((input, j) =>
              others.push(Effect.map(computeOnly(input, "Miss"), (answer) => {
                answers[distinct.length + j] = answer
              }))
            )
            const answered = others.length === 0
              ? Effect.all(fresh, { discard: true })
              : Effect.zip(Effect.all(fresh, { discard: true }), Effect.all(others, { concurrency, discard: true }), {
                concurrent: true
              })
            // inputs of one key after the first get a copy of its value: callers never share a mutable value
            const given = new Set<number>()
            return Effect.map(answered, () =>
              slots.map((slot) => {
                const value = answers[slot < 0 ? distinct.length - slot - 1 : slot]!.value
                if (slot < 0 || !given.has(slot)) {
                  given.add(slot)
                  return value
                }
                return copy(value)
              }))
          }))
      })
    })

  // a value with rules warns where it runs beside an engine that does not serve it
  const check = (options.invalidatesOn ?? []).length === 0 ? undefined : registration.checker(name, () => self)
  const call = (input: I) => Effect.map(answer(input), (answer) => answer.value)
  // a function's own `name` is read-only to assignment, but configurable
  Object.defineProperty(call, "name", { value: name })
  const self: Cached.Cached<I, A, E | CacheTimeoutError, R, any, any> = Object.assign(call, {
    [TypeId]: TypeId as Cached.TypeId,
    key: constructor,
    rules: options.invalidatesOn ?? [],
    withStatus,
    bypass: compute,
    refresh,
    delete: (input: I, options?: InvalidateOptions) =>
      withContext((context) =>
        resolveKey<void, KeyError | CacheStoreError>(input, Context.get(context, CacheSettings), (key) => {
          flights.detach((flight) => flight.key === key.key)
          return Context.unsafeGet(context, CacheStore).invalidate({ ...key, _tag: "Key" }, options)
        }, Effect.fail)
      ),
    deletePartition: (input: unknown, options?: InvalidateOptions) =>
      withContext((context) =>
        Effect.flatMap(partitionOf(input, Context.get(context, CacheSettings)), (scope) => {
          flights.detach((flight) => flight.partition === scope.partition)
          return Context.unsafeGet(context, CacheStore).invalidate({ ...scope, _tag: "Partition" }, options)
        })
      ),
    invalidateAll: registry.invalidateOwn(constructor, identity),
    peek: (input: I) =>
      withKey(
        input,
        (store, settings, key) =>
          Effect.flatMap(failOpen(settings, store.get(key), undefined), (found) =>
            Effect.map(live(settings, key, found), (hit) => hit === undefined ? Option.none<A>() : Option.some(hit.value))),
        () => Effect.succeed(Option.none<A>())
      ),
    keyFor: (input: I) => Effect.map(keyFor(input), (key) => key.key),
    many
  })
  return self
}
