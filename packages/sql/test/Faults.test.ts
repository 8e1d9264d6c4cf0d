/**
 * A PostgreSQL that stops answering costs a cached call at most the operation timeout:
 * the store's connections go through a TCP fault proxy (`@cachefx/testkit`) that
 * black-holes them (nothing passes, nothing closes), and every call fails open.
 */
import { describe, expect, it } from "@effect/vitest"
import { Cached, CacheKey, CacheMetrics, CacheSettings, CacheStore, KeyConstructor, KeyField } from "@cachefx/core"
import { SqlStore } from "@cachefx/sql"
import { startProxy } from "@cachefx/testkit"
import { Duration, Effect, Layer, Metric, Option } from "effect"
import { poolOf, schemaFor, url } from "./postgres.js"

const { schema } = schemaFor("sql_faults")

const Price = KeyConstructor.make({ namespace: "price", fields: [KeyField.arg("sku")] })

/** The PostgreSQL of the tests behind a fault proxy, and a pool through it; both closed with the scope. */
const proxied = Effect.gen(function*() {
  const target = new URL(url)
  const proxy = yield* Effect.acquireRelease(
    Effect.promise(() => startProxy(Number(target.port || 5432), target.hostname)),
    (proxy) => Effect.promise(proxy.close)
  )
  const pool = yield* Effect.acquireRelease(
    Effect.sync(() => {
      const through = new URL(url)
      through.port = String(proxy.port)
      return poolOf({ connectionString: through.toString(), max: 4 })
    }),
    (pool) => Effect.promise(() => pool.end()).pipe(Effect.timeout("1 second"), Effect.ignore)
  )
  return { proxy, pool }
})

const timeout = Duration.millis(300)

describe("PostgreSQL black-holed", () => {
  it.scopedLive("every call answers within the operation timeout, computed (fail open, counted); once healed, the store serves again", () =>
    Effect.gen(function*() {
      const { pool, proxy } = yield* proxied
      const settings = CacheSettings.layer({ keyPrefix: `faults-${process.pid}`, operationTimeout: timeout })
      const context = yield* Layer.build(
        SqlStore.layerPg({ pool, schema, table: "faults" }).pipe(Layer.provideMerge(settings))
      )
      let computed = 0
      const price = Cached.cached({ key: Price, ttl: "1 minute" })((input: { readonly sku: number }) =>
        Effect.sync(() => `price ${input.sku} #${++computed}`)
      )
      const call = (sku: number) => Effect.provide(price.withStatus({ sku }), context)
      expect(yield* call(1)).toMatchObject({ status: "Miss" })
      expect(yield* call(1)).toMatchObject({ status: "Hit" })
      const errors = Metric.value(Metric.tagged(CacheMetrics.errors, "cache", price.name))
      const before = (yield* errors).count

      proxy.blackhole()
      for (const sku of [1, 2, 3, 1]) {
        const [elapsed, answer] = yield* Effect.timed(call(sku))
        expect(answer.value).toMatch(new RegExp(`^price ${sku} #`))
        // the read, then the fill in the background: the caller waits for the read only
        expect(Duration.toMillis(elapsed)).toBeLessThan(Duration.toMillis(timeout) + 700)
      }
      expect((yield* errors).count - before).toBeGreaterThanOrEqual(4)
      const store = yield* Effect.provide(CacheStore.CacheStore, context)
      const [elapsed, failed] = yield* Effect.timed(Effect.flip(store.invalidate(CacheKey.namespace("cachefx:price"))))
      expect(failed.reason === "Timeout" || failed.reason === "CircuitOpen").toBe(true)
      expect(Duration.toMillis(elapsed)).toBeLessThan(Duration.toMillis(timeout) + 700)

      proxy.heal()
      // the breaker probes again within its interval (1 second by default); connections destroyed at the timeouts are replaced
      yield* Effect.sleep("1500 millis")
      yield* call(5)
      expect(yield* call(5)).toMatchObject({ status: "Hit" })
      expect(Option.isSome((yield* store.get({ namespace: "x", partition: "x:1", key: "x:1:a" })).entry)).toBe(false)
    }), 30_000)
})
