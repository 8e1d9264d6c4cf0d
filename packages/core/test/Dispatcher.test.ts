import { describe, expect, it, layer } from "@effect/vitest"
import {
  Cached,
  Dispatcher,
  Invalidation,
  InvalidationEngine,
  InvalidationEvent,
  InvalidationRule,
  KeyConstructor,
  KeyField,
  TestCache
} from "@cachefx/core"
import { type Duration, Effect, ExecutionStrategy, Exit, Fiber, Layer, Option, Schema, Scope, TestClock } from "effect"

const Users = KeyConstructor.make({ namespace: "users", fields: [KeyField.arg("id")] })

const usersCache = (dispatcher: string, dispatcherConfig?: Readonly<Record<string, unknown>>) =>
  Cached.cached({
    key: Users,
    invalidatesOn: [InvalidationRule.make({ table: "users", fieldMapping: { id: "id" }, dispatcher, dispatcherConfig })]
  })((input: { readonly id: number }) => Effect.succeed(input.id))

const renamed = (id: number) =>
  InvalidationEvent.make({ table: "users", operation: "update", rows: [{ id, name: "new" }], changed: ["name"] })

/** Keys deleted so far (deletes that completed). */
const deleted = Effect.flatMap(TestCache.TestCache, (cache) => cache.log).pipe(
  Effect.map((log) => log.filter((op) => op.op === "invalidate" && op.scope === "Key" && op.outcome === "done").map((op) => op.target))
)

/** Every store operation from now on takes 200 ms of the test clock (within the operation timeout). */
const slowStore = Effect.flatMap(TestCache.TestCache, (cache) => cache.delayNext(100, "200 millis"))

/** Lets forked fibers (the engine's, the dispatchers') reach their next sleep, then moves the clock. */
const advance = (duration: Duration.DurationInput) => {
  const settle = Effect.yieldNow().pipe(Effect.repeatN(50))
  return settle.pipe(Effect.zipRight(TestClock.adjust(duration)), Effect.zipRight(settle))
}

/** Builds the engine with a dispatcher layer in a scope of the test's own, which the test may close early. */
const open = <A>(dispatcher: string, dispatchers: Layer.Layer<A>) =>
  Effect.gen(function*() {
    const scope = yield* Scope.fork(yield* Effect.scope, ExecutionStrategy.sequential)
    const context = yield* Layer.buildWithScope(
      InvalidationEngine.layer({ caches: [usersCache(dispatcher)] }).pipe(Layer.provide(dispatchers)),
      scope
    )
    const publish = (event: InvalidationEvent.InvalidationEvent) => Effect.provide(Invalidation.publish(event), context)
    const publishTracked = (event: InvalidationEvent.InvalidationEvent) =>
      Effect.provide(Invalidation.publishTracked(event), context)
    return { scope, publish, publishTracked }
  })

const TestLayer = TestCache.layer()

describe("Dispatcher", () => {
  it.scoped("inline: publish returns once the job is done", () =>
    Effect.gen(function*() {
      yield* slowStore
      const { publish } = yield* open("inline", Layer.empty)
      const publishing = yield* Effect.fork(publish(renamed(1)))
      yield* advance("100 millis")
      expect(yield* Fiber.poll(publishing)).toEqual(Option.none())
      yield* advance("100 millis")
      yield* Fiber.join(publishing)
      expect(yield* deleted).toEqual(["cachefx:users:1:#1"])
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("pool: publish returns once the job is queued; at most `concurrency` jobs run at once", () =>
    Effect.gen(function*() {
      yield* slowStore
      const { publish } = yield* open("pool", Dispatcher.layerPool({ concurrency: 2 }))
      yield* Effect.forEach([1, 2, 3, 4, 5], (id) => publish(renamed(id)), { discard: true })
      expect(yield* deleted).toEqual([])
      yield* advance("200 millis")
      expect(yield* deleted).toHaveLength(2)
      yield* advance("200 millis")
      expect(yield* deleted).toHaveLength(4)
      yield* advance("200 millis")
      expect(yield* deleted).toHaveLength(5)
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("pool: closing runs every queued job before the layer closes", () =>
    Effect.gen(function*() {
      yield* slowStore
      const { publish, scope } = yield* open("pool", Dispatcher.layerPool({ concurrency: 1 }))
      yield* Effect.forEach([1, 2, 3], (id) => publish(renamed(id)), { discard: true })
      const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
      yield* advance("400 millis")
      expect(yield* Fiber.poll(closing)).toEqual(Option.none())
      expect(yield* deleted).toHaveLength(2)
      yield* advance("200 millis")
      yield* Fiber.join(closing)
      expect(yield* deleted).toEqual(["cachefx:users:1:#1", "cachefx:users:1:#2", "cachefx:users:1:#3"])
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("pool: a named pool serves the rules that name it", () =>
    Effect.gen(function*() {
      const { publish } = yield* open("slow-lane", Dispatcher.layerPool({ concurrency: 1, name: "slow-lane" }))
      yield* publish(renamed(1))
      yield* advance("1 millis")
      expect(yield* deleted).toEqual(["cachefx:users:1:#1"])
    }).pipe(Effect.provide(TestLayer)))

  it("pool: a concurrency below 1 is a definition error", () => {
    expect(() => Dispatcher.layerPool({ concurrency: 0 })).toThrow("concurrency must be a whole number")
  })

  it.scoped("background: publish returns at once, jobs run concurrently, closing waits for them", () =>
    Effect.gen(function*() {
      yield* slowStore
      const { publish, scope } = yield* open("background", Dispatcher.layerBackground)
      yield* Effect.forEach([1, 2, 3], (id) => publish(renamed(id)), { discard: true })
      expect(yield* deleted).toEqual([])
      const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
      yield* advance("100 millis")
      expect(yield* Fiber.poll(closing)).toEqual(Option.none())
      yield* advance("100 millis")
      yield* Fiber.join(closing)
      expect(yield* deleted).toHaveLength(3)
    }).pipe(Effect.provide(TestLayer)))

  describe("a tracked publish: its receipt says when every job of the event was applied", () => {
    it.scoped("inline: applied when publish returns", () =>
      Effect.gen(function*() {
        const { publishTracked } = yield* open("inline", Layer.empty)
        const receipt = yield* publishTracked(renamed(1))
        expect(yield* receipt.poll).toEqual(Option.some(true))
      }).pipe(Effect.provide(TestLayer)))

    it.scoped("pool: not applied while the job waits in the queue or runs; applied once it ran", () =>
      Effect.gen(function*() {
        yield* slowStore
        const { publishTracked } = yield* open("pool", Dispatcher.layerPool({ concurrency: 1 }))
        const first = yield* publishTracked(renamed(1))
        const second = yield* publishTracked(renamed(2))
        expect(yield* first.poll).toEqual(Option.none())
        yield* advance("200 millis")
        expect(yield* first.poll).toEqual(Option.some(true))
        expect(yield* second.poll).toEqual(Option.none())
        yield* advance("200 millis")
        expect(yield* second.applied).toBe(true)
      }).pipe(Effect.provide(TestLayer)))

    it.scoped("pool: a job that ran out of retries is not applied", () =>
      Effect.gen(function*() {
        yield* Effect.flatMap(TestCache.TestCache, (cache) => cache.failNext(5))
        const { publishTracked } = yield* open("pool", Dispatcher.layerPool({ concurrency: 1 }))
        const receipt = yield* publishTracked(renamed(1))
        yield* advance("1 second")
        expect(yield* receipt.poll).toEqual(Option.none())
        yield* advance("500 millis")
        expect(yield* receipt.poll).toEqual(Option.some(false))
      }).pipe(Effect.provide(TestLayer)))

    it.scoped("a durable dispatcher: applied once the broker took the job", () =>
      Effect.gen(function*() {
        const taken: Array<Dispatcher.Job> = []
        const durable = Layer.succeed(Dispatcher.tag("durable"), {
          name: "durable",
          durable: true,
          dispatch: ({ job }) => Effect.sync(() => taken.push(job))
        })
        const { publishTracked } = yield* open("durable", durable)
        const receipt = yield* publishTracked(renamed(1))
        expect(taken).toHaveLength(1)
        expect(yield* receipt.poll).toEqual(Option.some(true))
        expect(yield* deleted).toEqual([])
      }).pipe(Effect.provide(TestLayer)))

    it.scoped("an event no rule matches is applied at once", () =>
      Effect.gen(function*() {
        const { publishTracked } = yield* open("pool", Dispatcher.layerPool({ concurrency: 1 }))
        const receipt = yield* publishTracked(InvalidationEvent.make({ table: "other", operation: "insert", rows: [] }))
        expect(yield* receipt.poll).toEqual(Option.some(true))
      }).pipe(Effect.provide(TestLayer)))
  })

  describe("a broker dispatcher", () => {
    /** A stand-in broker: dispatch serializes the job onto a list; a worker runs it later. */
    const sent: Array<{ readonly wire: string; readonly config: unknown }> = []
    const BrokerLive = Layer.succeed(Dispatcher.tag("broker"), {
      name: "broker",
      dispatch: ({ config, job }) =>
        Effect.sync(() => {
          sent.push({ wire: JSON.stringify(Schema.encodeSync(Dispatcher.Job)(job)), config })
        })
    })
    const Live = InvalidationEngine.layer({ caches: [usersCache("broker", { queue: "cache-invalidation" })] }).pipe(
      Layer.provide(BrokerLive),
      Layer.provideMerge(TestLayer)
    )

    layer(Live)("with the engine", (it) => {
      it.effect("receives serializable jobs that a worker runs with InvalidationEngine.run", () =>
        Effect.gen(function*() {
          yield* Invalidation.publish(renamed(7))
          expect(yield* deleted).toEqual([])
          expect(sent.map((message) => message.config)).toEqual([{ queue: "cache-invalidation" }])
          for (const message of sent.splice(0)) {
            const job = Schema.decodeUnknownSync(Dispatcher.Job)(JSON.parse(message.wire))
            expect(job).toMatchObject({ cache: "users", rule: "users(id=id)" })
            yield* InvalidationEngine.run(job)
          }
          expect(yield* deleted).toEqual(["cachefx:users:1:#7"])
        }))
    })
  })
})
