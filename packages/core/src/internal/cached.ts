import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Metric from "effect/Metric"
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
import { CacheStore, type Service as Store } from "../CacheStore.js"
import type * as KeyConstructor from "../KeyConstructor.js"
import * as Ttl from "../Ttl.js"
import * as codecs from "./codec.js"
import * as keys from "./keyConstructor.js"
import { encodeSlice } from "./keyEncoding.js"
import { SingleFlight } from "./singleFlight.js"

/** @internal */
export const TypeId: typeof Cached.TypeId = Symbol.for("@cachefx/core/Cached") as typeof Cached.TypeId

/** @internal */
export const isCached = (u: unknown): u is Cached.Cached.Any => hasProperty(u, TypeId)

const none = Option.none()

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
  const sync = keys.isSync(constructor)
  const size = constructor.fields.length
  const codec: codecs.Codec<A> = options.value === undefined ? codecs.json : codecs.fromSchema(options.value)
  const ttlOption = options.ttl
  const staticTtl = ttlOption === undefined || typeof ttlOption === "function" ? undefined : Ttl.decode(ttlOption)
  const flights = new SingleFlight<A, E>()
  const tagged = (metric: Metric.Metric.Counter<number>) => Metric.tagged(metric, "cache", name)
  const metrics = {
    hits: tagged(CacheMetrics.hits),
    misses: tagged(CacheMetrics.misses),
    stale: tagged(CacheMetrics.staleHits),
    errors: tagged(CacheMetrics.errors),
    skipped: tagged(CacheMetrics.fillsSkipped)
  }

  const keyOf = (input: unknown, prefix: string): Effect.Effect<CacheKey.CacheKey, KeyError, any> => {
    if (sync) {
      try {
        return Effect.succeed(keys.assemble(constructor, prefix, keys.slicesSync(constructor, input, size), nameSlice))
      } catch (error) {
        return Effect.fail(error as KeyError)
      }
    }
    return Effect.map(keys.slices(constructor, input, size), (slices) =>
      keys.assemble(constructor, prefix, slices, nameSlice))
  }

  /** Reports a cache-side error: counted and logged when failing open, a defect otherwise. */
  const report = (settings: Settings, error: KeyError | CacheStoreError | CacheValueError) =>
    settings.failOpen
      ? Effect.zipRight(
        Metric.increment(metrics.errors),
        Effect.logDebug("cachefx: cache error, failing open").pipe(
          Effect.annotateLogs({ cache: name, error: error.message })
        )
      )
      : Effect.die(error)

  const failOpen = <X>(settings: Settings, effect: Effect.Effect<X, CacheStoreError>, fallback: X) =>
    Effect.catchAll(effect, (error) => Effect.as(report(settings, error), fallback))

  const ttlOf = (value: A, settings: Settings): Ttl.Ttl =>
    staticTtl ?? (ttlOption === undefined ? settings.defaultTtl : Ttl.decode((ttlOption as (a: A) => Ttl.TtlInput)(value)))

  const computeSpan = (input: I) =>
    Effect.withSpan(compute(input), "cachefx.compute", { attributes: { "cachefx.cache": name } })

  /** Encodes and stores a computed value under a guard; returns the entry when stored. */
  const fill = (
    store: Store,
    settings: Settings,
    key: CacheKey.CacheKey,
    value: A,
    guard: unknown
  ): Effect.Effect<Option.Option<CacheEntry.CacheEntry>> =>
    Effect.flatMap(Effect.zip(Clock.currentTimeMillis, Random.next), ([now, random]) => {
      const deadlines = Ttl.deadlines(ttlOf(value, settings), now, random)
      if (deadlines === undefined) {
        return Effect.succeed(none)
      }
      const encoded = codec.encode(value)
      if (Either.isLeft(encoded)) {
        return Effect.as(
          Effect.zipRight(
            Metric.increment(metrics.errors),
            Effect.logWarning(new CacheValueError({ key: key.key, direction: "encode", reason: encoded.left }).message)
          ),
          none
        )
      }
      const entry: CacheEntry.CacheEntry = { value: encoded.right, cachedAt: now, ...deadlines }
      return failOpen(settings, store.set(key, entry, guard as never), false).pipe(
        Effect.flatMap((stored) =>
          stored ? Effect.succeed(Option.some(entry)) : Effect.as(Metric.increment(metrics.skipped), none)
        )
      )
    })

  const result = (
    value: A,
    status: Cached.CacheStatus,
    entry: Option.Option<CacheEntry.CacheEntry>
  ): Cached.CacheResult<A> => ({
    value,
    status,
    cachedAt: Option.map(entry, (entry) => new Date(entry.cachedAt)),
    expiresAt: Option.flatMap(entry, (entry) => entry.expiresAt === null ? none : Option.some(new Date(entry.expiresAt)))
  })

  /** Computes a missing value once per key, and stores it under the leader's guard. */
  const miss = (store: Store, settings: Settings, key: CacheKey.CacheKey, input: I, guard: unknown) => {
    let stored: Option.Option<CacheEntry.CacheEntry> = none
    return Effect.zipRight(
      Metric.increment(metrics.misses),
      flights.run(
        key,
        computeSpan(input),
        (value) => Effect.map(fill(store, settings, key, value, guard), (entry) => { stored = entry })
      )
    ).pipe(Effect.map((value) => result(value, "Miss", stored)))
  }

  const revalidate = (store: Store, settings: Settings, key: CacheKey.CacheKey, input: I, guard: unknown) =>
    flights.has(key.key) ? Effect.void : flights.run(key, computeSpan(input), (value) =>
      Effect.asVoid(fill(store, settings, key, value, guard))).pipe(
        Effect.catchAllCause((cause) =>
          Effect.logWarning("cachefx: background refresh failed", cause).pipe(Effect.annotateLogs({ cache: name }))
        ),
        Effect.forkDaemon,
        Effect.asVoid
      )

  const decodeStored = (settings: Settings, key: CacheKey.CacheKey, entry: CacheEntry.CacheEntry) => {
    const decoded = codec.decode(entry.value)
    return Either.isRight(decoded)
      ? Effect.succeed(Option.some(decoded.right))
      : Effect.as(
        report(settings, new CacheValueError({ key: key.key, direction: "decode", reason: decoded.left })),
        Option.none<A>()
      )
  }

  const lookup = (store: Store, settings: Settings, key: CacheKey.CacheKey, input: I) =>
    Effect.flatMap(failOpen(settings, Effect.map(store.get(key), Option.some), none), (answer) => {
      if (Option.isNone(answer)) {
        return Effect.map(computeSpan(input), (value) => result(value, "Miss", none))
      }
      const { entry, guard } = answer.value
      if (Option.isNone(entry)) {
        return miss(store, settings, key, input, guard)
      }
      return Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const state = CacheEntry.stateAt(entry.value, now)
        if (state === "Expired") {
          return miss(store, settings, key, input, guard)
        }
        return Effect.flatMap(decodeStored(settings, key, entry.value), (decoded) => {
          if (Option.isNone(decoded)) {
            return miss(store, settings, key, input, guard)
          }
          const answer = result(decoded.value, state === "Fresh" ? "Hit" : "Stale", entry)
          return state === "Fresh"
            ? Effect.as(Metric.increment(metrics.hits), answer)
            : Effect.as(
              Effect.zipRight(Metric.increment(metrics.stale), revalidate(store, settings, key, input, guard)),
              answer
            )
        })
      })
    })

  const withStatus = (input: I): Effect.Effect<Cached.CacheResult<A>, E, any> =>
    Effect.flatMap(CacheSettings, (settings) => {
      if (!settings.enabled) {
        return Effect.map(compute(input), (value) => result(value, "Bypass", none))
      }
      return Effect.matchEffect(keyOf(input, settings.keyPrefix), {
        onFailure: (error) => Effect.zipRight(report(settings, error), Effect.map(computeSpan(input), (value) => result(value, "Miss", none))),
        onSuccess: (key) => Effect.flatMap(CacheStore, (store) => lookup(store, settings, key, input))
      })
    })

  const refresh = (input: I): Effect.Effect<A, E, any> =>
    Effect.flatMap(CacheSettings, (settings) =>
      Effect.matchEffect(keyOf(input, settings.keyPrefix), {
        onFailure: (error) => Effect.zipRight(report(settings, error), computeSpan(input)),
        onSuccess: (key) =>
          Effect.flatMap(CacheStore, (store) =>
            Effect.flatMap(failOpen(settings, Effect.map(store.get(key), Option.some), none), (answer) =>
              Effect.tap(computeSpan(input), (value) =>
                Option.isNone(answer) ? Effect.void : fill(store, settings, key, value, answer.value.guard))))
      }))

  const keyFor = (input: I) => Effect.flatMap(CacheSettings, (settings) => keyOf(input, settings.keyPrefix))

  const call = (input: I) => Effect.map(withStatus(input), (answer) => answer.value)
  // a function's own `name` is read-only to assignment, but configurable
  Object.defineProperty(call, "name", { value: name })
  const self = Object.assign(call, {
    [TypeId]: TypeId,
    key: constructor,
    withStatus,
    bypass: compute,
    refresh,
    delete: (input: I) =>
      Effect.flatMap(keyFor(input), (key) =>
        Effect.flatMap(CacheStore, (store) => {
          flights.detach((flight) => flight.key === key.key)
          return store.delete(key)
        })),
    deletePartition: (input: unknown) =>
      Effect.flatMap(CacheSettings, (settings) =>
        Effect.flatMap(keys.slices(constructor, input, constructor.partitionSize), (slices) => {
          const scope = keys.assemblePartition(constructor, settings.keyPrefix, slices)
          return Effect.flatMap(CacheStore, (store) => {
            flights.detach((flight) => flight.partition === scope.partition)
            return store.deletePartition(scope)
          })
        })),
    invalidateAll: Effect.flatMap(CacheSettings, (settings) =>
      Effect.flatMap(CacheStore, (store) => {
        const namespace = settings.keyPrefix + ":" + constructor.namespace
        flights.detach((flight) => flight.namespace === namespace)
        return store.clear(namespace)
      })),
    peek: (input: I) =>
      Effect.flatMap(CacheSettings, (settings) =>
        Effect.matchEffect(keyFor(input), {
          onFailure: (error) => Effect.as(report(settings, error), Option.none<A>()),
          onSuccess: (key) =>
            Effect.flatMap(CacheStore, (store) =>
              Effect.flatMap(failOpen(settings, Effect.map(store.get(key), Option.some), none), (answer) => {
                const entry = Option.flatMap(answer, (lookup) => lookup.entry)
                return Option.isNone(entry) ? Effect.succeed(Option.none<A>()) : Effect.flatMap(
                  Clock.currentTimeMillis,
                  (now) =>
                    CacheEntry.stateAt(entry.value, now) === "Expired"
                      ? Effect.succeed(Option.none<A>())
                      : decodeStored(settings, key, entry.value)
                )
              }))
        })),
    keyFor: (input: I) => Effect.map(keyFor(input), (key) => key.key)
  })
  return self as any
}
