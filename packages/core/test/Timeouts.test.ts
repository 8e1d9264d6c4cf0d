import { describe, expect, expectTypeOf, it } from "@effect/vitest"
import { Cached, CacheError, KeyConstructor, KeyField, TestCache, Ttl } from "@cachefx/core"
import { Cause, Deferred, type Duration, Effect, Exit, Fiber, Option, TestClock } from "effect"

const Posts = KeyConstructor.make({
  namespace: "posts",
  fields: [KeyField.arg("author", { partition: true }), KeyField.arg("page")]
})

type Post = { readonly author: number; readonly page: number }

const post: Post = { author: 1, page: 1 }

const swr = Ttl.staleWhileRevalidate({ fresh: "10 seconds", stale: "1 minute" })

/** A cached function whose first computation is instant and every later one takes `slow` (on the test clock). */
const slowAfterFirst = (slow: Duration.DurationInput, options: Cached.Timeout) => {
  let calls = 0
  const fn = Cached.cached({ key: Posts, ttl: swr, timeout: options })((_: Post) =>
    Effect.suspend(() => {
      const n = ++calls
      return n === 1 ? Effect.succeed(n) : Effect.as(Effect.sleep(slow), n)
    })
  )
  return { fn, calls: () => calls }
}

const statusOf = <A>(result: Cached.CacheResult<A>) => [result.status, result.value] as const

/** Lets forked fibers run up to their next wait on the test clock. */
const settle = Effect.yieldNow().pipe(Effect.repeatN(20))

const TestLayer = TestCache.layer()

describe("timeout.soft", () => {
  it.effect("a stale hit waits up to soft for the refresh, then is served stale; the refresh fills behind it", () =>
    Effect.gen(function*() {
      const { calls, fn } = slowAfterFirst("1 second", { soft: "100 millis" })
      yield* fn(post)
      yield* TestClock.adjust("11 seconds")
      const caller = yield* Effect.fork(fn.withStatus(post))
      yield* TestClock.adjust("99 millis")
      expect(caller.unsafePoll()).toBeNull()
      yield* TestClock.adjust("1 millis")
      expect(statusOf(yield* Fiber.join(caller))).toEqual(["Stale", 1])
      yield* TestClock.adjust("900 millis")
      yield* settle
      expect(statusOf(yield* fn.withStatus(post))).toEqual(["Hit", 2])
      expect(calls()).toBe(2)
    }).pipe(Effect.provide(TestLayer)))

  it.effect("a refresh that comes within soft is served, fresh", () =>
    Effect.gen(function*() {
      const { calls, fn } = slowAfterFirst("50 millis", { soft: "100 millis" })
      yield* fn(post)
      yield* TestClock.adjust("11 seconds")
      const caller = yield* Effect.fork(fn.withStatus(post))
      yield* TestClock.adjust("50 millis")
      expect(statusOf(yield* Fiber.join(caller))).toEqual(["Miss", 2])
      expect(statusOf(yield* fn.withStatus(post))).toEqual(["Hit", 2])
      expect(calls()).toBe(2)
    }).pipe(Effect.provide(TestLayer)))

  it.effect("a caller that comes while the refresh runs waits soft too, and the refresh runs once", () =>
    Effect.gen(function*() {
      const { calls, fn } = slowAfterFirst("1 second", { soft: "100 millis" })
      yield* fn(post)
      yield* TestClock.adjust("11 seconds")
      const first = yield* Effect.fork(fn.withStatus(post))
      yield* TestClock.adjust("300 millis")
      expect(statusOf(yield* Fiber.join(first))).toEqual(["Stale", 1])
      const second = yield* Effect.fork(fn.withStatus(post))
      yield* TestClock.adjust("100 millis")
      expect(statusOf(yield* Fiber.join(second))).toEqual(["Stale", 1])
      yield* TestClock.adjust("600 millis")
      yield* settle
      expect(statusOf(yield* fn.withStatus(post))).toEqual(["Hit", 2])
      expect(calls()).toBe(2)
    }).pipe(Effect.provide(TestLayer)))

  it.effect("a refresh that fails within soft serves the stale value, and the next stale hit refreshes again", () =>
    Effect.gen(function*() {
      let calls = 0
      const fn = Cached.cached({ key: Posts, ttl: swr, timeout: { soft: "100 millis" } })((_: Post) =>
        Effect.suspend(() => ++calls === 2 ? Effect.fail("boom" as const) : Effect.succeed(calls))
      )
      yield* fn(post)
      yield* TestClock.adjust("11 seconds")
      expect(statusOf(yield* fn.withStatus(post))).toEqual(["Stale", 1])
      expect(statusOf(yield* fn.withStatus(post))).toEqual(["Miss", 3])
    }).pipe(Effect.provide(TestLayer)))
})

describe("stale-while-revalidate without soft", () => {
  it.effect("a caller that comes while the background refresh runs is served the stale value at once", () =>
    Effect.gen(function*() {
      const gate = yield* Deferred.make<void>()
      let calls = 0
      const fn = Cached.cached({ key: Posts, ttl: swr })((_: Post) =>
        Effect.suspend(() => ++calls === 1 ? Effect.succeed(1) : Effect.as(Deferred.await(gate), calls))
      )
      yield* fn(post)
      yield* TestClock.adjust("11 seconds")
      expect(statusOf(yield* fn.withStatus(post))).toEqual(["Stale", 1])
      yield* settle // the refresh is under way, held by the gate
      expect(statusOf(yield* fn.withStatus(post))).toEqual(["Stale", 1])
      yield* Deferred.succeed(gate, void 0)
      yield* settle
      expect(statusOf(yield* fn.withStatus(post))).toEqual(["Hit", 2])
      expect(calls).toBe(2)
    }).pipe(Effect.provide(TestLayer)))
})

describe("timeout.hard", () => {
  const slow = (hard: Duration.DurationInput, compute: Duration.DurationInput) => {
    let calls = 0
    const fn = Cached.cached({ key: Posts, name: "hard", timeout: { hard } })((_: Post) =>
      Effect.zipRight(Effect.sleep(compute), Effect.sync(() => ++calls))
    )
    return { fn, calls: () => calls }
  }

  it.effect("a miss fails with a CacheTimeoutError after hard; the computation fills, and the next call hits", () =>
    Effect.gen(function*() {
      const { calls, fn } = slow("1 second", "5 seconds")
      const caller = yield* Effect.fork(fn(post))
      yield* TestClock.adjust("1 second")
      const exit = yield* Fiber.await(caller)
      const error = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
      expect(Option.map(error, (e) => e._tag)).toEqual(Option.some("CacheTimeoutError"))
      const message = Option.getOrThrow(error).message
      expect(message).toContain(`"hard"`)
      expect(message).toContain(yield* fn.keyFor(post))
      expect(message).toContain("1s")
      yield* TestClock.adjust("4 seconds")
      yield* settle
      expect(statusOf(yield* fn.withStatus(post))).toEqual(["Hit", 1])
      expect(calls()).toBe(1)
    }).pipe(Effect.provide(TestLayer)))

  it.effect("each caller of one computation waits under its own bound", () =>
    Effect.gen(function*() {
      const { calls, fn } = slow("1 second", "1200 millis")
      const early = yield* Effect.fork(fn(post))
      yield* TestClock.adjust("500 millis")
      const late = yield* Effect.fork(fn(post))
      yield* TestClock.adjust("500 millis")
      const earlyExit = yield* Fiber.await(early)
      expect(Exit.isFailure(earlyExit) && Cause.failureOption(earlyExit.cause).pipe(Option.isSome)).toBe(true)
      expect(late.unsafePoll()).toBeNull()
      yield* TestClock.adjust("200 millis")
      expect(yield* Fiber.join(late)).toBe(1)
      expect(calls()).toBe(1)
    }).pipe(Effect.provide(TestLayer)))

  it.effect("interrupting every caller interrupts no computation: it finishes and fills", () =>
    Effect.gen(function*() {
      const { calls, fn } = slow("10 seconds", "1 second")
      const callers = yield* Effect.forkAll([fn(post), fn(post)])
      yield* TestClock.adjust("100 millis")
      yield* Fiber.interrupt(callers)
      yield* TestClock.adjust("900 millis")
      yield* settle
      expect(statusOf(yield* fn.withStatus(post))).toEqual(["Hit", 1])
      expect(calls()).toBe(1)
    }).pipe(Effect.provide(TestLayer)))

  it.effect("with soft, a stale value is served after soft and never fails", () =>
    Effect.gen(function*() {
      const { fn } = slowAfterFirst("5 seconds", { soft: "100 millis", hard: "1 second" })
      yield* fn(post)
      yield* TestClock.adjust("11 seconds")
      const caller = yield* Effect.fork(fn.withStatus(post))
      yield* TestClock.adjust("100 millis")
      expect(statusOf(yield* Fiber.join(caller))).toEqual(["Stale", 1])
    }).pipe(Effect.provide(TestLayer)))
})

describe("without timeout options", () => {
  it.effect("a caller waits for a miss however long it takes, and a stale value is served at once", () =>
    Effect.gen(function*() {
      const { calls, fn } = slowAfterFirst("1 hour", {})
      const first = yield* Effect.fork(fn.withStatus(post))
      expect(statusOf(yield* Fiber.join(first))).toEqual(["Miss", 1])
      yield* TestClock.adjust("11 seconds")
      expect(statusOf(yield* fn.withStatus(post))).toEqual(["Stale", 1])
      yield* TestClock.adjust("61 seconds") // past the stale window: a miss, while the refresh still runs
      const slow = yield* Effect.fork(fn.withStatus(post))
      yield* TestClock.adjust("58 minutes") // the refresh, started at 11 s, ends at 1 hour 11 s
      expect(slow.unsafePoll()).toBeNull()
      yield* TestClock.adjust("1 minute")
      expect(statusOf(yield* Fiber.join(slow))).toEqual(["Miss", 2])
      expect(calls()).toBe(2)
    }).pipe(Effect.provide(TestLayer)))
})

describe("timeout options", () => {
  it("are checked when the cached value is defined", () => {
    const define = (timeout: Cached.Timeout) => () =>
      Cached.cached({ key: Posts, timeout })((_: Post) => Effect.succeed(1))
    expect(define({ soft: "1 second", hard: "1 second" })).toThrow(CacheError.CacheDefinitionError)
    expect(define({ soft: "1 second", hard: "1 second" })).toThrow("soft (1s) must be shorter than hard (1s)")
    expect(define({ hard: -5 })).toThrow(CacheError.CacheDefinitionError)
    expect(define({ soft: "soon" as never })).toThrow(`cached "posts" timeout.soft`)
    expect(define({ soft: "100 millis", hard: "1 second" })).not.toThrow()
  })

  it("add CacheTimeoutError to the errors only when hard is set", () => {
    const compute = (_: Post) => Effect.fail("boom" as const)
    const plain = Cached.cached({ key: Posts })(compute)
    const soft = Cached.cached({ key: Posts, timeout: { soft: "1 second" } })(compute)
    const hard = Cached.cached({ key: Posts, timeout: { hard: "1 second" } })(compute)
    const loose = Cached.cached({ key: Posts, timeout: {} as Cached.Timeout })(compute)
    const piped = Effect.succeed(1).pipe(Cached.cached({ key: KeyConstructor.make({ namespace: "one" }), timeout: { hard: 5 } }))
    expectTypeOf<Effect.Effect.Error<ReturnType<typeof plain>>>().toEqualTypeOf<"boom">()
    expectTypeOf<Effect.Effect.Error<ReturnType<typeof soft>>>().toEqualTypeOf<"boom">()
    expectTypeOf<Effect.Effect.Error<ReturnType<typeof hard>>>().toEqualTypeOf<"boom" | CacheError.CacheTimeoutError>()
    expectTypeOf<Effect.Effect.Error<ReturnType<typeof loose>>>().toEqualTypeOf<"boom" | CacheError.CacheTimeoutError>()
    expectTypeOf<Effect.Effect.Error<typeof piped>>().toEqualTypeOf<CacheError.CacheTimeoutError>()
  })
})
