import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import { identity } from "effect/Function"
import * as Option from "effect/Option"
import { hasProperty } from "effect/Predicate"
import type * as Cached from "../Cached.js"
import { type CacheTimeoutError, KeyError } from "../CacheError.js"
import * as CacheKey from "../CacheKey.js"
import { CacheSettings, type Settings } from "../CacheSettings.js"
import { CacheStore, type InvalidateOptions, type Service as Store } from "../CacheStore.js"
import type * as KeyConstructor from "../KeyConstructor.js"
import { type Call, computeSpan, define, type Definition, failOpen, report } from "./cached/definition.js"
import { type Hit, live } from "./cached/entry.js"
import { type Answer, fill } from "./cached/fill.js"
import * as invalidating from "./cached/invalidate.js"
import { keyNow, keyOf } from "./cached/key.js"
import { many } from "./cached/many.js"
import * as observing from "./cached/observe.js"
import type { Reply } from "./cached/observe.js"
import { computeOnly, decodeFailure, hitNow, lookup } from "./cached/read.js"
import * as registry from "./constructorRegistry.js"
import * as registration from "./registration.js"
import * as tracing from "./tracing.js"

/** @internal */
export const TypeId: typeof Cached.TypeId = Symbol.for("@cachefx/core/Cached") as typeof Cached.TypeId

/** @internal */
export const isCached = (u: unknown): u is Cached.Cached.Any => hasProperty(u, TypeId)

const none = Option.none()

/** Where a cached value holds its definition: what the engine builds its targets' keys from. */
const DefinitionId = Symbol.for("@cachefx/core/Cached/definition")

/**
 * The definition of a cached value that `cached()` made.
 *
 * @internal
 */
export const definitionOf = (self: Cached.Cached.Any): Definition<any, any, any, any> =>
  (self as unknown as { readonly [DefinitionId]: Definition<any, any, any, any> })[DefinitionId]

/** @internal */
export const cached = (options: Cached.Options<KeyConstructor.KeyConstructor.Any, any>): any => (fa: any) => {
  if (Effect.isEffect(fa)) {
    return make(options, () => fa)({})
  }
  return make(options, fa)
}

/**
 * What a keyed operation of a cached value does with a call once the key of its input
 * is built (`run`), or when it cannot be (`keyless`). Made once per cached value, so
 * that a call makes no closure. An operation that is a call of the cached value has a
 * `reply`: its outcome `Y` is then timed, named in its span and shaped into `X`; any
 * other gives `X` itself (`Y` is `X`). `C` is the cached value's `Call`.
 */
interface Keyed<C extends Call<any, any, any, any>, Y, E, R, X = Y> {
  readonly run: (call: C) => Effect.Effect<Y, E, R>
  /** When the key of the input cannot be built (the error is reported first). */
  readonly keyless: (settings: Settings, input: C["input"]) => Effect.Effect<Y, E, R>
  /** When caching is off in the settings; without it, the operation runs as when on. */
  readonly disabled?: ((input: C["input"]) => Effect.Effect<Y, E, R>) | undefined
  /** For a call: a fresh hit answered in the step that built the key, when there is one (`undefined`: `run`). */
  readonly now?: ((store: Store, settings: Settings, key: CacheKey.CacheKey, clock: Clock.Clock) => Y | undefined) | undefined
  readonly reply?: Reply<Y, X> | undefined
}

/** The result of a call with status, from its answer. */
const withStatusOf = <A>({ entry, status, value }: Answer<A>): Cached.CacheResult<A> => ({
  value,
  status,
  cachedAt: entry === undefined ? none : Option.some(new Date(entry.cachedAt)),
  expiresAt: entry === undefined ? none : dateOf(entry.expiresAt)
})

const valueOf = <A>(answer: Answer<A>): A => answer.value

const statusOf = (answer: Answer<unknown>): Cached.CacheStatus => answer.status

/** `refresh`, as a call: its value as it is, under `Refresh`. */
const refreshReply: Reply<any, any> = { status: () => "Refresh", shape: identity, failed: "Refresh" }

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
  const { constructor, name } = def
  registry.register(constructor, def.identity)
  // the store this cached value last checked it may use (see `registry.claim`), and its token there
  let claimed: Store | undefined
  const owner = {}
  // a value with rules warns where it runs beside an engine that does not serve it
  const check = (options.invalidatesOn ?? []).length === 0 ? undefined : registration.checker(name, () => self)

  /**
   * Runs an operation on the call of an input, in the step that reads the settings and
   * the store from the fiber and builds the key. A call is timed from that step, and
   * runs in a span when a tracer exports. A fresh hit read at once (`now`) is answered
   * in that step, before the `Call` record exists: only a call that goes on to `run`
   * builds one.
   */
  const withKey = <Y, E2, R2, X>(op: Keyed<Call<I, A, E, R>, Y, E2, R2, X>, input: I): Effect.Effect<X, E2, R2 | KR> =>
    Effect.withFiberRuntime((fiber) => {
      const context = fiber.currentContext
      const settings = Context.get(context, CacheSettings)
      const clock = Context.get(fiber.currentDefaultServices, Clock.Clock)
      const reply = op.reply
      const start = reply === undefined ? 0 : observing.now(clock)
      const disabled = settings.enabled ? undefined : op.disabled
      let resolved: Effect.Effect<Y, E2, R2 | KR>
      if (disabled !== undefined) {
        resolved = disabled(input)
      } else {
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
        if (key === undefined) {
          resolved = Effect.matchEffect(keyOf<KR>(def, input, settings), {
            onFailure: (error) => Effect.zipRight(report(def, settings, error), op.keyless(settings, input)),
            onSuccess: (key) => op.run({ def, store, settings, key, input })
          })
        } else if (key instanceof KeyError) {
          resolved = Effect.zipRight(report(def, settings, key), op.keyless(settings, input))
        } else {
          // with a tracer that exports, every read goes through `get`, in its span
          if (reply !== undefined && op.now !== undefined && unregistered === undefined && !tracing.isExporting(fiber)) {
            const answered = op.now(store, settings, key, clock)
            if (answered !== undefined) {
              observing.record(def, "Hit", start, clock)
              return Effect.succeed(reply.shape(answered))
            }
          }
          resolved = op.run({ def, store, settings, key, input })
        }
        if (unregistered !== undefined) {
          resolved = Effect.zipRight(unregistered, resolved)
        }
      }
      return reply === undefined
        // an operation that is not a call gives its outcome as it is (`X` is `Y`)
        ? resolved as unknown as Effect.Effect<X, E2, R2 | KR>
        : observing.observe(def, resolved, reply, disabled === undefined ? reply.failed : "Bypass", start, clock, tracing.isExporting(fiber))
    })

  /** A call's answer, shaped by `shape`: a hit read at once when the store allows it, the read through `get` otherwise. */
  const answering = <X>(shape: (answer: Answer<A>) => X): Keyed<Call<I, A, E, R>, Answer<A>, E | CacheTimeoutError, R, X> => ({
    run: lookup,
    keyless: (_, input) => computeOnly(def, input, "Miss"),
    disabled: (input) => computeOnly(def, input, "Bypass"),
    now: (store, settings, key, clock) => hitNow(def, store, settings, key, clock),
    reply: { status: statusOf, shape, failed: "Miss" }
  })
  const answerValue = answering(valueOf)
  const answerWithStatus = answering(withStatusOf)

  const refreshing: Keyed<Call<I, A, E, R>, A, E, R> = {
    run: (call) =>
      Effect.flatMap(failOpen(def, call.settings, call.store.get(call.key), undefined), (found) =>
        Effect.tap(computeSpan(def, call.input), (value) => found === undefined ? Effect.void : fill(call, value, found.guard))),
    keyless: (_, input) => computeSpan(def, input),
    reply: refreshReply
  }

  /** The key of an input: `undefined` (reported) when it cannot be built. */
  const keying: Keyed<Call<I, A, E, R>, CacheKey.CacheKey | undefined, never, never> = {
    run: (call) => Effect.succeed(call.key),
    keyless: () => Effect.succeed(undefined)
  }

  /** The live entry of an input, shaped by `shape`, read without computing (one that does not decode is reported). */
  const peeking = <X>(shape: (hit: Hit<A>) => X): Keyed<Call<I, A, E, R>, Option.Option<X>, never, never> => ({
    run: (call) =>
      Effect.flatMap(failOpen(def, call.settings, call.store.get(call.key), undefined), (found) =>
        Effect.clockWith((clock) => {
          const hit = live(def, found, clock.unsafeCurrentTimeMillis())
          if (hit === undefined) {
            return Effect.succeed(Option.none<X>())
          }
          return "_tag" in hit
            ? Effect.as(decodeFailure(call, hit.reason), Option.none<X>())
            : Effect.succeed(Option.some(shape(hit)))
        })),
    keyless: () => Effect.succeed(Option.none<X>())
  })
  const peekValue = peeking(valueOfHit)
  const peekEntry = peeking(peekedOf)

  const keysOf = (inputs: ReadonlyArray<I>) => Effect.forEach(inputs, (input) => withKey(keying, input))

  const manySpan = tracing.withSpan("cachefx.many", { attributes: { "cachefx.cache": name } })
  const manyOf = (inputs: Iterable<I>, options?: Cached.ManyOptions): Effect.Effect<Array<A>, E | CacheTimeoutError, R | KR | CacheStore> =>
    manySpan(Effect.flatMap(CacheSettings, (settings) => {
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
    }))

  const call = (input: I) => withKey(answerValue, input)
  // a function's own `name` is read-only to assignment, but configurable
  Object.defineProperty(call, "name", { value: name })
  const self: Cached.Cached<I, A, E | CacheTimeoutError, R, any, KR> = Object.assign(call, {
    [TypeId]: TypeId as Cached.TypeId,
    [DefinitionId]: def,
    key: constructor,
    rules: options.invalidatesOn ?? [],
    withStatus: (input: I) => withKey(answerWithStatus, input),
    bypass: compute,
    refresh: (input: I) => withKey(refreshing, input),
    delete: (input: I, options?: InvalidateOptions) => invalidating.deleteKey<KR>(def, input, options),
    deletePartition: (input: unknown, options?: InvalidateOptions) => invalidating.deletePartition<KR>(def, input, options),
    invalidateAll: invalidating.wipe(def),
    peek: (input: I) => withKey(peekValue, input),
    peekEntry: (input: I) => withKey(peekEntry, input),
    keyFor: (input: I) => Effect.flatMap(CacheSettings, (settings) => Effect.map(keyOf<KR>(def, input, settings), (key) => key.key)),
    many: manyOf
  })
  return self
}
