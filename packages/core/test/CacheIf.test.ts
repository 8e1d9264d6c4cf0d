import { describe, expect, it } from "@effect/vitest"
import { Cached, CacheError, CacheStore, KeyConstructor, KeyField, TestCache, Ttl } from "@cachefx/core"
import { Deferred, Effect, Fiber, Option, TestClock } from "effect"

const Searches = KeyConstructor.make({ namespace: "searches", fields: [KeyField.arg("q")] })
type Search = { readonly q: string }

/** What a search finds: nothing for a query starting with "none", else one hit per call. */
const results = (q: string, n: number): ReadonlyArray<string> => q.startsWith("none") ? [] : [`${q}#${n}`]

/** A cached search with `options`, counting its computations. */
const search = (options: Pick<Cached.Options<typeof Searches, ReadonlyArray<string>>, "cacheIf" | "cacheUnless" | "ttl" | "name">) => {
  let calls = 0
  const fn = Cached.cached({ key: Searches, ttl: "1 minute", ...options })((input: Search) =>
    Effect.sync(() => results(input.q, ++calls))
  )
  return { fn, calls: () => calls }
}

const sets = Effect.map(Effect.flatMap(TestCache.TestCache, (cache) => cache.log), (log) => log.filter((op) => op.op === "set").length)

describe("cacheIf and cacheUnless", () => {
  it.effect("cacheIf: a refused value is returned and not stored, an accepted one is stored", () =>
    Effect.gen(function*() {
      const { calls, fn } = search({ cacheIf: (found) => found.length > 0 })
      expect(yield* fn({ q: "none" })).toEqual([])
      expect(yield* fn.withStatus({ q: "none" })).toMatchObject({ value: [], status: "Miss", cachedAt: Option.none() })
      expect(yield* fn.peek({ q: "none" })).toEqual(Option.none())
      expect(yield* sets).toBe(0)
      expect(calls()).toBe(2)
      expect(yield* fn({ q: "ada" })).toEqual(["ada#3"])
      expect(yield* fn.withStatus({ q: "ada" })).toMatchObject({ value: ["ada#3"], status: "Hit" })
      expect(yield* sets).toBe(1)
      expect(calls()).toBe(3)
    }).pipe(Effect.provide(TestCache.layer())))

  it.effect("cacheUnless: a value it gives true for is returned and not stored, the others are stored", () =>
    Effect.gen(function*() {
      const { calls, fn } = search({ cacheUnless: (found) => found.length === 0 })
      expect(yield* fn({ q: "none" })).toEqual([])
      expect(yield* fn({ q: "none" })).toEqual([])
      expect(calls()).toBe(2)
      expect(yield* fn({ q: "ada" })).toEqual(["ada#3"])
      expect(yield* fn({ q: "ada" })).toEqual(["ada#3"])
      expect(calls()).toBe(3)
      expect(yield* sets).toBe(1)
    }).pipe(Effect.provide(TestCache.layer())))

  it.effect("every caller that joined a computation gets its value, refused or not, and it is computed once", () =>
    Effect.gen(function*() {
      const gate = yield* Deferred.make<void>()
      let calls = 0
      const fn = Cached.cached({ key: Searches, ttl: "1 minute", cacheUnless: (found: ReadonlyArray<string>) => found.length === 0 })(
        (input: Search) => Effect.zipRight(Deferred.await(gate), Effect.sync(() => results(input.q, ++calls)))
      )
      const callers = yield* Effect.fork(Effect.all(Array.from({ length: 5 }, () => fn({ q: "none" })), { concurrency: "unbounded" }))
      yield* Effect.yieldNow().pipe(Effect.repeatN(10))
      yield* Deferred.succeed(gate, void 0)
      const values = yield* Fiber.join(callers)
      expect(values).toEqual([[], [], [], [], []])
      // each caller has a value of its own: callers never share a mutable value
      expect(new Set(values).size).toBe(5)
      expect(calls).toBe(1)
      expect(yield* sets).toBe(0)
      // nothing stored: the next call computes again
      expect(yield* fn({ q: "none" })).toEqual([])
      expect(calls).toBe(2)
    }).pipe(Effect.provide(TestCache.layer())))

  it.effect("many returns every value in input order and stores only the accepted ones", () =>
    Effect.gen(function*() {
      const { calls, fn } = search({ name: "searches-many", cacheIf: (found) => found.length > 0 })
      const inputs = [{ q: "ada" }, { q: "none-1" }, { q: "bob" }, { q: "none-2" }, { q: "ada" }]
      const values = yield* fn.many(inputs)
      expect(values.map((found) => found.length)).toEqual([1, 0, 1, 0, 1])
      expect(values[0]).toEqual(values[4])
      expect(calls()).toBe(4)
      expect(yield* sets).toBe(2)
      const stored = yield* Effect.forEach(inputs, (input) => Effect.map(fn.peek(input), Option.isSome))
      expect(stored).toEqual([true, false, true, false, true])
      yield* fn.many(inputs)
      expect(calls()).toBe(6) // the two refused ones, again
    }).pipe(Effect.provide(TestCache.layer())))

  it.effect("refresh and a background refresh store only what the predicate accepts; a refused one leaves the entry as it was", () =>
    Effect.gen(function*() {
      let empty = false
      let calls = 0
      const fn = Cached.cached({
        key: Searches,
        ttl: Ttl.staleWhileRevalidate({ fresh: "10 seconds", stale: "1 minute" }),
        cacheIf: (found: ReadonlyArray<string>) => found.length > 0
      })((input: Search) => Effect.sync(() => empty ? [] : [`${input.q}#${++calls}`]))
      expect(yield* fn({ q: "ada" })).toEqual(["ada#1"])
      empty = true
      expect(yield* fn.refresh({ q: "ada" })).toEqual([])
      expect(yield* fn.withStatus({ q: "ada" })).toMatchObject({ value: ["ada#1"], status: "Hit" })
      yield* TestClock.adjust("11 seconds")
      expect(yield* fn.withStatus({ q: "ada" })).toMatchObject({ value: ["ada#1"], status: "Stale" })
      yield* Effect.yieldNow().pipe(Effect.repeatN(20))
      expect(yield* fn.withStatus({ q: "ada" })).toMatchObject({ value: ["ada#1"], status: "Stale" })
      empty = false
      yield* Effect.yieldNow().pipe(Effect.repeatN(20))
      expect(yield* fn.withStatus({ q: "ada" })).toMatchObject({ value: ["ada#2"], status: "Hit" })
      expect(yield* sets).toBe(2)
    }).pipe(Effect.provide(TestCache.layer())))

  it.effect("the predicate sees the computed value, before it is encoded", () =>
    Effect.gen(function*() {
      const seen: Array<unknown> = []
      const fn = Cached.cached({
        key: Searches,
        name: "searches-dates",
        cacheIf: (at: Date) => {
          seen.push(at)
          return true
        }
      })((_: Search) => Effect.succeed(new Date(0)))
      yield* fn({ q: "epoch" })
      expect(seen).toHaveLength(1)
      expect(seen[0]).toBeInstanceOf(Date)
    }).pipe(Effect.provide(CacheStore.layerMemory())))

  it("giving both, or a predicate that is not a function, throws a CacheDefinitionError when the value is defined", () => {
    expect(() => search({ cacheIf: () => true, cacheUnless: () => false })).toThrow(CacheError.CacheDefinitionError)
    expect(() => search({ cacheIf: () => true, cacheUnless: () => false })).toThrow(
      "cached \"searches\": cacheIf and cacheUnless exclude each other; give one of them"
    )
    expect(() => search({ cacheUnless: true as never })).toThrow(
      "cached \"searches\" cacheUnless: must be a function of the computed value giving a boolean, not boolean"
    )
  })
})
