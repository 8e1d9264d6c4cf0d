import { describe, expect, it } from "@effect/vitest"
import {
  Cached,
  CacheMetrics,
  CacheSettings,
  CacheStore,
  KeyConstructor,
  KeyField,
  TestCache,
  Ttl
} from "@cachefx/core"
import { Cause, Deferred, Effect, Exit, Layer, Metric, TestClock } from "effect"

const Posts = KeyConstructor.make({
  namespace: "posts",
  fields: [KeyField.arg("author", { partition: true }), KeyField.arg("page")]
})

type Post = { readonly author: number; readonly page: number }

/** A cached function that records every page it computes, and numbers each page's computations. */
const recording = (name: string, options: { readonly ttl?: Ttl.TtlInput } = {}) => {
  const computed: Array<number> = []
  const fn = Cached.cached({ key: Posts, name, ttl: options.ttl ?? "1 minute" })((input: Post) =>
    Effect.sync(() => {
      computed.push(input.page)
      return `page ${input.page} v${computed.filter((page) => page === input.page).length}`
    })
  )
  return { fn, computed: () => computed.slice().sort() }
}

const page = (n: number): Post => ({ author: 1, page: n })

const logOf = Effect.flatMap(TestCache.TestCache, (cache) => cache.log)
const clearLog = Effect.flatMap(TestCache.TestCache, (cache) => cache.clearLog)

describe("Cached.many", () => {
  it.effect("answers in input order from one getMany, computing only the misses, each key once", () =>
    Effect.gen(function*() {
      const { computed, fn } = recording("many-order")
      yield* fn(page(1))
      yield* fn(page(2))
      yield* clearLog
      const values = yield* fn.many([page(3), page(1), page(4), page(3), page(2), page(4)])
      expect(values).toEqual(["page 3 v1", "page 1 v1", "page 4 v1", "page 3 v1", "page 2 v1", "page 4 v1"])
      expect(computed()).toEqual([1, 2, 3, 4])
      const log = (yield* logOf).map((op) => `${op.op}:${op.outcome}:${op.target.slice(-1)}`)
      // one read of the four distinct keys, then a fill per miss
      expect(log.slice(0, 4)).toEqual(["getMany:miss:3", "getMany:hit:1", "getMany:miss:4", "getMany:hit:2"])
      expect(log.slice(4).sort()).toEqual(["set:stored:3", "set:stored:4"])
      expect(yield* fn.many([page(4), page(3)])).toEqual(["page 4 v1", "page 3 v1"])
      expect(computed()).toEqual([1, 2, 3, 4])
    }).pipe(Effect.provide(TestCache.layer())))

  it.effect("an empty batch reads nothing", () =>
    Effect.gen(function*() {
      const { fn } = recording("many-empty")
      expect(yield* fn.many([])).toEqual([])
      expect((yield* logOf).map((op) => op.op)).toEqual([])
    }).pipe(Effect.provide(TestCache.layer())))

  it.effect("serves stale entries and refreshes them in the background, as single calls do", () =>
    Effect.gen(function*() {
      const { computed, fn } = recording("many-stale", {
        ttl: Ttl.staleWhileRevalidate({ fresh: "10 seconds", stale: "1 minute" })
      })
      yield* fn.many([page(1), page(2)])
      yield* TestClock.adjust("11 seconds")
      expect(yield* fn.many([page(1), page(2)])).toEqual(["page 1 v1", "page 2 v1"])
      yield* Effect.yieldNow().pipe(Effect.repeatN(20))
      expect(computed()).toEqual([1, 1, 2, 2])
      expect(yield* fn.many([page(2), page(1)])).toEqual(["page 2 v2", "page 1 v2"])
    }).pipe(Effect.provide(TestCache.layer())))

  it.effect("a miss joins the computation of its key under way", () =>
    Effect.gen(function*() {
      const gate = yield* Deferred.make<void>()
      let calls = 0
      const fn = Cached.cached({ key: Posts, name: "many-flight" })((input: Post) =>
        Effect.zipRight(Deferred.await(gate), Effect.sync(() => `${input.page}#${++calls}`))
      )
      const single = yield* Effect.fork(fn(page(1)))
      yield* Effect.yieldNow().pipe(Effect.repeatN(20))
      const batch = yield* Effect.fork(fn.many([page(1), page(2)]))
      yield* Effect.yieldNow().pipe(Effect.repeatN(20))
      yield* Deferred.succeed(gate, void 0)
      const values = yield* batch.await.pipe(Effect.flatten)
      expect(yield* single.await.pipe(Effect.flatten)).toBe(values[0])
      expect(calls).toBe(2)
    }).pipe(Effect.provide(TestCache.layer())))

  it.effect("an input whose key cannot be built is computed without the cache and counted; the others are not affected", () =>
    Effect.gen(function*() {
      const Items = KeyConstructor.make({ namespace: "items", fields: [KeyField.arg("id")] })
      let calls = 0
      const fn = Cached.cached({ key: Items, name: "many-keyerror" })((input: { readonly id: unknown }) =>
        Effect.sync(() => `${typeof input.id} #${++calls}`)
      )
      const errors = Metric.tagged(CacheMetrics.errors, "cache", "many-keyerror")
      expect(yield* fn({ id: 1 })).toBe("number #1")
      const bad = { id: () => 1 }
      const [one, first, two, second] = yield* fn.many([{ id: 1 }, bad, { id: 2 }, bad])
      expect(one).toBe("number #1")
      expect([first, second].map((value) => value!.split(" ")[0])).toEqual(["function", "function"])
      expect(first).not.toBe(second) // nothing to key them by: each is computed
      expect(two!.startsWith("number #")).toBe(true)
      expect(calls).toBe(4)
      expect((yield* Metric.value(errors)).count).toBe(2)
      expect(yield* fn.many([{ id: 2 }, { id: 1 }])).toEqual([two, "number #1"])
    }).pipe(Effect.provide(TestCache.layer())))

  it.effect("with failOpen off, a key that cannot be built is a defect carrying the KeyError", () =>
    Effect.gen(function*() {
      const Items = KeyConstructor.make({ namespace: "items", fields: [KeyField.arg("id")] })
      const fn = Cached.cached({ key: Items })((input: { readonly id: unknown }) => Effect.succeed(typeof input.id))
      const exit = yield* Effect.exit(fn.many([{ id: 1 }, { id: () => 1 }]))
      expect(Exit.isFailure(exit) && Cause.isDie(exit.cause)).toBe(true)
      expect((Exit.isFailure(exit) ? Cause.squash(exit.cause) as { readonly _tag: string } : undefined)?._tag)
        .toBe("KeyError")
    }).pipe(Effect.provide(TestCache.layer()), Effect.provide(CacheSettings.layer({ failOpen: false }))))

  it.effect("a computation that fails fails the batch with its error, and nothing of it is cached", () =>
    Effect.gen(function*() {
      let calls = 0
      const fn = Cached.cached({ key: Posts, name: "many-failure" })((input: Post) =>
        Effect.suspend(() => {
          calls++
          return input.page === 2 && calls <= 2 ? Effect.fail(`no page ${input.page}`) : Effect.succeed(input.page)
        })
      )
      expect(yield* Effect.flip(fn.many([page(1), page(2)]))).toBe("no page 2")
      expect(yield* fn.many([page(1), page(2)])).toEqual([1, 2])
    }).pipe(Effect.provide(TestCache.layer())))

  it.effect("a failing store fails no call: every input is computed, and the error counted once", () =>
    Effect.gen(function*() {
      const { computed, fn } = recording("many-store-down")
      const errors = Metric.tagged(CacheMetrics.errors, "cache", "many-store-down")
      yield* fn.many([page(1), page(2)])
      yield* (yield* TestCache.TestCache).failNext(1)
      expect(yield* fn.many([page(1), page(2)])).toEqual(["page 1 v2", "page 2 v2"])
      expect(computed()).toEqual([1, 1, 2, 2])
      expect((yield* Metric.value(errors)).count).toBe(1)
    }).pipe(Effect.provide(TestCache.layer())))

  it.effect("a store made without getMany is read key by key (CacheStore.make derives it from get)", () =>
    Effect.gen(function*() {
      let gets = 0
      const { computed, fn } = recording("many-fallback")
      const WithoutGetMany = Layer.effect(
        CacheStore.CacheStore,
        Effect.map(CacheStore.makeMemory(), ({ getMany: _, ...store }) =>
          CacheStore.make({
            ...store,
            get: (key) => Effect.zipRight(Effect.sync(() => gets++), store.get(key))
          }))
      )
      const values = yield* fn.many([page(1), page(2), page(1)]).pipe(
        Effect.zipRight(fn.many([page(2), page(1)])),
        Effect.provide(WithoutGetMany)
      )
      expect(values).toEqual(["page 2 v1", "page 1 v1"])
      expect(computed()).toEqual([1, 2])
      expect(gets).toBe(4)
    }))

  it.effect("with caching disabled every input is computed", () =>
    Effect.gen(function*() {
      const { computed, fn } = recording("many-disabled")
      expect(yield* fn.many([page(1), page(1)])).toEqual(["page 1 v1", "page 1 v2"])
      expect(computed()).toEqual([1, 1])
    }).pipe(Effect.provide(TestCache.layer()), Effect.provide(CacheSettings.layer({ enabled: false }))))
})
