/**
 * The memory store remembers recent deletions and partition wipes (to refuse a fill that
 * read before one of them): at most `rememberedInvalidations` of them, whatever the rate
 * of invalidations, and a fill that read before a forgotten one is still refused.
 */
import { describe, expect, it } from "@effect/vitest"
import { CacheKey, CacheStore } from "@cachefx/core"
import { heapUsed } from "@cachefx/testkit"
import { Effect, Option } from "effect"
import { keyIn } from "@cachefx/testkit/StoreContract"

const entry = (value: unknown) => ({ value, cachedAt: 0, expiresAt: null, staleUntil: null })

describe("CacheStore.layerMemory: remembered invalidations", () => {
  it.effect("1,000,000 deletions of distinct keys add less than 8 MB of heap (10,000 remembered by default)", () =>
    Effect.gen(function*() {
      const store = yield* CacheStore.makeMemory()
      const before = heapUsed()
      let i = 0
      const next = Effect.suspend(() => store.invalidate(CacheKey.key(keyIn("churn", `p${i % 1000}`, `k${i++}`))))
      yield* Effect.repeatN(next, 999_999)
      const grown = heapUsed() - before
      process.stdout.write(`[memory] 1,000,000 deletions: heap +${(grown / 2 ** 20).toFixed(1)} MiB\n`)
      expect(grown).toBeLessThan(8 * 2 ** 20)
    }), 300_000)

  it.effect("a fill that read before a deletion the store no longer remembers is refused; one that read after is stored", () =>
    Effect.gen(function*() {
      const store = yield* CacheStore.makeMemory({ rememberedInvalidations: 100 })
      const key = keyIn("bound", "p", "target")
      const early = yield* store.get(key)
      yield* store.invalidate(CacheKey.key(key))
      // 200 later deletions push the target's record out of the 100 remembered
      for (let i = 0; i < 200; i++) {
        yield* store.invalidate(CacheKey.key(keyIn("bound", "q", `other${i}`)))
      }
      expect(yield* store.set(key, entry("stale"), early.guard)).toBe(false)
      expect(Option.isNone((yield* store.get(key)).entry)).toBe(true)
      const late = yield* store.get(key)
      expect(yield* store.set(key, entry("fresh"), late.guard)).toBe(true)
      expect(Option.map((yield* store.get(key)).entry, (found) => found.value)).toEqual(Option.some("fresh"))
    }))

  it.effect("a fill that read before a forgotten partition wipe is refused too", () =>
    Effect.gen(function*() {
      const store = yield* CacheStore.makeMemory({ rememberedInvalidations: 10 })
      const key = keyIn("bound", "wiped", "a")
      const early = yield* store.get(key)
      yield* store.invalidate(CacheKey.partition(key))
      for (let i = 0; i < 20; i++) {
        yield* store.invalidate(CacheKey.partition(keyIn("bound", `other${i}`, "a")))
      }
      expect(yield* store.set(key, entry("stale"), early.guard)).toBe(false)
    }))

  it("a bound that is not a positive whole number is a CacheDefinitionError", () => {
    expect(() => CacheStore.makeMemory({ rememberedInvalidations: 0 })).toThrow(/rememberedInvalidations/)
    expect(() => CacheStore.makeMemory({ rememberedInvalidations: 1.5 })).toThrow(/positive whole number/)
  })
})
