import { describe, expect, it } from "@effect/vitest"
import { Cached, CacheMetrics, CacheStore, KeyConstructor, KeyField, TestCache, Ttl } from "@cachefx/core"
import { Effect, Metric, Option, Schema, TestClock } from "effect"

const Prices = KeyConstructor.make({ namespace: "peeked-prices", fields: [KeyField.arg("sku")] })
type Sku = { readonly sku: number }
const sku = { sku: 1 }

/** A cached price on `ttl`, counting its computations. */
const priceOf = (ttl: Ttl.TtlInput, name?: string) => {
  let calls = 0
  const fn = Cached.cached({ key: Prices, ttl, name })((input: Sku) => Effect.sync(() => input.sku * 100 + ++calls))
  return { fn, calls: () => calls }
}

const at = (millis: number) => new Date(millis)

const errors = Effect.map(Metric.value(CacheMetrics.errors.pipe(Metric.tagged("cache", "peeked-prices"))), (state) => state.count)

describe("peekEntry", () => {
  it.effect("is none for an input with no entry, and computes nothing", () =>
    Effect.gen(function*() {
      const { calls, fn } = priceOf("1 minute")
      expect(yield* fn.peekEntry(sku)).toEqual(Option.none())
      expect(calls()).toBe(0)
      const log = yield* Effect.flatMap(TestCache.TestCache, (cache) => cache.log)
      expect(log.map((op) => `${op.op}:${op.outcome}`)).toEqual(["get:miss"])
    }).pipe(Effect.provide(TestCache.layer())))

  it.effect("gives a fresh entry's value and times, as stored", () =>
    Effect.gen(function*() {
      const { calls, fn } = priceOf("1 minute")
      yield* TestClock.setTime(1_000)
      yield* fn(sku)
      yield* TestClock.adjust("5 seconds")
      const peeked = yield* fn.peekEntry(sku)
      expect(peeked).toEqual(Option.some({
        value: 101,
        state: "Fresh",
        cachedAt: at(1_000),
        expiresAt: Option.some(at(61_000)),
        staleUntil: Option.some(at(61_000))
      }))
      expect(Option.map(peeked, (entry) => entry.value)).toEqual(yield* fn.peek(sku))
      expect(calls()).toBe(1)
    }).pipe(Effect.provide(TestCache.layer())))

  it.effect("follows a stale-while-revalidate entry from fresh to stale to none, computing nothing", () =>
    Effect.gen(function*() {
      const { calls, fn } = priceOf(Ttl.staleWhileRevalidate({ fresh: "10 seconds", stale: "1 minute" }))
      yield* TestClock.setTime(0)
      yield* fn(sku)
      const times = { cachedAt: at(0), expiresAt: Option.some(at(10_000)), staleUntil: Option.some(at(70_000)) }
      expect(yield* fn.peekEntry(sku)).toEqual(Option.some({ value: 101, state: "Fresh", ...times }))
      yield* TestClock.adjust("11 seconds")
      expect(yield* fn.peekEntry(sku)).toEqual(Option.some({ value: 101, state: "Stale", ...times }))
      yield* TestClock.adjust("1 minute")
      expect(yield* fn.peekEntry(sku)).toEqual(Option.none())
      expect(calls()).toBe(1)
    }).pipe(Effect.provide(TestCache.layer())))

  it.effect("gives none for the times of an entry that never expires", () =>
    Effect.gen(function*() {
      const { fn } = priceOf(Ttl.forever)
      yield* fn(sku)
      const peeked = yield* fn.peekEntry(sku)
      expect(Option.map(peeked, (entry) => [entry.state, entry.expiresAt, entry.staleUntil])).toEqual(
        Option.some(["Fresh", Option.none(), Option.none()])
      )
    }).pipe(Effect.provide(TestCache.layer())))

  it.effect("an entry invalidated softly is stale before its expiresAt within a stale window, none without one", () =>
    Effect.gen(function*() {
      const windowed = priceOf(Ttl.staleWhileRevalidate({ fresh: "10 seconds", stale: "1 minute" }))
      yield* windowed.fn(sku)
      yield* windowed.fn.delete(sku, { soft: true })
      const peeked = yield* windowed.fn.peekEntry(sku)
      expect(Option.map(peeked, (entry) => entry.state)).toEqual(Option.some("Stale"))
      expect(Option.flatMap(peeked, (entry) => entry.expiresAt)).toEqual(Option.some(at(10_000)))
      const plain = priceOf("1 minute", "peeked-plain")
      yield* plain.fn(sku)
      yield* plain.fn.delete(sku, { soft: true })
      expect(yield* plain.fn.peekEntry(sku)).toEqual(Option.none())
    }).pipe(Effect.provide(TestCache.layer())))

  it.effect("an entry that does not decode is none, and counted as an error", () =>
    Effect.gen(function*() {
      const key = KeyConstructor.make({ namespace: "peeked-prices", fields: [KeyField.arg("sku")] })
      const asText = Cached.cached({ key, value: Schema.String, fingerprint: false })((_: Sku) => Effect.succeed("cheap"))
      const asNumber = Cached.cached({ key, value: Schema.Number, fingerprint: false })((_: Sku) => Effect.succeed(1))
      yield* asText(sku)
      const before = yield* errors
      // another process, whose Schema no longer reads what the first stored
      const peeked = yield* Effect.updateService(asNumber.peekEntry(sku), CacheStore.CacheStore, (store) => ({ ...store }))
      expect(peeked).toEqual(Option.none())
      expect((yield* errors) - before).toBe(1)
    }).pipe(Effect.provide(TestCache.layer())))

  it.effect("a store that fails gives none, and the call does not fail (fail-open)", () =>
    Effect.gen(function*() {
      const { fn } = priceOf("1 minute")
      yield* fn(sku)
      yield* Effect.flatMap(TestCache.TestCache, (cache) => cache.failNext(1))
      const before = yield* errors
      expect(yield* fn.peekEntry(sku)).toEqual(Option.none())
      expect((yield* errors) - before).toBe(1)
      expect(Option.isSome(yield* fn.peekEntry(sku))).toBe(true)
    }).pipe(Effect.provide(TestCache.layer())))

  it.effect("a value with a Schema is decoded", () =>
    Effect.gen(function*() {
      const fn = Cached.cached({ key: Prices, name: "peeked-dates", value: Schema.Date })((_: Sku) => Effect.succeed(new Date(5)))
      yield* fn(sku)
      const peeked = yield* fn.peekEntry(sku)
      expect(Option.map(peeked, (entry) => entry.value)).toEqual(Option.some(new Date(5)))
    }).pipe(Effect.provide(CacheStore.layerMemory())))
})
