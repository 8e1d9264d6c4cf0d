import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { hasProperty } from "effect/Predicate"
import type * as Cached from "../Cached.js"
import { type CacheStoreError, type CacheTimeoutError, KeyError } from "../CacheError.js"
import type * as CacheKey from "../CacheKey.js"
import { CacheSettings, type Settings } from "../CacheSettings.js"
import { CacheStore, type InvalidateOptions, type Service as Store } from "../CacheStore.js"
import type * as KeyConstructor from "../KeyConstructor.js"
import { computeSpan, define, type Definition, failOpen, report } from "./cached/definition.js"
import { type Hit, live } from "./cached/entry.js"
import { type Answer, fill } from "./cached/fill.js"
import { keyNow, keyOf, partitionOf } from "./cached/key.js"
import { many } from "./cached/many.js"
import { computeOnly, decodeFailure, hitNow, lookup } from "./cached/read.js"
import * as registry from "./constructorRegistry.js"
import * as registration from "./registration.js"
import * as tracing from "./tracing.js"

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

/**
 * What a keyed operation of a cached value does once it has the store, the settings and
 * the key of an input. Made once per cached value, so that a call makes no closure.
 */
interface Keyed<I, X, E, R> {
  readonly run: (store: Store, settings: Settings, key: CacheKey.CacheKey, input: I) => Effect.Effect<X, E, R>
  /** When the key of the input cannot be built (the error is reported first). */
  readonly keyless: (settings: Settings, input: I) => Effect.Effect<X, E, R>
  /** When caching is off in the settings; without it, the operation runs as when on. */
  readonly disabled?: ((input: I) => Effect.Effect<X, E, R>) | undefined
  /** An answer in the step that built the key, when there is one (`undefined`: `run`). */
  readonly now?: ((store: Store, settings: Settings, key: CacheKey.CacheKey, clock: Clock.Clock) => X | undefined) | undefined
}

/** The result of a call with status, from its answer. */
const withStatusOf = <A>({ entry, status, value }: Answer<A>): Cached.CacheResult<A> => ({
  value,
  status,
  cachedAt: entry === undefined ? none : Option.some(new Date(entry.cachedAt)),
  expiresAt: entry === undefined ? none : dateOf(entry.expiresAt)
})

const valueOf = <A>(answer: Answer<A>): A => answer.value

const valueOfHit = <A>(hit: Hit<A>): A => hit.value

const dateOf = (millis: number | null): Option.Option<Date> => millis === null ? none : Option.some(new Date(millis))

/** A live entry as `peekEntry` gives it. */
const peekedOf = <A>({ entry, fresh, value }: Hit<A>): Cached.PeekedEntry<A> => ({
  value,
  state: fresh ? "Fresh" : "Stale",
  cachedAt: new Date(entry.cachedAt),
  expiresAt: dateOf(entry.expiresAt),
  staleUntil: dateOf(entry.staleUntil)
})

const make = <I, A, E, R, KR>(
  options: Cached.Options<KeyConstructor.KeyConstructor.Any, A>,
  compute: (input: I) => Effect.Effect<A, E, R>
): Cached.Cached<I, A, E | CacheTimeoutError, R, any, KR> => {
  const def: Definition<I, A, E, R> = define(options, compute)
  const { constructor, name, identity } = def
  registry.register(constructor, identity, (namespace) => def.flights.detach((flight) => flight.namespace === namespace))
  // the store this cached value last checked it may use (see `registry.claim`), and its token there
  let claimed: Store | undefined
  const owner = {}
  // a value with rules warns where it runs beside an engine that does not serve it
  const check = (options.invalidatesOn ?? []).length === 0 ? undefined : registration.checker(name, () => self)

  /**
   * Runs an operation with the settings, the store and the key of an input, in the
   * step that reads them from the fiber.
   */
  const withKey = <X, E2, R2>(op: Keyed<I, X, E2, R2>, input: I): Effect.Effect<X, E2, R2 | KR> =>
    Effect.withFiberRuntime((fiber) => {
      const context = fiber.currentContext
      const settings = Context.get(context, CacheSettings)
      if (op.disabled !== undefined && !settings.enabled) {
        return op.disabled(input)
      }
      const store = Context.unsafeGet(context, CacheStore)
      if (store !== claimed) {
        const conflict = registry.claim(store, constructor, name, owner)
        if (conflict !== undefined) {
          return Effect.die(conflict)
        }
        claimed = store
      }
      const unregistered = check?.(context)
      const key = keyNow(def, input, settings)
      let resolved: Effect.Effect<X, E2, R2 | KR>
      if (key === undefined) {
        resolved = Effect.matchEffect(keyOf<KR>(def, input, settings), {
          onFailure: (error) => Effect.zipRight(report(def, settings, error), op.keyless(settings, input)),
          onSuccess: (key) => op.run(store, settings, key, input)
        })
      } else if (key instanceof KeyError) {
        resolved = Effect.zipRight(report(def, settings, key), op.keyless(settings, input))
      } else {
        // with a tracer that exports, every read goes through `get`, in its span
        const answered = unregistered === undefined && op.now !== undefined && !tracing.isExporting(fiber)
          ? op.now(store, settings, key, Context.get(fiber.currentDefaultServices, Clock.Clock))
          : undefined
        if (answered !== undefined) {
          return Effect.succeed(answered)
        }
        resolved = op.run(store, settings, key, input)
      }
      return unregistered === undefined ? resolved : Effect.zipRight(unregistered, resolved)
    })

  /** A call's answer, shaped by `shape`: a hit read at once when the store allows it, the read through `get` otherwise. */
  const answering = <X>(shape: (answer: Answer<A>) => X): Keyed<I, X, E | CacheTimeoutError, R> => ({
    run: (store, settings, key, input) => Effect.map(lookup(def, store, settings, key, input), shape),
    keyless: (_, input) => Effect.map(computeOnly(def, input, "Miss"), shape),
    disabled: (input) => Effect.map(computeOnly(def, input, "Bypass"), shape),
    now: (store, settings, key, clock) => {
      const hit = hitNow(def, store, settings, key, clock)
      return hit === undefined ? undefined : shape(hit)
    }
  })
  const answerValue = answering(valueOf)
  const answerWithStatus = answering(withStatusOf)

  const refreshing: Keyed<I, A, E, R> = {
    run: (store, settings, key, input) =>
      Effect.flatMap(failOpen(def, settings, store.get(key), undefined), (found) =>
        Effect.tap(computeSpan(def, input), (value) =>
          found === undefined ? Effect.void : fill(def, store, settings, key, value, found.guard))),
    keyless: (_, input) => computeSpan(def, input)
  }

  /** The key of an input: `undefined` (reported) when it cannot be built. */
  const keying: Keyed<I, CacheKey.CacheKey | undefined, never, never> = {
    run: (_store, _settings, key) => Effect.succeed(key),
    keyless: () => Effect.succeed(undefined)
  }

  /** The live entry of an input, shaped by `shape`, read without computing (one that does not decode is reported). */
  const peeking = <X>(shape: (hit: Hit<A>) => X): Keyed<I, Option.Option<X>, never, never> => ({
    run: (store, settings, key) =>
      Effect.flatMap(failOpen(def, settings, store.get(key), undefined), (found) =>
        Effect.clockWith((clock) => {
          const hit = live(def, found, clock.unsafeCurrentTimeMillis())
          if (hit === undefined) {
            return Effect.succeed(Option.none<X>())
          }
          return "_tag" in hit
            ? Effect.as(decodeFailure(def, settings, key, hit.reason), Option.none<X>())
            : Effect.succeed(Option.some(shape(hit)))
        })),
    keyless: () => Effect.succeed(Option.none<X>())
  })
  const peekValue = peeking(valueOfHit)
  const peekEntry = peeking(peekedOf)

  const keysOf = (inputs: ReadonlyArray<I>) => Effect.forEach(inputs, (input) => withKey(keying, input))

  const manyOf = (inputs: Iterable<I>, options?: Cached.ManyOptions): Effect.Effect<Array<A>, E | CacheTimeoutError, R | KR | CacheStore> =>
    Effect.flatMap(CacheSettings, (settings) => {
      const all = Array.from(inputs)
      const concurrency = options?.concurrency ?? "unbounded"
      if (all.length === 0) {
        return Effect.succeed([])
      }
      if (!settings.enabled) {
        return Effect.forEach(all, (input) => computeSpan(def, input), { concurrency })
      }
      return Effect.flatMap(
        Effect.zip(keysOf(all), CacheStore),
        ([keys, store]) => many(def, store, settings, all, keys, concurrency)
      )
    })

  const call = (input: I) => withKey(answerValue, input)
  // a function's own `name` is read-only to assignment, but configurable
  Object.defineProperty(call, "name", { value: name })
  const self: Cached.Cached<I, A, E | CacheTimeoutError, R, any, KR> = Object.assign(call, {
    [TypeId]: TypeId as Cached.TypeId,
    key: constructor,
    rules: options.invalidatesOn ?? [],
    withStatus: (input: I) => withKey(answerWithStatus, input),
    bypass: compute,
    refresh: (input: I) => withKey(refreshing, input),
    delete: (input: I, options?: InvalidateOptions): Effect.Effect<void, KeyError | CacheStoreError, KR | CacheStore> =>
      Effect.flatMap(CacheSettings, (settings) =>
        Effect.flatMap(keyOf<KR>(def, input, settings), (key) => {
          def.flights.detach((flight) => flight.key === key.key)
          return Effect.flatMap(CacheStore, (store) => store.delete(key, options))
        })),
    deletePartition: (input: unknown, options?: InvalidateOptions): Effect.Effect<void, KeyError | CacheStoreError, KR | CacheStore> =>
      Effect.flatMap(CacheSettings, (settings) =>
        Effect.flatMap(partitionOf<KR>(def, input, settings), (scope) => {
          def.flights.detach((flight) => flight.partition === scope.partition)
          return Effect.flatMap(CacheStore, (store) => store.deletePartition(scope, options))
        })),
    invalidateAll: registry.invalidateOwn(constructor, identity),
    peek: (input: I) => withKey(peekValue, input),
    peekEntry: (input: I) => withKey(peekEntry, input),
    keyFor: (input: I) => Effect.flatMap(CacheSettings, (settings) => Effect.map(keyOf<KR>(def, input, settings), (key) => key.key)),
    many: manyOf
  })
  return self
}
