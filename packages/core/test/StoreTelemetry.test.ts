import { describe, expect, it } from "@effect/vitest"
import { Cached, CacheError, CacheKey, CacheMetrics, CacheSettings, CacheStore, KeyConstructor, KeyField } from "@cachefx/core"
import { Effect, Fiber, Layer, Metric } from "effect"
import { recordingTracer } from "./recordingTracer.js"

const getUser = Cached.cached({
  key: KeyConstructor.make({ namespace: "telemetry-users", fields: [KeyField.arg("id")] }),
  ttl: "1 minute"
})((input: { readonly id: number }) => Effect.succeed(input.id))

/** Operations timed under the store and operation tags, and under a tag of the fiber's own when given. */
const timed = (store: string, operation: string, own?: readonly [key: string, value: string]) => {
  const tagged = CacheMetrics.storeDuration.pipe(Metric.tagged("store", store), Metric.tagged("operation", operation))
  return Metric.value(own === undefined ? tagged : tagged.pipe(Metric.tagged(own[0], own[1]))).pipe(
    Effect.map((state) => state.count)
  )
}

describe("store telemetry", () => {
  it.effect("a tracer that exports sees a span per store operation, named cachefx.store.<operation>", () =>
    Effect.gen(function*() {
      const { started, tracer } = recordingTracer()
      const store = yield* CacheStore.makeMemory({ name: "traced" })
      yield* Effect.gen(function*() {
        yield* getUser({ id: 1 }) // a miss: get, then set
        yield* getUser({ id: 1 }) // a hit: get
        yield* getUser.delete({ id: 1 })
        yield* store.invalidate(CacheKey.namespace("cachefx:telemetry-users"))
      }).pipe(Effect.provideService(CacheStore.CacheStore, store), Effect.withTracer(tracer))
      const storeSpans = started.filter((name) => name.startsWith("cachefx.store."))
      expect(storeSpans).toEqual([
        "cachefx.store.get",
        "cachefx.store.set",
        "cachefx.store.get",
        "cachefx.store.invalidate",
        "cachefx.store.invalidate"
      ])
    }))

  it.effect("withTelemetry times every operation into cachefx_store_operation_duration, tagged with the store and the operation", () =>
    Effect.gen(function*() {
      const before = { get: yield* timed("timed", "get"), set: yield* timed("timed", "set"), memory: yield* timed("inner", "get") }
      const store = CacheStore.withTelemetry(yield* CacheStore.makeMemory({ name: "inner" }), "timed")
      yield* Effect.forEach([1, 2, 2], (id) => getUser({ id })).pipe(Effect.provideService(CacheStore.CacheStore, store))
      expect((yield* timed("timed", "get")) - before.get).toBe(3)
      expect((yield* timed("timed", "set")) - before.set).toBe(2)
      // the memory store itself is not timed: its operations take well under a microsecond
      expect((yield* timed("inner", "get")) - before.memory).toBe(0)
    }))

  it.effect("a failed operation is timed too, and the fiber's own metric labels reach the timing", () =>
    Effect.gen(function*() {
      const memory = yield* CacheStore.makeMemory()
      const unavailable = new CacheError.CacheStoreError({ operation: "invalidate", reason: "Unavailable" })
      const failing = CacheStore.withTelemetry({ ...memory, invalidate: () => Effect.fail(unavailable) }, "failing")
      const wipe = failing.invalidate(CacheKey.namespace("cachefx:telemetry-users"))
      const before = yield* timed("failing", "invalidate")
      expect((yield* Effect.flip(wipe))._tag).toBe("CacheStoreError")
      expect((yield* timed("failing", "invalidate")) - before).toBe(1)
      const tagged = timed("failing", "invalidate", ["tenant", "a"])
      const taggedBefore = yield* tagged
      yield* Effect.ignore(wipe).pipe(Effect.tagMetrics("tenant", "a"))
      expect((yield* tagged) - taggedBefore).toBe(1)
    }))

  it.effect("an operation its caller interrupts is not timed: it answered nothing, as an interrupted call", () =>
    Effect.gen(function*() {
      const memory = yield* CacheStore.makeMemory()
      const hanging = CacheStore.withTelemetry({ ...memory, get: () => Effect.never }, "hanging")
      const key = yield* KeyConstructor.keyFor(KeyConstructor.make({ namespace: "telemetry-hang" }), {})
      const before = yield* timed("hanging", "get")
      const fiber = yield* Effect.fork(hanging.get(key))
      yield* Effect.yieldNow()
      yield* Fiber.interrupt(fiber)
      expect((yield* timed("hanging", "get")) - before).toBe(0)
      // the same operation answered is timed
      yield* CacheStore.withTelemetry(memory, "hanging").get(key)
      expect((yield* timed("hanging", "get")) - before).toBe(1)
    }))

  it.effect("a fiber's own metric labels (Effect.tagMetrics) are added to the store and operation tags", () =>
    Effect.gen(function*() {
      const tenant = timed("tagged", "get", ["tenant", "acme"])
      const before = { tenant: yield* tenant, untagged: yield* timed("tagged", "get") }
      const store = CacheStore.withTelemetry(yield* CacheStore.makeMemory(), "tagged")
      yield* getUser({ id: 7 }).pipe(Effect.provideService(CacheStore.CacheStore, store), Effect.tagMetrics("tenant", "acme"))
      yield* getUser({ id: 7 }).pipe(Effect.provideService(CacheStore.CacheStore, store))
      expect((yield* tenant) - before.tenant).toBe(1)
      expect((yield* timed("tagged", "get")) - before.untagged).toBe(1)
    }))

  it.effect("the memory store reports the entries it holds and the entries it evicted", () =>
    Effect.gen(function*() {
      const entries = Metric.value(CacheMetrics.memoryEntries.pipe(Metric.tagged("store", "gauged")))
      const evictions = Metric.value(CacheMetrics.memoryEvictions.pipe(Metric.tagged("store", "gauged")))
      const evictedBefore = (yield* evictions).count
      const store = yield* CacheStore.makeMemory({ capacity: 3, name: "gauged" })
      const cache = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.provideService(effect, CacheStore.CacheStore, store)
      yield* cache(Effect.forEach([1, 2], (id) => getUser({ id })))
      expect((yield* entries).value).toBe(2)
      yield* cache(Effect.forEach([3, 4, 5], (id) => getUser({ id })))
      expect((yield* entries).value).toBe(3)
      expect((yield* evictions).count - evictedBefore).toBe(2)
      yield* cache(getUser.delete({ id: 5 }))
      expect((yield* entries).value).toBe(2)
      expect((yield* evictions).count - evictedBefore).toBe(2)
    }))
}, { timeout: 20_000 })

// the layers build the same instrumented store
describe("CacheStore.layerMemory", () => {
  it.effect("is the instrumented store", () =>
    Effect.gen(function*() {
      const { started, tracer } = recordingTracer()
      yield* getUser({ id: 9 }).pipe(
        Effect.provide(CacheStore.layerMemory().pipe(Layer.provide(CacheSettings.layer({})))),
        Effect.withTracer(tracer)
      )
      expect(started).toContain("cachefx.store.get")
    }))
})
