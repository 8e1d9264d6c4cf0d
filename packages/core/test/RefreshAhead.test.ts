import { describe, expect, it } from "@effect/vitest"
import { Cached, CacheError, CacheStore, KeyConstructor, KeyField, Ttl } from "@cachefx/core"
import { Deferred, Effect, Fiber, Option, pipe, TestClock } from "effect"

const Prices = KeyConstructor.make({ namespace: "prices", fields: [KeyField.arg("sku")] })

type Sku = { readonly sku: number }

const Memory = CacheStore.layerMemory()

describe("Ttl.refreshAhead", () => {
  it("takes a fraction in (0, 1), in both styles, and leaves forever and none alone", () => {
    const policy = Ttl.refreshAhead(Ttl.seconds(10), 0.8)
    expect(policy).toMatchObject({ _tag: "Expiring", refreshAhead: 0.8 })
    expect(pipe("10 seconds", Ttl.refreshAhead(0.8))).toEqual(policy)
    expect(Ttl.refreshAhead(Ttl.jitter(Ttl.seconds(10), 0.1), 0.5)).toMatchObject({ jitter: 0.1, refreshAhead: 0.5 })
    expect(Ttl.jitter(Ttl.refreshAhead(Ttl.seconds(10), 0.5), 0.1)).toMatchObject({ jitter: 0.1, refreshAhead: 0.5 })
    expect(Ttl.refreshAhead(Ttl.forever, 0.5)).toBe(Ttl.forever)
    expect(Ttl.refreshAhead(Ttl.none, 0.5)).toBe(Ttl.none)
    for (const fraction of [0, 1, -0.1, 1.5, Number.NaN]) {
      expect(() => Ttl.refreshAhead(Ttl.seconds(10), fraction)).toThrow(CacheError.CacheDefinitionError)
      expect(() => Ttl.refreshAhead(fraction)(Ttl.seconds(10))).toThrow(/Ttl\.refreshAhead.*not in \(0, 1\)/)
    }
  })

  it("refreshes after the fraction of the entry's own fresh time", () => {
    const policy = Ttl.refreshAhead(Ttl.seconds(10), 0.5)
    expect(Ttl.refreshAt(policy, 1_000, 11_000)).toBe(6_000)
    expect(Ttl.refreshAt(policy, 1_000, 9_000)).toBe(5_000) // a jittered entry
    expect(Ttl.refreshAt(policy, 1_000, null)).toBeUndefined()
    expect(Ttl.refreshAt(Ttl.seconds(10), 1_000, 11_000)).toBeUndefined()
  })
})

describe("cached() with refresh-ahead", () => {
  it.effect("keeps a hot key from ever missing under steady load: one computation per refresh window", () =>
    Effect.gen(function*() {
      let computations = 0
      const price = Cached.cached({ key: Prices, ttl: Ttl.refreshAhead(Ttl.seconds(10), 0.5) })((input: Sku) =>
        Effect.sleep("100 millis").pipe(Effect.zipRight(Effect.sync(() => `${input.sku}#${++computations}`)))
      )
      const statuses = new Map<string, number>()
      const computedAt = new Set<number>()
      // 10 concurrent calls every 500 ms for a minute (six TTLs), the clock moving in between
      for (let tick = 0; tick <= 120; tick++) {
        const calls = yield* Effect.fork(
          Effect.all(Array.from({ length: tick === 0 ? 1 : 10 }, () => price.withStatus({ sku: 1 })), {
            concurrency: "unbounded"
          })
        )
        yield* TestClock.adjust("500 millis")
        for (const result of yield* Fiber.join(calls)) {
          statuses.set(result.status, (statuses.get(result.status) ?? 0) + 1)
          computedAt.add(Option.getOrThrow(result.cachedAt).getTime())
        }
      }
      expect(statuses).toEqual(new Map([["Miss", 1], ["Hit", 120 * 10]]))
      // refreshed by the first hit past 5 s of each entry (then 100 ms of computation):
      // every 5.5 s (11 ticks), 10 times
      expect(computations).toBe(11)
      const times = [...computedAt].sort((a, b) => a - b)
      expect(times).toHaveLength(11)
      times.slice(1).forEach((at, i) => expect(at - times[i]!).toBe(5_500))
    }).pipe(Effect.provide(Memory)), 20_000)

  it.effect("answers at once while the refresh runs, and serves the refreshed value after it", () =>
    Effect.gen(function*() {
      const gate = yield* Deferred.make<void>()
      let computations = 0
      const price = Cached.cached({ key: Prices, ttl: Ttl.refreshAhead(Ttl.seconds(10), 0.8) })((input: Sku) =>
        Effect.suspend(() => ++computations === 1 ? Effect.succeed(0) : Effect.as(Deferred.await(gate), input.sku))
      )
      yield* TestClock.setTime(0)
      expect(yield* price({ sku: 7 })).toBe(0)
      yield* TestClock.adjust("7999 millis")
      expect(yield* price.withStatus({ sku: 7 })).toMatchObject({ status: "Hit", value: 0 })
      expect(computations).toBe(1)
      yield* TestClock.adjust("1 milli")
      expect(yield* price.withStatus({ sku: 7 })).toMatchObject({ status: "Hit", value: 0 })
      yield* Effect.yieldNow()
      expect(computations).toBe(2)
      // the refresh is held: readers are answered from the store, and start no other
      expect(yield* price.withStatus({ sku: 7 })).toMatchObject({ status: "Hit", value: 0 })
      expect(computations).toBe(2)
      yield* Deferred.succeed(gate, void 0)
      yield* Effect.yieldNow()
      expect(yield* price.withStatus({ sku: 7 })).toMatchObject({ status: "Hit", value: 7 })
    }).pipe(Effect.provide(Memory)))

  it.effect("fills the refreshed value under the guard of the read that started it", () =>
    Effect.gen(function*() {
      const gate = yield* Deferred.make<void>()
      let computations = 0
      const price = Cached.cached({ key: Prices, ttl: Ttl.refreshAhead(Ttl.seconds(10), 0.5) })((_: Sku) =>
        Effect.suspend(() => ++computations === 1 ? Effect.succeed(1) : Effect.as(Deferred.await(gate), computations))
      )
      yield* TestClock.setTime(0)
      yield* price({ sku: 1 })
      yield* TestClock.adjust("6 seconds")
      yield* price({ sku: 1 })
      yield* Effect.yieldNow()
      expect(computations).toBe(2)
      yield* price.delete({ sku: 1 })
      yield* Deferred.succeed(gate, void 0)
      yield* Effect.yieldNow()
      // the refresh began before the delete: its value is not stored
      expect(yield* price.peek({ sku: 1 })).toEqual(Option.none())
    }).pipe(Effect.provide(Memory)))
})
