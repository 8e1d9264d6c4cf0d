import { afterAll, describe, expect, it } from "@effect/vitest"
import { Cached, CacheMetrics, CacheSettings, KeyConstructor, KeyField } from "@cachefx/core"
import { RedisStore } from "@cachefx/redis"
import { Effect, Layer, Metric, Tracer } from "effect"
import { Redis } from "ioredis"
import { cleanup, sharedUrl } from "./redis.js"

const run = `telemetry-${process.pid}`

const getUser = Cached.cached({
  key: KeyConstructor.make({ namespace: "users", fields: [KeyField.arg("id")] }),
  ttl: "1 minute"
})((input: { readonly id: number }) => Effect.succeed(input.id))

/** A tracer that keeps, in memory, the name and the `cachefx.store` attribute of every span it starts. */
const inMemoryTracer = () => {
  const spans: Array<string> = []
  const builtIn = Effect.runSync(Effect.tracer)
  const tracer = Tracer.make({
    span: (name, parent, context, links, startTime, kind, options) => {
      spans.push(`${name} ${String(options?.attributes?.["cachefx.store"] ?? "")}`.trim())
      return builtIn.span(name, parent, context, links, startTime, kind, options)
    },
    context: builtIn.context
  })
  return { spans, tracer }
}

const timed = (store: string, operation: string) =>
  Metric.value(CacheMetrics.storeDuration.pipe(Metric.tagged("store", store), Metric.tagged("operation", operation))).pipe(
    Effect.map((state) => state.count)
  )

describe("Redis store telemetry", () => {
  const client = new Redis(sharedUrl)
  afterAll(async () => {
    await client.quit()
    await cleanup(run)
  })
  const Settings = CacheSettings.layer({ keyPrefix: run, operationTimeout: "1 second" })

  it.scopedLive("spans name the operation and the store; the two-tier store reports its L1 and Redis apart", () =>
    Effect.gen(function*() {
      const { spans, tracer } = inMemoryTracer()
      const before = { l1: yield* timed("l1", "get"), redis: yield* timed("redis", "get") }
      const context = yield* Layer.build(
        RedisStore.layer({ client, l1: { capacity: 100 } }).pipe(Layer.provideMerge(Settings))
      )
      yield* Effect.gen(function*() {
        yield* getUser({ id: 1 }) // a miss: L1 then Redis read, then a fill of both
        yield* getUser({ id: 1 }) // an L1 hit
      }).pipe(Effect.provide(context), Effect.withTracer(tracer))
      const storeSpans = spans.filter((span) => span.startsWith("cachefx.store."))
      expect(storeSpans.slice(0, 2)).toEqual(["cachefx.store.get l1", "cachefx.store.get redis"])
      expect(storeSpans).toContain("cachefx.store.set redis")
      expect(storeSpans).toContain("cachefx.store.set l1")
      expect(storeSpans.at(-1)).toBe("cachefx.store.get l1")
      // Redis operations are timed, the in-memory tier's are not (see CacheMetrics.storeDuration)
      expect((yield* timed("redis", "get")) - before.redis).toBe(1)
      expect((yield* timed("l1", "get")) - before.l1).toBe(0)
    }))
})
