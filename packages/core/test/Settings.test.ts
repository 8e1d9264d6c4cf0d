import { describe, expect, it } from "@effect/vitest"
import { CacheError, CacheSettings, Ttl } from "@cachefx/core"
import { ConfigProvider, Duration, Effect, Layer } from "effect"

describe("CacheSettings", () => {
  it.effect("has defaults without any layer", () =>
    Effect.gen(function*() {
      const settings = yield* CacheSettings.CacheSettings
      expect(settings).toEqual(CacheSettings.defaults)
    }))

  it.effect("reads CACHEFX_* variables through Config, falling back to defaults", () =>
    Effect.gen(function*() {
      const settings = yield* CacheSettings.CacheSettings
      expect(settings.keyPrefix).toBe("shop")
      expect(settings.defaultTtl).toEqual(Ttl.minutes(10))
      expect(Duration.toMillis(settings.operationTimeout)).toBe(50)
      expect(settings.failOpen).toBe(false)
      expect(settings.enabled).toBe(true)
    }).pipe(
      Effect.provide(
        CacheSettings.layerConfig.pipe(
          Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(
            new Map([
              ["CACHEFX_KEY_PREFIX", "shop"],
              ["CACHEFX_DEFAULT_TTL", "10 minutes"],
              ["CACHEFX_OPERATION_TIMEOUT", "50 millis"],
              ["CACHEFX_FAIL_OPEN", "false"]
            ])
          )))
        )
      )
    ))

  it.effect("reports a bad variable as a ConfigError that names the problem", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Layer.build(CacheSettings.layerConfig).pipe(Effect.scoped))
      expect(String(error)).toMatch(/keyPrefix/)
    }).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["CACHEFX_KEY_PREFIX", "a:b"]])))))
})

describe("Ttl", () => {
  it("accepts durations in every form, and zero as none", () => {
    expect(Ttl.decode("5 minutes")).toEqual(Ttl.minutes(5))
    expect(Ttl.decode(1_500)).toEqual(Ttl.duration(Duration.millis(1_500)))
    expect(Ttl.seconds(0)).toBe(Ttl.none)
    expect(Ttl.duration(Duration.infinity)).toBe(Ttl.forever)
  })

  it("computes deadlines, with the stale window after the fresh one", () => {
    expect(Ttl.deadlines(Ttl.staleWhileRevalidate({ fresh: "10 seconds", stale: "50 seconds" }), 0, 0)).toEqual({
      expiresAt: 10_000,
      staleUntil: 60_000
    })
    expect(Ttl.deadlines(Ttl.forever, 0, 0)).toEqual({ expiresAt: null, staleUntil: null })
    expect(Ttl.deadlines(Ttl.none, 0, 0)).toBeUndefined()
    expect(Ttl.deadlines(Ttl.jitter(Ttl.seconds(100), 0.2), 0, 0.5)).toEqual({ expiresAt: 90_000, staleUntil: 90_000 })
  })

  it("rejects bad input with a CacheDefinitionError that says what is accepted", () => {
    expect(() => Ttl.seconds(-1)).toThrow(CacheError.CacheDefinitionError)
    expect(() => Ttl.seconds(Number.NaN)).toThrow(/non-negative/)
    expect(() => Ttl.duration("soon" as never)).toThrow(/not a duration/)
    expect(() => Ttl.jitter(Ttl.seconds(1), 1)).toThrow(/\[0, 1\)/)
  })
})
