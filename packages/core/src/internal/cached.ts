import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Metric from "effect/Metric"
import * as MetricLabel from "effect/MetricLabel"
import * as Option from "effect/Option"
import { hasProperty } from "effect/Predicate"
import * as Random from "effect/Random"
import type * as Cached from "../Cached.js"
import { CacheValueError, type KeyError } from "../CacheError.js"
import type { CacheStoreError } from "../CacheError.js"
import * as CacheEntry from "../CacheEntry.js"
import type * as CacheKey from "../CacheKey.js"
import * as CacheMetrics from "../CacheMetrics.js"
import { CacheSettings, type Settings } from "../CacheSettings.js"
import { CacheStore, type FillGuard, type Lookup, type Service as Store } from "../CacheStore.js"
import type * as KeyConstructor from "../KeyConstructor.js"
import * as Ttl from "../Ttl.js"
import * as codecs from "./codec.js"
import * as registry from "./constructorRegistry.js"
import { fingerprintSlice } from "./fingerprint.js"
import * as keys from "./keyConstructor.js"
import { encodeSlice } from "./keyEncoding.js"
import { SingleFlight } from "./singleFlight.js"

/** @internal */
export const TypeId: typeof Cached.TypeId = Symbol.for("@cachefx/core/Cached") as typeof Cached.TypeId

/** @internal */
export const isCached = (u: unknown): u is Cached.Cached.Any => hasProperty(u, TypeId)

const none = Option.none()

/** How a call was answered, before it is shaped for `withStatus`. */
interface Answer<A> {
  readonly value: A
  readonly status: Cached.CacheStatus
  readonly entry: CacheEntry.CacheEntry | undefined
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
): Cached.Cached<I, A, E, R, any, any> => {
  const constructor = options.key
  const name = options.name ?? constructor.namespace
  // A cached value named apart from its namespace keeps its own keys; `#@` starts no other slice.
  const nameSlice = name === constructor.namespace ? undefined : "#@" + encodeSlice(name, false)
  const fingerprint = options.value === undefined || options.fingerprint === false
    ? undefined
    : fingerprintSlice(options.value)
  const withFingerprint = nameSlice === undefined ? fingerprint : nameSlice + ":" + fingerprint
  /** The slices of the cached value's own between the partition and the suffix. */
  const extra = (settings: Settings) => fingerprint !== undefined && settings.fingerprint ? withFingerprint : nameSlice
  const sync = keys.isSync(constructor)
  const size = constructor.fields.length
  const codec: codecs.Codec<A> = options.value === undefined ? codecs.json : codecs.fromSchema(options.value)
  const ttlOption = options.ttl
  const staticTtl = ttlOption === undefined || typeof ttlOption === "function" ? undefined : Ttl.decode(ttlOption)
  const flights = new SingleFlight<A, E>()
  registry.register(constructor, (namespace) => flights.detach((flight) => flight.namespace === namespace))
  // One label array for the life of the cached value: the metric hook is cached by its identity.
  const labels = [MetricLabel.make("cache", name)]
  const count = (metric: Metric.Metric.Counter<number>) => metric.unsafeUpdate(1, labels)

  const keyOf = (input: unknown, settings: Settings): Effect.Effect<CacheKey.CacheKey, KeyError, any> =>
    Effect.flatMap(
      keys.slices(constructor, input, size),
      (slices) => keys.assembleEffect(constructor, settings, slices, extra(settings))
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
    Effect.withSpan(compute(input), "cachefx.compute", { attributes: { "cachefx.cache": name } })

  /** Encodes and stores a computed value under a guard; gives the entry when stored. */
  const fill = (
    store: Store,
    settings: Settings,
    key: CacheKey.CacheKey,
    value: A,
    guard: FillGuard
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
      return Effect.map(failOpen(settings, store.set(key, entry, guard), false), (stored) => {
        if (stored) {
          return entry
        }
        count(CacheMetrics.fillsSkipped)
        return undefined
      })
    })

  const computeOnly = (input: I, status: Cached.CacheStatus) =>
    Effect.map(computeSpan(input), (value): Answer<A> => ({ value, status, entry: undefined }))

  /** Computes a missing value once per key, and stores it under the leader's guard. */
  const miss = (store: Store, settings: Settings, key: CacheKey.CacheKey, input: I, guard: FillGuard) =>
    Effect.suspend(() => {
      count(CacheMetrics.misses)
      let stored: CacheEntry.CacheEntry | undefined
      return Effect.map(
        flights.run(key, computeSpan(input), (value) =>
          Effect.map(fill(store, settings, key, value, guard), (entry) => {
            stored = entry
          })),
        (value): Answer<A> => ({ value, status: "Miss", entry: stored })
      )
    })

  const revalidate = (store: Store, settings: Settings, key: CacheKey.CacheKey, input: I, guard: FillGuard) =>
    flights.has(key.key) ? Effect.void : flights.run(key, computeSpan(input), (value) =>
      Effect.asVoid(fill(store, settings, key, value, guard))).pipe(
        Effect.catchAllCause((cause) =>
          Effect.logWarning("cachefx: background refresh failed", cause).pipe(Effect.annotateLogs({ cache: name }))
        ),
        Effect.forkDaemon,
        Effect.asVoid
      )

  const decodeFailure = (settings: Settings, key: CacheKey.CacheKey, reason: string) =>
    report(settings, new CacheValueError({ key: key.key, direction: "decode", reason }))

  /** The live entry of a lookup at the current time, decoded; `undefined` when there is none. */
  const live = (settings: Settings, key: CacheKey.CacheKey, lookup: Lookup | undefined) =>
    Effect.clockWith((clock): Effect.Effect<{ readonly value: A; readonly entry: CacheEntry.CacheEntry; readonly fresh: boolean } | undefined> => {
      if (lookup === undefined || Option.isNone(lookup.entry)) {
        return Effect.succeed(undefined)
      }
      const entry = lookup.entry.value
      const state = CacheEntry.stateAt(entry, clock.unsafeCurrentTimeMillis())
      if (state === "Expired") {
        return Effect.succeed(undefined)
      }
      const decoded = codec.decode(entry.value)
      return Either.isRight(decoded)
        ? Effect.succeed({ value: decoded.right, entry, fresh: state === "Fresh" })
        : Effect.as(decodeFailure(settings, key, decoded.left), undefined)
    })

  /** Joins a computation of the key under way without reading the store, or reads it. */
  const lookup = (store: Store, settings: Settings, key: CacheKey.CacheKey, input: I): Effect.Effect<Answer<A>, E, any> => {
    const waiting = flights.wait(key.key)
    if (waiting === undefined) {
      return read(store, settings, key, input)
    }
    count(CacheMetrics.misses)
    return Effect.flatMap(waiting, (exit) =>
      exit === undefined
        ? read(store, settings, key, input)
        : Effect.map(exit, (value): Answer<A> => ({ value, status: "Miss", entry: undefined })))
  }

  const read = (store: Store, settings: Settings, key: CacheKey.CacheKey, input: I) =>
    Effect.flatMap(failOpen(settings, store.get(key), undefined), (found): Effect.Effect<Answer<A>, E, any> => {
      if (found === undefined) {
        return computeOnly(input, "Miss")
      }
      return Effect.flatMap(live(settings, key, found), (hit) => {
        if (hit === undefined) {
          return found.foreign === undefined
            ? miss(store, settings, key, input, found.guard)
            : Effect.zipRight(decodeFailure(settings, key, found.foreign), miss(store, settings, key, input, found.guard))
        }
        if (hit.fresh) {
          count(CacheMetrics.hits)
          return Effect.succeed({ value: hit.value, status: "Hit", entry: hit.entry })
        }
        count(CacheMetrics.staleHits)
        return Effect.as(revalidate(store, settings, key, input, found.guard), {
          value: hit.value,
          status: "Stale",
          entry: hit.entry
        })
      })
    })

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
      key = keys.assemble(constructor, settings, keys.slicesSync(constructor, input, size), extra(settings))
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
    Effect.contextWithEffect((context: Context.Context<never>) => {
      const settings = Context.get(context, CacheSettings)
      const store = Context.unsafeGet(context, CacheStore)
      return resolveKey(
        input,
        settings,
        (key) => f(store, settings, key),
        (error) => Effect.zipRight(report(settings, error), orElse(settings))
      )
    })

  /** The partition of an input: built at once when every field is synchronous. */
  const partitionOf = (input: unknown, settings: Settings): Effect.Effect<CacheKey.Partition, KeyError, any> => {
    if (!sync) {
      return Effect.map(
        keys.slices(constructor, input, constructor.partitionSize),
        (slices) => keys.assemblePartition(constructor, settings, slices)
      )
    }
    try {
      return Effect.succeed(
        keys.assemblePartition(constructor, settings, keys.slicesSync(constructor, input, constructor.partitionSize))
      )
    } catch (error) {
      return Effect.fail(error as KeyError)
    }
  }

  const answer = (input: I): Effect.Effect<Answer<A>, E, any> =>
    Effect.flatMap(CacheSettings, (settings) =>
      settings.enabled
        ? withKey(input, (store, settings, key) => lookup(store, settings, key, input), () => computeOnly(input, "Miss"))
        : computeOnly(input, "Bypass"))

  const withStatus = (input: I): Effect.Effect<Cached.CacheResult<A>, E, any> =>
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

  const call = (input: I) => Effect.map(answer(input), (answer) => answer.value)
  // a function's own `name` is read-only to assignment, but configurable
  Object.defineProperty(call, "name", { value: name })
  const self: Cached.Cached<I, A, E, R, any, any> = Object.assign(call, {
    [TypeId]: TypeId as Cached.TypeId,
    key: constructor,
    rules: options.invalidatesOn ?? [],
    withStatus,
    bypass: compute,
    refresh,
    delete: (input: I) =>
      Effect.contextWithEffect((context: Context.Context<never>) =>
        resolveKey<void, KeyError | CacheStoreError>(input, Context.get(context, CacheSettings), (key) => {
          flights.detach((flight) => flight.key === key.key)
          return Context.unsafeGet(context, CacheStore).delete(key)
        }, Effect.fail)
      ),
    deletePartition: (input: unknown) =>
      Effect.contextWithEffect((context: Context.Context<never>) =>
        Effect.flatMap(partitionOf(input, Context.get(context, CacheSettings)), (scope) => {
          flights.detach((flight) => flight.partition === scope.partition)
          return Context.unsafeGet(context, CacheStore).deletePartition(scope)
        })
      ),
    invalidateAll: registry.invalidateAll(constructor),
    peek: (input: I) =>
      withKey(
        input,
        (store, settings, key) =>
          Effect.flatMap(failOpen(settings, store.get(key), undefined), (found) =>
            Effect.map(live(settings, key, found), (hit) => hit === undefined ? Option.none<A>() : Option.some(hit.value))),
        () => Effect.succeed(Option.none<A>())
      ),
    keyFor: (input: I) => Effect.map(keyFor(input), (key) => key.key)
  })
  return self
}
