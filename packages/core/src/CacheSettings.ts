/**
 * Settings shared by every cached value: key prefix, default TTL, whether caching is on,
 * store operation timeout, fail-open, the fill window and the lease duration. Defaults apply when no layer
 * is given; `layer` overrides them in code and `layerConfig` reads them from `Config`
 * (environment variables by default).
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { CacheDefinitionError } from "./CacheError.js"
import { threshold } from "./internal/circuitBreaker.js"
import { validateSegment } from "./internal/segment.js"
import * as Ttl from "./Ttl.js"

/**
 * @example
 * ```ts
 * import { CacheSettings } from "@cachefx/core"
 *
 * const settings: CacheSettings.Settings = { ...CacheSettings.defaults, keyPrefix: "shop" }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Settings {
  /** First segment of every key. Default `"cachefx"`. */
  readonly keyPrefix: string
  /** TTL of cached values that give none. Default 5 minutes. */
  readonly defaultTtl: Ttl.Ttl
  /** When false, every cached call computes and nothing is stored. Default true. */
  readonly enabled: boolean
  /** Longest a store operation may take before it counts as failed. Default 250 ms. */
  readonly operationTimeout: Duration.Duration
  /**
   * When true (the default), a store that fails or times out never fails a cached call:
   * the call computes, returns and counts the error. When false, it is a defect.
   */
  readonly failOpen: boolean
  /**
   * Longest time between a miss and the write of its computed value. A computation
   * that takes longer is returned but not stored, because an invalidation may have
   * happened that the store no longer remembers. Default 60 seconds.
   */
  readonly fillWindow: Duration.Duration
  /**
   * When true (the default), the keys of a cached value with a `value` Schema carry a
   * fingerprint of the Schema, so a deploy that changes the stored shape never reads an
   * entry of the old shape. A cached value's `fingerprint: false` turns it off for it.
   */
  readonly fingerprint: boolean
  /**
   * The longest key, in characters (memcached's limit is 250). A longer key has the
   * slices after its partition hashed, then, if still too long, its partition slices;
   * keys are never truncated, and partition wipes keep working. Default: no limit.
   */
  readonly maxKeyLength: number
  /**
   * How long a process holds the lease of a key it computes, on a store with leases
   * (Redis): other processes wait for its value meanwhile, at most this long, and a
   * holder that dies blocks nobody longer. Give more than the computations usually take:
   * one that outlasts its lease may run again elsewhere. A cached value's own
   * `leaseDuration` overrides it. Zero: no leases (each process computes its misses on
   * its own, never waiting for another's). Default 5 seconds.
   */
  readonly leaseDuration: Duration.Duration
  /**
   * Store operations in a row that time out before the store's circuit breaker opens:
   * then the store is skipped at once (fail-open, counted in
   * `CacheMetrics.storeSkipped`) and probed every `breakerProbeInterval` until it
   * answers. 0: no breaker. Default 5.
   */
  readonly breakerThreshold: number
  /** How long an open breaker skips the store before one operation probes it. Default 1 second. */
  readonly breakerProbeInterval: Duration.Duration
}

/**
 * The settings in force: a `Context.Reference`, so it has defaults without a layer.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { CacheSettings } from "@cachefx/core"
 *
 * const program = Effect.gen(function*() {
 *   const settings = yield* CacheSettings.CacheSettings
 *   console.log(settings.keyPrefix) // "cachefx"
 * })
 * ```
 *
 * @since 0.1.0
 * @category tags
 */
export class CacheSettings extends Context.Reference<CacheSettings>()("@cachefx/core/CacheSettings", {
  defaultValue: (): Settings => defaults
}) {}

/**
 * The default settings.
 *
 * @example
 * ```ts
 * import { CacheSettings } from "@cachefx/core"
 *
 * console.log(CacheSettings.defaults.failOpen) // true
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const defaults: Settings = {
  keyPrefix: "cachefx",
  defaultTtl: Ttl.minutes(5),
  enabled: true,
  operationTimeout: Duration.millis(250),
  failOpen: true,
  fillWindow: Duration.seconds(60),
  fingerprint: true,
  maxKeyLength: Number.POSITIVE_INFINITY,
  leaseDuration: Duration.seconds(5),
  breakerThreshold: 5,
  breakerProbeInterval: Duration.seconds(1)
}

/**
 * Input of `make` and `layer`: any subset of the settings, TTLs and durations in any
 * accepted form.
 *
 * @example
 * ```ts
 * import { CacheSettings } from "@cachefx/core"
 *
 * const input: CacheSettings.Input = { defaultTtl: "10 minutes", failOpen: true }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Input {
  readonly keyPrefix?: string | undefined
  readonly defaultTtl?: Ttl.TtlInput | undefined
  readonly enabled?: boolean | undefined
  readonly operationTimeout?: Duration.DurationInput | undefined
  readonly failOpen?: boolean | undefined
  readonly fillWindow?: Duration.DurationInput | undefined
  readonly fingerprint?: boolean | undefined
  readonly maxKeyLength?: number | undefined
  readonly leaseDuration?: Duration.DurationInput | undefined
  readonly breakerThreshold?: number | undefined
  readonly breakerProbeInterval?: Duration.DurationInput | undefined
}

/**
 * Builds settings from the defaults and the given overrides. Throws a
 * `CacheDefinitionError` for a key prefix with reserved characters, or a `maxKeyLength`
 * under 64.
 *
 * @example
 * ```ts
 * import { CacheSettings } from "@cachefx/core"
 *
 * const settings = CacheSettings.make({ keyPrefix: "shop", operationTimeout: "100 millis" })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (input: Input): Settings => ({
  keyPrefix: validateSegment("CacheSettings keyPrefix", input.keyPrefix ?? defaults.keyPrefix),
  defaultTtl: input.defaultTtl === undefined ? defaults.defaultTtl : Ttl.decode(input.defaultTtl),
  enabled: input.enabled ?? defaults.enabled,
  operationTimeout: input.operationTimeout === undefined
    ? defaults.operationTimeout
    : Duration.decode(input.operationTimeout),
  failOpen: input.failOpen ?? defaults.failOpen,
  fillWindow: input.fillWindow === undefined ? defaults.fillWindow : Duration.decode(input.fillWindow),
  fingerprint: input.fingerprint ?? defaults.fingerprint,
  maxKeyLength: validateMaxKeyLength(input.maxKeyLength ?? defaults.maxKeyLength),
  leaseDuration: input.leaseDuration === undefined ? defaults.leaseDuration : Duration.decode(input.leaseDuration),
  breakerThreshold: threshold("CacheSettings breakerThreshold", input.breakerThreshold ?? defaults.breakerThreshold),
  breakerProbeInterval: input.breakerProbeInterval === undefined
    ? defaults.breakerProbeInterval
    : Duration.decode(input.breakerProbeInterval)
})

const validateMaxKeyLength = (max: number): number => {
  if (max !== Number.POSITIVE_INFINITY && (!Number.isInteger(max) || max < 64)) {
    throw new CacheDefinitionError({
      subject: "CacheSettings maxKeyLength",
      reason: `must be a whole number of at least 64 (room for a namespace and two hashes), got ${max}`
    })
  }
  return max
}

/**
 * A layer that overrides some settings in code.
 *
 * @example
 * ```ts
 * import { CacheSettings } from "@cachefx/core"
 *
 * const SettingsLive = CacheSettings.layer({ keyPrefix: "shop", defaultTtl: "10 minutes" })
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (input: Input): Layer.Layer<never> => Layer.succeed(CacheSettings, make(input))

/**
 * The settings as a `Config`: `CACHEFX_KEY_PREFIX`, `CACHEFX_DEFAULT_TTL` (a duration such
 * as `5 minutes`), `CACHEFX_ENABLED`, `CACHEFX_OPERATION_TIMEOUT`, `CACHEFX_FAIL_OPEN`, `CACHEFX_FINGERPRINT`,
 * `CACHEFX_MAX_KEY_LENGTH`, `CACHEFX_FILL_WINDOW`, `CACHEFX_LEASE_DURATION`, `CACHEFX_BREAKER_THRESHOLD`
 * and `CACHEFX_BREAKER_PROBE_INTERVAL`, each falling back to its default.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { CacheSettings } from "@cachefx/core"
 *
 * const program = Effect.gen(function*() {
 *   const settings = yield* CacheSettings.config
 *   console.log(settings.keyPrefix)
 * })
 * ```
 *
 * @since 0.1.0
 * @category config
 */
export const config: Config.Config<Settings> = Config.all({
  keyPrefix: Config.option(Config.string("CACHEFX_KEY_PREFIX")),
  defaultTtl: Config.option(Config.duration("CACHEFX_DEFAULT_TTL")),
  enabled: Config.option(Config.boolean("CACHEFX_ENABLED")),
  operationTimeout: Config.option(Config.duration("CACHEFX_OPERATION_TIMEOUT")),
  failOpen: Config.option(Config.boolean("CACHEFX_FAIL_OPEN")),
  fillWindow: Config.option(Config.duration("CACHEFX_FILL_WINDOW")),
  fingerprint: Config.option(Config.boolean("CACHEFX_FINGERPRINT")),
  maxKeyLength: Config.option(Config.integer("CACHEFX_MAX_KEY_LENGTH")),
  leaseDuration: Config.option(Config.duration("CACHEFX_LEASE_DURATION")),
  breakerThreshold: Config.option(Config.integer("CACHEFX_BREAKER_THRESHOLD")),
  breakerProbeInterval: Config.option(Config.duration("CACHEFX_BREAKER_PROBE_INTERVAL"))
}).pipe(
  Config.mapOrFail((options) =>
    Either.try({
      try: () =>
        make({
          keyPrefix: Option.getOrUndefined(options.keyPrefix),
          defaultTtl: Option.getOrUndefined(options.defaultTtl),
          enabled: Option.getOrUndefined(options.enabled),
          operationTimeout: Option.getOrUndefined(options.operationTimeout),
          failOpen: Option.getOrUndefined(options.failOpen),
          fillWindow: Option.getOrUndefined(options.fillWindow),
          fingerprint: Option.getOrUndefined(options.fingerprint),
          maxKeyLength: Option.getOrUndefined(options.maxKeyLength),
          leaseDuration: Option.getOrUndefined(options.leaseDuration),
          breakerThreshold: Option.getOrUndefined(options.breakerThreshold),
          breakerProbeInterval: Option.getOrUndefined(options.breakerProbeInterval)
        }),
      catch: (error) => ConfigError.InvalidData([], (error as Error).message)
    })
  )
)

/**
 * A layer that reads the settings from `Config` (see `config`).
 *
 * @example
 * ```ts
 * import { CacheSettings } from "@cachefx/core"
 *
 * const SettingsLive = CacheSettings.layerConfig
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig: Layer.Layer<never, ConfigError.ConfigError> = Layer.effect(CacheSettings, config)
