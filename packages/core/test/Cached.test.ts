import { describe, expect, it } from "@effect/vitest"
import { Cached, CacheMetrics, CacheSettings, CacheStore, KeyConstructor, KeyField, TestCache, Ttl } from "@cachefx/core"
import { Cause, Deferred, Effect, Exit, Fiber, Layer, Metric, Option, Schema, TestClock } from "effect"
import { recordingTracer } from "./recordingTracer.js"

/** Runs `effect` as another process would: on a store of its own (a copy of the service) over the same entries. */
const anotherProcess = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.updateService(effect, CacheStore.CacheStore, (store) => ({ ...store }))

const Posts = KeyConstructor.make({
  namespace: "posts",
  fields: [KeyField.arg("author", { partition: true }), KeyField.arg("page")]
})

/** A cached function over a counter, so tests see how often it computed. */
const counting = <A>(
  f: (input: { readonly author: number; readonly page: number }, calls: number) => A,
  options: Partial<Cached.Options<typeof Posts, A>> = {}
) => {
  let calls = 0
  const fn = Cached.cached({ key: Posts, ttl: "1 minute", ...options })(
    (input: { readonly author: number; readonly page: number }) => Effect.sync(() => f(input, ++calls))
  )
  return { fn, calls: () => calls }
}

const statusOf = <A>(result: Cached.CacheResult<A>) => [result.status, result.value] as const

const TestLayer = TestCache.layer()

describe("cached", () => {
  it.effect("misses once, then hits without computing", () =>
    Effect.gen(function*() {
      const { fn, calls } = counting((input, n) => `${input.author}/${input.page}#${n}`)
      expect(statusOf(yield* fn.withStatus({ author: 1, page: 1 }))).toEqual(["Miss", "1/1#1"])
      expect(statusOf(yield* fn.withStatus({ author: 1, page: 1 }))).toEqual(["Hit", "1/1#1"])
      expect(yield* fn({ author: 1, page: 2 })).toBe("1/2#2")
      expect(calls()).toBe(2)
      const log = yield* Effect.flatMap(TestCache.TestCache, (cache) => cache.log)
      expect(log.map((op) => `${op.op}:${op.outcome}`)).toEqual([
        "get:miss", "set:stored", "get:hit", "get:miss", "set:stored"
      ])
    }).pipe(Effect.provide(TestLayer)))

  describe("the computation's span", () => {
    /** A cached function that gives the name of the span it computes in. */
    const spanName = () =>
      Cached.cached({ key: Posts, ttl: "1 minute" })((_: { readonly author: number; readonly page: number }) =>
        Effect.map(Effect.currentSpan, (span) => span.name)
      )

    it.effect("is cachefx.compute when a tracer exports", () => {
      const { started, tracer } = recordingTracer()
      return Effect.gen(function*() {
        expect(yield* spanName()({ author: 1, page: 1 }).pipe(Effect.withSpan("caller"))).toBe("cachefx.compute")
        expect(started).toEqual(["caller", "cachefx.cached", "cachefx.compute"])
      }).pipe(Effect.provide(TestLayer), Effect.withTracer(tracer))
    })

    it.effect("is the caller's with Effect's built-in tracer only", () =>
      Effect.gen(function*() {
        expect(yield* spanName()({ author: 1, page: 1 }).pipe(Effect.withSpan("caller"))).toBe("caller")
      }).pipe(Effect.provide(TestLayer)))
  })

  it.effect("reports when the value was cached and when it expires", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(1_000)
      const { fn } = counting(() => 1)
      const miss = yield* fn.withStatus({ author: 1, page: 1 })
      expect(miss.cachedAt).toEqual(Option.some(new Date(1_000)))
      expect(miss.expiresAt).toEqual(Option.some(new Date(61_000)))
      yield* TestClock.adjust("10 seconds")
      const hit = yield* fn.withStatus({ author: 1, page: 1 })
      expect(hit.cachedAt).toEqual(Option.some(new Date(1_000)))
    }).pipe(Effect.provide(TestLayer)))

  it.effect("expires with the TTL on the test clock", () =>
    Effect.gen(function*() {
      const { fn, calls } = counting((_, n) => n, { ttl: Ttl.seconds(30) })
      yield* fn({ author: 1, page: 1 })
      yield* TestClock.adjust("29 seconds")
      expect(yield* fn({ author: 1, page: 1 })).toBe(1)
      yield* TestClock.adjust("1 second")
      expect(statusOf(yield* fn.withStatus({ author: 1, page: 1 }))).toEqual(["Miss", 2])
      expect(calls()).toBe(2)
    }).pipe(Effect.provide(TestLayer)))

  it.effect("takes a TTL from the value, and stores nothing for Ttl.none", () =>
    Effect.gen(function*() {
      const { fn, calls } = counting((input) => input.page, {
        ttl: (page: number) => page === 0 ? Ttl.none : Ttl.forever
      })
      yield* fn({ author: 1, page: 0 })
      yield* fn({ author: 1, page: 0 })
      yield* fn({ author: 1, page: 5 })
      yield* TestClock.adjust("1000 days")
      expect(statusOf(yield* fn.withStatus({ author: 1, page: 5 }))).toEqual(["Hit", 5])
      expect(calls()).toBe(3)
    }).pipe(Effect.provide(TestLayer)))

  it.effect("jitter shortens the fresh time by up to its fraction", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(0)
      const { fn } = counting(() => 1, { ttl: Ttl.jitter(Ttl.seconds(100), 0.5) })
      const expiries = new Set<number>()
      for (let page = 0; page < 50; page++) {
        const result = yield* fn.withStatus({ author: 1, page })
        const at = Option.getOrThrow(result.expiresAt).getTime()
        expect(at).toBeGreaterThan(50_000)
        expect(at).toBeLessThanOrEqual(100_000)
        expiries.add(at)
      }
      expect(expiries.size).toBeGreaterThan(10)
    }).pipe(Effect.provide(TestLayer)))

  it.effect("serves a stale value at once and refreshes it in the background, once", () =>
    Effect.gen(function*() {
      const gate = yield* Deferred.make<void>()
      let calls = 0
      const fn = Cached.cached({ key: Posts, ttl: Ttl.staleWhileRevalidate({ fresh: "10 seconds", stale: "1 minute" }) })(
        (_: { readonly author: number; readonly page: number }) =>
          Effect.suspend(() => ++calls === 1 ? Effect.succeed(1) : Effect.as(Deferred.await(gate), calls))
      )
      yield* fn({ author: 1, page: 1 })
      yield* TestClock.adjust("11 seconds")
      expect(statusOf(yield* fn.withStatus({ author: 1, page: 1 }))).toEqual(["Stale", 1])
      expect(statusOf(yield* fn.withStatus({ author: 1, page: 1 }))).toEqual(["Stale", 1])
      yield* Deferred.succeed(gate, void 0)
      yield* Effect.yieldNow().pipe(Effect.repeatN(20))
      expect(calls).toBe(2)
      expect(statusOf(yield* fn.withStatus({ author: 1, page: 1 }))).toEqual(["Hit", 2])
      yield* TestClock.adjust("2 minutes")
      expect(statusOf(yield* fn.withStatus({ author: 1, page: 1 }))).toEqual(["Miss", 3])
    }).pipe(Effect.provide(TestLayer)))

  describe("single-flight", () => {
    it.live("1000 concurrent misses of one key compute once", () =>
      Effect.gen(function*() {
        let calls = 0
        const fn = Cached.cached({ key: Posts })((_: { readonly author: number; readonly page: number }) =>
          Effect.sleep("20 millis").pipe(Effect.zipRight(Effect.sync(() => ++calls)))
        )
        const results = yield* Effect.all(Array.from({ length: 1000 }, () => fn({ author: 1, page: 1 })), {
          concurrency: "unbounded"
        })
        expect(calls).toBe(1)
        expect(new Set(results)).toEqual(new Set([1]))
      }).pipe(Effect.provide(CacheStore.layerMemory())))

    it.live("a failure reaches the callers waiting for it, is not cached, and the next call computes", () =>
      Effect.gen(function*() {
        let calls = 0
        const fn = Cached.cached({ key: Posts })((_: { readonly author: number; readonly page: number }) =>
          Effect.sleep("10 millis").pipe(
            Effect.zipRight(Effect.suspend(() => ++calls === 1 ? Effect.fail("boom" as const) : Effect.succeed(calls)))
          )
        )
        const first = yield* Effect.all(Array.from({ length: 10 }, () => Effect.either(fn({ author: 1, page: 1 }))), {
          concurrency: "unbounded"
        })
        expect(first.every((result) => result._tag === "Left")).toBe(true)
        expect(yield* fn({ author: 1, page: 1 })).toBe(2)
        expect(yield* fn({ author: 1, page: 1 })).toBe(2)
        expect(calls).toBe(2)
      }).pipe(Effect.provide(CacheStore.layerMemory())))

    it.live("an interrupted leader does not interrupt its waiters: one of them computes", () =>
      Effect.gen(function*() {
        let calls = 0
        // no computation ends before the leader is interrupted: a margin no loaded machine eats
        const release = yield* Deferred.make<void>()
        const fn = Cached.cached({ key: Posts })((_: { readonly author: number; readonly page: number }) =>
          Deferred.await(release).pipe(Effect.zipRight(Effect.sync(() => ++calls)))
        )
        const leader = yield* Effect.fork(fn({ author: 1, page: 1 }))
        yield* Effect.sleep("5 millis")
        const waiters = yield* Effect.fork(
          Effect.all([fn({ author: 1, page: 1 }), fn({ author: 1, page: 1 })], { concurrency: "unbounded" })
        )
        yield* Effect.sleep("5 millis")
        const leaderExit = yield* Fiber.interrupt(leader)
        expect(Exit.isInterrupted(leaderExit)).toBe(true)
        yield* Deferred.succeed(release, void 0)
        // the leader never finished its computation; a waiter ran it again, once
        expect(yield* Fiber.join(waiters)).toEqual([1, 1])
        expect(calls).toBe(1)
      }).pipe(Effect.provide(CacheStore.layerMemory())))
  })

  describe("guarded fill", () => {
    const gated = Effect.gen(function*() {
      const started = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      let calls = 0
      const fn = Cached.cached({ key: Posts })((_: { readonly author: number; readonly page: number }) =>
        Effect.suspend(() => {
          const n = ++calls
          return n === 1
            ? Effect.zipRight(Deferred.succeed(started, void 0), Effect.as(Deferred.await(release), "before"))
            : Effect.succeed(`after#${n}`)
        })
      )
      return { fn, started, release }
    })
    type Gated = Effect.Effect.Success<typeof gated>["fn"]

    for (
      const [name, invalidate] of [
        ["an exact delete", (fn: Gated) => fn.delete({ author: 1, page: 1 })],
        ["a partition wipe", (fn: Gated) => fn.deletePartition({ author: 1 })],
        ["a namespace wipe", (fn: Gated) => fn.invalidateAll]
      ] as const
    ) {
      it.effect(`a computation that began before ${name} is returned but not stored`, () =>
        Effect.gen(function*() {
          const { fn, started, release } = yield* gated
          const fiber = yield* Effect.fork(fn({ author: 1, page: 1 }))
          yield* Deferred.await(started)
          yield* invalidate(fn)
          const late = yield* Effect.fork(fn.withStatus({ author: 1, page: 1 }))
          yield* Deferred.succeed(release, void 0)
          expect(yield* Fiber.join(fiber)).toBe("before")
          // a read that began after the invalidation did not join the older computation
          expect(statusOf(yield* Fiber.join(late))).toEqual(["Miss", "after#2"])
          expect(yield* fn({ author: 1, page: 1 })).toBe("after#2")
          const skipped = yield* Metric.value(Metric.tagged(CacheMetrics.fillsSkipped, "cache", "posts"))
          expect(skipped.count).toBeGreaterThan(0)
        }).pipe(Effect.provide(TestLayer)))
    }
  })

  describe("fail-open", () => {
    it.effect("a failing store never fails a call: it computes, returns and counts", () =>
      Effect.gen(function*() {
        const cache = yield* TestCache.TestCache
        const errors = Metric.tagged(CacheMetrics.errors, "cache", "posts")
        const before = (yield* Metric.value(errors)).count
        const { fn, calls } = counting((_, n) => n)
        yield* cache.failNext(2)
        expect(statusOf(yield* fn.withStatus({ author: 1, page: 1 }))).toEqual(["Miss", 1])
        expect(statusOf(yield* fn.withStatus({ author: 1, page: 1 }))).toEqual(["Miss", 2])
        expect((yield* Metric.value(errors)).count - before).toBe(2)
        expect(yield* fn({ author: 1, page: 1 })).toBe(3)
        expect(statusOf(yield* fn.withStatus({ author: 1, page: 1 }))).toEqual(["Hit", 3])
        expect(calls()).toBe(3)
      }).pipe(Effect.provide(TestLayer)))

    it.effect("a store slower than the operation timeout is given up on", () =>
      Effect.gen(function*() {
        const cache = yield* TestCache.TestCache
        const { fn } = counting((_, n) => n)
        yield* cache.delayNext(1, "10 seconds")
        const fiber = yield* Effect.fork(fn.withStatus({ author: 1, page: 1 }))
        yield* TestClock.adjust("100 millis")
        expect(statusOf(yield* Fiber.join(fiber))).toEqual(["Miss", 1])
      }).pipe(Effect.provide(TestCache.layer().pipe(Layer.provide(CacheSettings.layer({ operationTimeout: "100 millis" }))))))

    it.effect("with failOpen off, a store failure is a defect carrying the CacheStoreError", () =>
      Effect.gen(function*() {
        const cache = yield* TestCache.TestCache
        const { fn } = counting((_, n) => n)
        yield* cache.failNext(1)
        const exit = yield* Effect.exit(fn({ author: 1, page: 1 }))
        expect(Exit.isFailure(exit) && Cause.isDie(exit.cause)).toBe(true)
        const defect = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
        expect((defect as { readonly _tag: string })._tag).toBe("CacheStoreError")
      }).pipe(Effect.provide(TestCache.layer()), Effect.provide(CacheSettings.layer({ failOpen: false }))))
  })

  describe("values", () => {
    const User = Schema.Struct({ name: Schema.String, joined: Schema.Date })

    it.effect("a Schema encodes what is stored and decodes what is read", () =>
      Effect.gen(function*() {
        const { fn } = counting((_, n) => ({ name: `u${n}`, joined: new Date(n) }), { value: User })
        yield* fn({ author: 1, page: 1 })
        const hit = yield* fn.withStatus({ author: 1, page: 1 })
        expect(hit.status).toBe("Hit")
        expect(hit.value.joined).toBeInstanceOf(Date)
        expect(hit.value).toEqual({ name: "u1", joined: new Date(1) })
      }).pipe(Effect.provide(TestLayer)))

    it.effect("a stored value that no longer decodes is a miss, and is replaced", () =>
      Effect.gen(function*() {
        const loose = counting((_, n) => ({ name: n, joined: "not a date" }))
        yield* loose.fn({ author: 1, page: 1 })
        const strict = Cached.cached({ key: Posts, value: User })(() =>
          Effect.succeed({ name: "ok", joined: new Date(5) })
        )
        // the next deploy's definition runs in another process: on a store of its own over the same entries
        expect((yield* anotherProcess(strict.withStatus({ author: 1, page: 1 }))).status).toBe("Miss")
        expect(statusOf(yield* anotherProcess(strict.withStatus({ author: 1, page: 1 })))).toEqual([
          "Hit", { name: "ok", joined: new Date(5) }
        ])
      }).pipe(Effect.provide(TestLayer)))

    it.effect("without a Schema, a value JSON cannot hold is returned, not stored, and counted", () =>
      Effect.gen(function*() {
        const errors = Metric.tagged(CacheMetrics.errors, "cache", "posts")
        const before = (yield* Metric.value(errors)).count
        const { fn, calls } = counting((_, n) => ({ at: new Date(n) }))
        expect(yield* fn({ author: 1, page: 1 })).toEqual({ at: new Date(1) })
        expect(yield* fn({ author: 1, page: 1 })).toEqual({ at: new Date(2) })
        expect(calls()).toBe(2)
        expect((yield* Metric.value(errors)).count - before).toBe(2)
      }).pipe(Effect.provide(TestLayer)))
  })

  describe("management", () => {
    it.effect("delete, deletePartition and invalidateAll wipe what they name", () =>
      Effect.gen(function*() {
        const { fn } = counting((input, n) => `${input.author}/${input.page}#${n}`)
        const warm = Effect.forEach([[1, 1], [1, 2], [2, 1]] as const, ([author, page]) => fn({ author, page }))
        const statuses = Effect.forEach([[1, 1], [1, 2], [2, 1]] as const, ([author, page]) =>
          Effect.map(fn.withStatus({ author, page }), (r) => r.status))
        yield* warm
        yield* fn.delete({ author: 1, page: 1 })
        expect(yield* statuses).toEqual(["Miss", "Hit", "Hit"])
        yield* fn.deletePartition({ author: 1 })
        expect(yield* statuses).toEqual(["Miss", "Miss", "Hit"])
        yield* fn.invalidateAll
        expect(yield* statuses).toEqual(["Miss", "Miss", "Miss"])
      }).pipe(Effect.provide(TestLayer)))

    it.effect("peek reads without computing; bypass computes without the cache; refresh recomputes", () =>
      Effect.gen(function*() {
        const { fn, calls } = counting((_, n) => n)
        expect(yield* fn.peek({ author: 1, page: 1 })).toEqual(Option.none())
        expect(yield* fn({ author: 1, page: 1 })).toBe(1)
        expect(yield* fn.peek({ author: 1, page: 1 })).toEqual(Option.some(1))
        expect(yield* fn.bypass({ author: 1, page: 1 })).toBe(2)
        expect(yield* fn({ author: 1, page: 1 })).toBe(1)
        expect(yield* fn.refresh({ author: 1, page: 1 })).toBe(3)
        expect(yield* fn({ author: 1, page: 1 })).toBe(3)
        expect(calls()).toBe(3)
        expect(yield* fn.keyFor({ author: 1, page: 1 })).toBe("cachefx:posts:1:#1:#1")
      }).pipe(Effect.provide(TestLayer)))

    it.effect("a name apart from the namespace keeps its own keys, partitions and namespace", () =>
      Effect.gen(function*() {
        const a = Cached.cached({ key: Posts })((_: { readonly author: number; readonly page: number }) =>
          Effect.succeed("a")
        )
        const b = Cached.cached({ key: Posts, name: "post-titles" })(
          (_: { readonly author: number; readonly page: number }) => Effect.succeed("b")
        )
        expect(yield* b.keyFor({ author: 1, page: 1 })).toBe("cachefx:posts:#@post-titles:1:#1:#1")
        yield* a({ author: 1, page: 1 })
        expect(yield* b({ author: 1, page: 1 })).toBe("b")
        yield* a.deletePartition({ author: 1 })
        yield* a.invalidateAll
        expect(yield* b.peek({ author: 1, page: 1 })).toEqual(Option.some("b"))
        yield* KeyConstructor.invalidateAll(Posts)
        expect(yield* b.peek({ author: 1, page: 1 })).toEqual(Option.none())
      }).pipe(Effect.provide(TestLayer)))

    it.effect("with caching disabled every call computes and is a Bypass", () =>
      Effect.gen(function*() {
        const { fn, calls } = counting((_, n) => n)
        yield* fn({ author: 1, page: 1 })
        expect(statusOf(yield* fn.withStatus({ author: 1, page: 1 }))).toEqual(["Bypass", 2])
        expect(calls()).toBe(2)
      }).pipe(Effect.provide(TestLayer), Effect.provide(CacheSettings.layer({ enabled: false }))))

    it("rejects, at compile time, a function whose input lacks an input of the key", () => {
      const wrap = Cached.cached({ key: Posts })
      // @ts-expect-error: the function's input has no `page`
      const check = () => wrap((input: { readonly author: number }) => Effect.succeed(input.author))
      expect(typeof check).toBe("function")
    })

    it.effect("wraps a single effect", () =>
      Effect.gen(function*() {
        let calls = 0
        const config = Effect.sync(() => ({ theme: "dark", n: ++calls })).pipe(
          Cached.cached({ key: KeyConstructor.make({ namespace: "config" }), ttl: "1 hour" })
        )
        expect(yield* config).toEqual({ theme: "dark", n: 1 })
        expect(yield* config).toEqual({ theme: "dark", n: 1 })
        expect(calls).toBe(1)
      }).pipe(Effect.provide(TestLayer)))
  })
})
