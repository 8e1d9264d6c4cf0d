import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Metric from "effect/Metric"
import * as MetricLabel from "effect/MetricLabel"
import type * as Cached from "../../Cached.js"
import { CacheDefinitionError, type CacheStoreError, type CacheValueError, type KeyError } from "../../CacheError.js"
import type * as CacheKey from "../../CacheKey.js"
import * as CacheMetrics from "../../CacheMetrics.js"
import type { Settings } from "../../CacheSettings.js"
import type { Service as Store } from "../../CacheStore.js"
import type * as KeyConstructor from "../../KeyConstructor.js"
import * as Ttl from "../../Ttl.js"
import * as codecs from "../codec.js"
import * as registry from "../constructorRegistry.js"
import { checkedDuration } from "../duration.js"
import { fingerprintSlice } from "../fingerprint.js"
import * as keys from "../keyConstructor.js"
import { SingleFlight } from "../singleFlight.js"
import * as tracing from "../tracing.js"
import { CallTimings } from "./observe.js"

/** The timeouts of a cached value, checked when it is defined. */
export interface Timeouts {
  readonly soft: Duration.Duration | undefined
  readonly hard: Duration.Duration | undefined
}

/**
 * Everything a cached value fixes when it is defined, read by every step of its calls:
 * the key it builds, how its values are encoded, copied and kept, its computations under
 * way, its metrics' labels. `R` is what its computation needs.
 *
 * @internal
 */
export interface Definition<I, A, E, R> {
  readonly name: string
  readonly constructor: KeyConstructor.KeyConstructor.Any
  /** Its identity in its constructor's namespace (see `registry.identityOf`). */
  readonly identity: string | undefined
  /** The slice between the partition and the suffix when `fingerprint` is on in the settings. */
  readonly fingerprint: string | undefined
  /** Whether every key field is synchronous: its keys are then built in one step. */
  readonly sync: boolean
  readonly codec: codecs.Codec<A>
  /** A copy of a value for each caller that joins a computation: callers never share a mutable value. */
  readonly copy: (value: A) => A
  /** The computations under way, joined by readers. */
  readonly flights: SingleFlight<A, E>
  /** The refreshes ahead under way: apart from `flights`, since a key refreshed ahead is still fresh. */
  readonly ahead: SingleFlight<A, E>
  readonly ttl: Cached.Options<KeyConstructor.KeyConstructor.Any, A>["ttl"]
  /** The policy when it does not depend on the value (nor on the settings' default). */
  readonly staticTtl: Ttl.Ttl | undefined
  readonly timeouts: Timeouts
  readonly leaseDuration: Duration.Duration | undefined
  /** Whether a computed value is stored (`cacheIf`, `cacheUnless`): `undefined` stores every value. */
  readonly admit: ((value: A) => boolean) | undefined
  readonly labels: ReadonlyArray<MetricLabel.MetricLabel>
  /** Its call timings (`CacheMetrics.callDuration`). */
  readonly timings: CallTimings
  readonly compute: (input: I) => Effect.Effect<A, E, R>
}

/**
 * One call of a cached value once the key of its input is built: what the read, the
 * computation, the fill and the lease of that call read. Built in the step that builds
 * the key, for a call that goes past the hit read at once from the store (`hitNow`).
 *
 * @internal
 */
export interface Call<I, A, E, R> {
  readonly def: Definition<I, A, E, R>
  readonly store: Store
  readonly settings: Settings
  readonly key: CacheKey.CacheKey
  readonly input: I
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

/**
 * The predicate a computed value must pass to be stored: `cacheIf`, or the negation of
 * `cacheUnless`. They exclude each other, as in Restflow, since together one of them
 * would say what the other already does, or contradict it.
 */
const decodeAdmit = <A>(name: string, options: Cached.Options<KeyConstructor.KeyConstructor.Any, A>) => {
  const { cacheIf, cacheUnless } = options
  const subject = `cached "${name}"`
  if (cacheIf !== undefined && cacheUnless !== undefined) {
    throw new CacheDefinitionError({ subject, reason: "cacheIf and cacheUnless exclude each other; give one of them" })
  }
  for (const [option, predicate] of [["cacheIf", cacheIf], ["cacheUnless", cacheUnless]] as const) {
    if (predicate !== undefined && typeof predicate !== "function") {
      throw new CacheDefinitionError({
        subject: `${subject} ${option}`,
        reason: `must be a function of the computed value giving a boolean, not ${typeof predicate}`
      })
    }
  }
  return cacheIf ?? (cacheUnless === undefined ? undefined : (value: A) => !cacheUnless(value))
}

/**
 * Checks the options of a cached value and fixes what its calls read.
 *
 * @internal
 */
export const define = <I, A, E, R>(
  options: Cached.Options<KeyConstructor.KeyConstructor.Any, A>,
  compute: (input: I) => Effect.Effect<A, E, R>
): Definition<I, A, E, R> => {
  const constructor = options.key
  const name = options.name ?? constructor.namespace
  const codec: codecs.Codec<A> = options.value === undefined ? codecs.json : codecs.fromSchema(options.value)
  const copy = codecs.copier(codec)
  const copies = codecs.copies(codec)
  const cache = MetricLabel.make("cache", name)
  return {
    name,
    constructor,
    identity: registry.identityOf(constructor, name),
    fingerprint: options.value === undefined || options.fingerprint === false ? undefined : fingerprintSlice(options.value),
    sync: keys.isSync(constructor),
    codec,
    copy,
    flights: new SingleFlight<A, E>(copies),
    ahead: new SingleFlight<A, E>(copies),
    ttl: options.ttl,
    staticTtl: options.ttl === undefined || typeof options.ttl === "function" ? undefined : Ttl.decode(options.ttl),
    timeouts: decodeTimeouts(name, options.timeout),
    leaseDuration: options.leaseDuration === undefined ? undefined : Duration.decode(options.leaseDuration),
    admit: decodeAdmit(name, options),
    labels: [cache],
    timings: new CallTimings(cache),
    compute
  }
}

/** Counts one event of a cached value (its labels are one array for its life: the metric hook is cached by it). */
export const count = (def: Definition<any, any, any, any>, metric: Metric.Metric.Counter<number>): void =>
  metric.unsafeUpdate(1, def.labels)

/**
 * Reports a cache-side error: counted and logged when failing open, a defect otherwise.
 *
 * @internal
 */
export const report = (
  def: Definition<any, any, any, any>,
  settings: Settings,
  error: KeyError | CacheStoreError | CacheValueError
): Effect.Effect<void> =>
  settings.failOpen
    ? Effect.suspend(() => {
      count(def, CacheMetrics.errors)
      return Effect.logDebug("cachefx: cache error, failing open").pipe(
        Effect.annotateLogs({ cache: def.name, error: error.message })
      )
    })
    : Effect.die(error)

/**
 * A store operation that fails open: its error reported, `fallback` in its place.
 *
 * @internal
 */
export const failOpen = <X, Y>(
  def: Definition<any, any, any, any>,
  settings: Settings,
  effect: Effect.Effect<X, CacheStoreError>,
  fallback: Y
): Effect.Effect<X | Y> => Effect.catchAll(effect, (error) => Effect.as(report(def, settings, error), fallback))

/**
 * The TTL policy of a value.
 *
 * @internal
 */
export const ttlOf = <A>(def: Definition<any, A, any, any>, value: A, settings: Settings): Ttl.Ttl =>
  def.staticTtl ??
    (def.ttl === undefined ? settings.defaultTtl : Ttl.decode((def.ttl as (a: A) => Ttl.TtlInput)(value)))

/**
 * Whether a hit may be due for a refresh ahead: false when the policy is known without
 * the value and refreshes nothing ahead, so that such a hit reads no clock for it.
 *
 * @internal
 */
export const mayRefreshAhead = (def: Definition<any, any, any, any>, settings: Settings): boolean => {
  const policy = def.staticTtl ?? (def.ttl === undefined ? settings.defaultTtl : undefined)
  return policy === undefined || (policy._tag === "Expiring" && policy.refreshAhead > 0)
}

/**
 * The computation of an input, in a `cachefx.compute` span when a tracer exports.
 *
 * @internal
 */
export const computeSpan = <I, A, E, R>(def: Definition<I, A, E, R>, input: I): Effect.Effect<A, E, R> =>
  tracing.withSpan("cachefx.compute", { attributes: { "cachefx.cache": def.name } })(def.compute(input))
