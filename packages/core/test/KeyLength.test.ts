import { describe, expect, it } from "@effect/vitest"
import { Cached, CacheSettings, CacheStore, KeyConstructor, KeyField } from "@cachefx/core"
import { ConfigProvider, Effect } from "effect"
import { keyLengthSuite } from "./KeyLengthSuite.js"

keyLengthSuite("memory", CacheStore.layerMemory(), "long")

describe("maxKeyLength setting", () => {
  const Wide = KeyConstructor.make({ namespace: "n".repeat(80), fields: [KeyField.arg("id")] })

  it.effect("a key that does not fit even hashed is a KeyError, and a call computes", () =>
    Effect.gen(function*() {
      const fn = Cached.cached({ key: Wide })((input: { readonly id: number }) => Effect.succeed(input.id))
      const error = yield* Effect.flip(fn.keyFor({ id: 1 }))
      expect(error.message).toContain("over the maxKeyLength setting (64)")
      expect((yield* fn.withStatus({ id: 1 })).status).toBe("Miss")
    }).pipe(Effect.provide(CacheStore.layerMemory()), Effect.provide(CacheSettings.layer({ maxKeyLength: 64 }))))

  it.effect("is read from CACHEFX_MAX_KEY_LENGTH and refuses a limit too short for a key", () =>
    Effect.gen(function*() {
      const settings = yield* Effect.withConfigProvider(
        CacheSettings.config,
        ConfigProvider.fromMap(new Map([["CACHEFX_MAX_KEY_LENGTH", "250"]]))
      )
      expect(settings.maxKeyLength).toBe(250)
      expect(CacheSettings.defaults.maxKeyLength).toBe(Number.POSITIVE_INFINITY)
      expect(() => CacheSettings.make({ maxKeyLength: 20 })).toThrow("at least 64")
    }))
})
