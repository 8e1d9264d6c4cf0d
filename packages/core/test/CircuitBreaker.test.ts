/**
 * The circuit breaker any store can use (`CacheStore.withBreaker`): skipped at once after
 * `threshold` timeouts in a row, counted, probed every `probeInterval` until one answers.
 */
import { describe, expect, it } from "@effect/vitest"
import { CacheError, CacheMetrics, CacheSettings, CacheStore, CircuitBreaker } from "@cachefx/core"
import { Duration, Effect, Metric } from "effect"
import { keyIn } from "@cachefx/testkit/StoreContract"

describe("CircuitBreaker", () => {
  /** A memory store whose reads take 200 ms while `slow.on`, bounded at 50 ms, behind a breaker. */
  const guarded = (options: CircuitBreaker.Options) =>
    Effect.gen(function*() {
      const memory = yield* CacheStore.makeMemory()
      const slow = { on: false }
      const store: CacheStore.Service = {
        ...memory,
        get: (key, options) =>
          Effect.zipRight(Effect.suspend(() => Effect.sleep(slow.on ? "200 millis" : "0 millis")), memory.get(key, options))
      }
      const breaker = yield* CircuitBreaker.make(options)
      return { store: CacheStore.withBreaker(CacheStore.withTimeout(store, "50 millis"), breaker), breaker, slow }
    })

  const skipped = Metric.value(Metric.tagged(CacheMetrics.storeSkipped, "store", "unit")).pipe(
    Effect.map((state) => state.count)
  )

  it.live("opens after threshold timeouts in a row: skipped at once with CircuitOpen, counted; a probe that answers closes it", () =>
    Effect.gen(function*() {
      const { breaker, slow, store } = yield* guarded({ threshold: 2, probeInterval: "150 millis", store: "unit" })
      const key = keyIn("breaker", "p", "a")
      const reason = Effect.map(Effect.flip(store.get(key)), (error) => error.reason)
      slow.on = true
      expect(yield* reason).toBe("Timeout")
      expect(breaker.state).toBe("Closed")
      expect(yield* reason).toBe("Timeout")
      expect(breaker.state).toBe("Open")
      const [elapsed, skippedReason] = yield* Effect.timed(reason)
      expect(skippedReason).toBe("CircuitOpen")
      expect(Duration.toMillis(elapsed)).toBeLessThan(20)
      expect(yield* skipped).toBe(1)
      yield* Effect.sleep("200 millis")
      expect(yield* reason).toBe("Timeout") // the probe: still slow, open again
      expect(breaker.state).toBe("Open")
      expect(yield* reason).toBe("CircuitOpen")
      slow.on = false
      yield* Effect.sleep("200 millis")
      yield* store.get(key) // the probe answers
      expect(breaker.state).toBe("Closed")
      yield* store.get(key)
    }))

  it.live("an answer between timeouts starts the count again; threshold 0 never opens", () =>
    Effect.gen(function*() {
      const { breaker, slow, store } = yield* guarded({ threshold: 2 })
      const key = keyIn("breaker", "p", "b")
      for (let i = 0; i < 3; i++) {
        slow.on = true
        yield* Effect.flip(store.get(key))
        slow.on = false
        yield* store.get(key)
      }
      expect(breaker.state).toBe("Closed")
      const off = yield* guarded({ threshold: 0 })
      off.slow.on = true
      for (let i = 0; i < 4; i++) {
        expect((yield* Effect.flip(off.store.get(key))).reason).toBe("Timeout")
      }
      expect(off.breaker.state).toBe("Closed")
    }))

  it.effect("takes its defaults from CacheSettings, and refuses a threshold that is not a whole number", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make().pipe(
        Effect.provide(CacheSettings.layer({ breakerThreshold: 1, breakerProbeInterval: "1 minute" }))
      )
      expect(breaker.unsafeAllow()).toBe(true)
      breaker.unsafeTimedOut()
      expect(breaker.state).toBe("Open")
      expect(() => CacheSettings.make({ breakerThreshold: -1 })).toThrow(CacheError.CacheDefinitionError)
      expect(() => CircuitBreaker.make({ threshold: 1.5 }).pipe(Effect.runSync)).toThrow(/breakerThreshold|threshold/)
    }))
})
