import { describe, expect, it } from "@effect/vitest"
import { Cached, CacheMetrics, CacheSettings, CacheStore, KeyConstructor, KeyField, TestCache, Ttl } from "@cachefx/core"
import { Effect, Exit, Fiber, Metric, Option, TestClock, type Tracer } from "effect"
import { recordingTracer } from "./recordingTracer.js"

const Users = KeyConstructor.make({ namespace: "call-telemetry", fields: [KeyField.arg("id")] })
type User = { readonly id: number }

/** The count and the sum (ms) of cache `name`'s call timings under `status`. */
const timings = (name: string, status: Cached.CacheStatus) =>
  Effect.map(
    Metric.value(CacheMetrics.callDuration.pipe(Metric.tagged("cache", name), Metric.tagged("status", status))),
    (state) => ({ count: state.count, sum: state.sum })
  )

/** How many calls of cache `name` were timed under each status since `before`. */
const countsSince = (name: string) =>
  Effect.gen(function*() {
    const statuses = ["Hit", "Miss", "Stale", "Bypass", "Refresh"] as const
    const before = yield* Effect.forEach(statuses, (status) => timings(name, status))
    return Effect.map(
      Effect.forEach(statuses, (status) => timings(name, status)),
      (after) => Object.fromEntries(statuses.map((status, i) => [status, after[i]!.count - before[i]!.count]))
    )
  })

const userOf = (name: string, ttl: Ttl.TtlInput = "1 minute") =>
  Cached.cached({ key: Users, name, ttl })((input: User) => Effect.succeed(`user ${input.id}`))

/** The `cachefx.cached` spans, with their status attribute. */
const callSpans = (spans: ReadonlyArray<Tracer.Span>) =>
  spans.filter((span) => span.name === "cachefx.cached").map((span) => ({
    cache: span.attributes.get("cachefx.cache"),
    status: span.attributes.get("cachefx.status")
  }))

const parentName = (span: Tracer.Span) =>
  Option.match(span.parent, { onNone: () => undefined, onSome: (parent) => parent._tag === "Span" ? parent.name : undefined })

describe("the span of a call", () => {
  it.effect("is cachefx.cached, named by cache and status, parent of the store's and the computation's spans", () => {
    const { spans, tracer } = recordingTracer()
    return Effect.gen(function*() {
      const store = yield* CacheStore.makeMemory({ name: "traced-calls" })
      const fn = userOf("traced")
      yield* Effect.gen(function*() {
        yield* fn({ id: 1 })
        yield* fn({ id: 1 })
        yield* fn.withStatus({ id: 1 })
        yield* fn.refresh({ id: 1 })
      }).pipe(Effect.provideService(CacheStore.CacheStore, store), Effect.withSpan("caller"))
      expect(callSpans(spans)).toEqual([
        { cache: "traced", status: "Miss" },
        { cache: "traced", status: "Hit" },
        { cache: "traced", status: "Hit" },
        { cache: "traced", status: "Refresh" }
      ])
      const named = (name: string) => spans.filter((span) => span.name === name)
      expect(named("cachefx.cached").map(parentName)).toEqual(["caller", "caller", "caller", "caller"])
      expect(named("cachefx.store.get").map(parentName)).toEqual(["cachefx.cached", "cachefx.cached", "cachefx.cached", "cachefx.cached"])
      expect(named("cachefx.store.set").map(parentName)).toEqual(["cachefx.cached", "cachefx.cached"])
      expect(named("cachefx.compute").map(parentName)).toEqual(["cachefx.cached", "cachefx.cached"])
      expect(named("cachefx.cached").every((span) => span.status._tag === "Ended")).toBe(true)
    }).pipe(Effect.withTracer(tracer))
  })

  it.effect("names a stale hit Stale, a call with caching disabled Bypass, a failed call Miss with its failure", () => {
    const { spans, tracer } = recordingTracer()
    return Effect.gen(function*() {
      const stale = userOf("traced-stale", Ttl.staleWhileRevalidate({ fresh: "10 seconds", stale: "1 minute" }))
      yield* stale({ id: 1 })
      yield* TestClock.adjust("11 seconds")
      yield* stale({ id: 1 })
      yield* userOf("traced-bypass")({ id: 1 }).pipe(Effect.provide(CacheSettings.layer({ enabled: false })))
      const failing = Cached.cached({ key: Users, name: "traced-failing" })((_: User) => Effect.fail("down" as const))
      expect(yield* Effect.exit(failing({ id: 1 }))).toEqual(Exit.fail("down"))
      const calls = callSpans(spans).filter((span) => span.cache !== "traced-stale" || span.status !== "Miss")
      expect(calls).toEqual([
        { cache: "traced-stale", status: "Stale" },
        { cache: "traced-bypass", status: "Bypass" },
        { cache: "traced-failing", status: "Miss" }
      ])
      const failed = spans.find((span) => span.name === "cachefx.cached" && span.attributes.get("cachefx.cache") === "traced-failing")!
      expect(failed.status._tag === "Ended" && Exit.isFailure(failed.status.exit)).toBe(true)
    }).pipe(Effect.provide(TestCache.layer()), Effect.withTracer(tracer))
  })

  it.effect("is not made with Effect's built-in tracer only", () => {
    return Effect.gen(function*() {
      const fn = Cached.cached({ key: Users, name: "untraced" })((_: User) =>
        Effect.map(Effect.currentSpan, (span) => span.name)
      )
      expect(yield* fn({ id: 1 }).pipe(Effect.withSpan("caller"))).toBe("caller")
    }).pipe(Effect.provide(CacheStore.layerMemory()))
  })

  it.effect("peek, keyFor and many are not calls: no cachefx.cached span", () => {
    const { started, tracer } = recordingTracer()
    return Effect.gen(function*() {
      const fn = userOf("traced-others")
      yield* fn.peek({ id: 1 })
      yield* fn.peekEntry({ id: 1 })
      yield* fn.keyFor({ id: 1 })
      yield* fn.many([{ id: 1 }, { id: 2 }])
      expect(started).not.toContain("cachefx.cached")
      expect(started).toContain("cachefx.many")
    }).pipe(Effect.provide(CacheStore.layerMemory()), Effect.withTracer(tracer))
  })
})

describe("cachefx_call_duration", () => {
  it.effect("times every call by cache and status, a hit answered in the step that builds its key included", () =>
    Effect.gen(function*() {
      const counts = yield* countsSince("timed")
      const fn = userOf("timed", Ttl.staleWhileRevalidate({ fresh: "10 seconds", stale: "1 minute" }))
      yield* fn({ id: 1 }) // Miss
      yield* fn({ id: 1 }) // Hit, answered at once by the memory store (getSync)
      yield* fn.withStatus({ id: 1 }) // Hit
      yield* fn.refresh({ id: 1 }) // Refresh
      yield* TestClock.adjust("11 seconds")
      yield* fn({ id: 1 }) // Stale
      yield* fn({ id: 2 }).pipe(Effect.provide(CacheSettings.layer({ enabled: false }))) // Bypass
      expect(yield* counts).toEqual({ Hit: 2, Miss: 1, Stale: 1, Bypass: 1, Refresh: 1 })
    }).pipe(Effect.provide(CacheStore.layerMemory())))

  it.effect("times a failed call under Miss, a failed refresh under Refresh, and no interrupted call", () =>
    Effect.gen(function*() {
      const counts = yield* countsSince("timed-failing")
      const fn = Cached.cached({ key: Users, name: "timed-failing" })((input: User) =>
        input.id === 0 ? Effect.never : Effect.fail("down" as const)
      )
      yield* Effect.exit(fn({ id: 1 }))
      yield* Effect.exit(fn.refresh({ id: 1 }))
      const hanging = yield* Effect.fork(fn({ id: 0 }))
      yield* Effect.yieldNow().pipe(Effect.repeatN(10))
      yield* Fiber.interrupt(hanging)
      expect(yield* counts).toEqual({ Hit: 0, Miss: 1, Stale: 0, Bypass: 0, Refresh: 1 })
    }).pipe(Effect.provide(CacheStore.layerMemory())))

  it.effect("times on the fiber's clock, in milliseconds: a miss that sleeps 1 second on the TestClock takes 1000", () =>
    Effect.gen(function*() {
      const before = yield* timings("timed-clock", "Miss")
      const fn = Cached.cached({ key: Users, name: "timed-clock" })((input: User) => Effect.as(Effect.sleep("1 second"), input.id))
      const call = yield* Effect.fork(fn({ id: 1 }))
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(call)).toBe(1)
      const after = yield* timings("timed-clock", "Miss")
      expect(after.count - before.count).toBe(1)
      expect(after.sum - before.sum).toBe(1000)
    }).pipe(Effect.provide(CacheStore.layerMemory())))

  it.live("times on Effect's own clock in milliseconds: a miss that sleeps 30 ms takes at least 30, a memory hit less than 30", () =>
    Effect.gen(function*() {
      const fn = Cached.cached({ key: Users, name: "timed-live" })((input: User) => Effect.as(Effect.sleep("30 millis"), input.id))
      const miss = yield* timings("timed-live", "Miss")
      yield* fn({ id: 1 })
      const missed = yield* timings("timed-live", "Miss")
      expect(missed.sum - miss.sum).toBeGreaterThanOrEqual(29)
      const hit = yield* timings("timed-live", "Hit")
      yield* fn({ id: 1 })
      const hitAfter = yield* timings("timed-live", "Hit")
      expect(hitAfter.count - hit.count).toBe(1)
      expect(hitAfter.sum - hit.sum).toBeGreaterThanOrEqual(0)
      expect(hitAfter.sum - hit.sum).toBeLessThan(30)
    }).pipe(Effect.provide(CacheStore.layerMemory())))

  it.effect("two cached values are timed apart", () =>
    Effect.gen(function*() {
      const left = yield* countsSince("timed-left")
      const right = yield* countsSince("timed-right")
      yield* userOf("timed-left")({ id: 1 })
      const rightFn = userOf("timed-right")
      yield* Effect.forEach([1, 1, 1], (id) => rightFn({ id }))
      expect((yield* left).Miss).toBe(1)
      expect(yield* right).toMatchObject({ Miss: 1, Hit: 2 })
    }).pipe(Effect.provide(CacheStore.layerMemory())))
})
