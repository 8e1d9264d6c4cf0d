/**
 * Corrupt or foreign bytes under a cachefx key: a miss, replaced by the computed value,
 * and counted (`CacheMetrics.errors`), on the memory store and on Redis.
 */
import { Cached, CacheMetrics, CacheSettings, CacheStore, KeyConstructor, KeyField } from "@cachefx/core"
import { RedisStore } from "@cachefx/redis"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Metric, Schema } from "effect"
import { Redis } from "ioredis"
import { afterAll } from "vitest"
import * as keys from "../../redis/src/internal/keys.js"
import { cleanup, sharedUrl } from "./support.js"

const Item = KeyConstructor.make({ namespace: "corrupt", fields: [KeyField.arg("id", { partition: true })] })
const Value = Schema.Struct({ id: Schema.Number, name: Schema.String })

let made = 0
const counting = () => {
  const name = `corrupt${++made}`
  let calls = 0
  const fn = Cached.cached({ key: Item, name, value: Value, ttl: "1 minute" })((input: { readonly id: number }) =>
    Effect.sync(() => ({ id: input.id, name: `item ${input.id} #${++calls}` }))
  )
  const errors = Metric.value(Metric.tagged(CacheMetrics.errors, "cache", name)).pipe(Effect.map((state) => state.count))
  return { fn, name, calls: () => calls, errors }
}

/** A miss that computes, then a hit of the computed value, and one more error counted. */
const missReplacedCounted = (
  { calls, errors, fn }: ReturnType<typeof counting>,
  id: number,
  callsBefore: number
) =>
  Effect.gen(function*() {
    const before = yield* errors
    const first = yield* fn.withStatus({ id })
    expect([first.status, first.value]).toEqual(["Miss", { id, name: `item ${id} #${callsBefore + 1}` }])
    const second = yield* fn.withStatus({ id })
    expect([second.status, second.value]).toEqual(["Hit", first.value])
    expect(calls()).toBe(callsBefore + 1)
    expect((yield* errors) - before).toBe(1)
  })

describe("corrupt entries, memory store", () => {
  const foreign: ReadonlyArray<unknown> = [
    "not an object",
    { id: "1", name: "x" },
    { id: 1 },
    null,
    [1, 2, 3],
    { id: 1, name: 2 }
  ]
  it.effect("a stored value that does not decode is a miss, replaced, and counted", () =>
    Effect.gen(function*() {
      const cache = counting()
      const store = yield* CacheStore.CacheStore
      let n = 0
      for (const value of foreign) {
        const id = 100 + n
        const key = yield* Effect.zipWith(
          KeyConstructor.partitionFor(Item, { id }),
          cache.fn.keyFor({ id }),
          (scope, key) => ({ ...scope, key })
        )
        const { guard } = yield* store.get(key)
        expect(yield* store.set(key, { value, cachedAt: 0, expiresAt: null, staleUntil: null }, guard)).toBe(true)
        yield* missReplacedCounted(cache, id, n)
        n++
      }
    }).pipe(Effect.provide(CacheStore.layerMemory())))
})

const prefix = `proof-corrupt-${process.pid}`
const redis = new Redis(sharedUrl)
afterAll(async () => {
  await cleanup(prefix)
  await redis.quit()
})

describe("corrupt entries, Redis store", () => {
  const Live = RedisStore.layer({ client: redis }).pipe(
    Layer.provideMerge(CacheSettings.layer({ keyPrefix: prefix, operationTimeout: "2 seconds" }))
  )
  // a cached value named apart keeps its own namespace, `<namespace>:#@<name>`
  const physical = (cache: ReturnType<typeof counting>, id: number) =>
    Effect.zipWith(
      KeyConstructor.partitionFor(Item, { id }),
      cache.fn.keyFor({ id }),
      (scope, key) => {
        const namespace = `${scope.namespace}:#@${cache.name}`
        const partition = namespace + scope.partition.slice(scope.namespace.length)
        return keys.physical({ namespace, partition, key }).entry
      }
    )

  const corruptions: ReadonlyArray<readonly [string, (client: Redis, at: string) => Promise<unknown>]> = [
    ["raw binary bytes written with SET", (client, at) => client.set(at, Buffer.from([0xff, 0x00, 0x7b, 0x20, 0xc3]))],
    ["an empty string", (client, at) => client.set(at, "")],
    ["text of another program", (client, at) => client.set(at, "{\"session\":\"abc\"}")],
    ["a hash instead of a string", async (client, at) => {
      await client.del(at)
      return client.hset(at, "field", "value")
    }],
    ["a cachefx header over corrupt JSON", async (client, at) => {
      const stored = await client.get(at)
      const header = (stored ?? "x 0 0").split(" ", 3).join(" ")
      return client.set(at, `${header} [1,2`)
    }],
    ["a cachefx header over JSON of another shape", async (client, at) => {
      const stored = await client.get(at)
      const header = (stored ?? "x 0 0").split(" ", 3).join(" ")
      return client.set(at, `${header} [0,null,null,{"id":"1"}]`)
    }]
  ]

  for (const [index, [name, corrupt]] of corruptions.entries()) {
    it.live(`${name}: a miss, replaced, counted`, () =>
      Effect.gen(function*() {
        const cache = counting()
        const id = 200 + index
        // a real entry first, so that a corruption keeping its header keeps a valid one
        yield* cache.fn({ id })
        const at = yield* physical(cache, id)
        yield* Effect.promise(() => corrupt(redis, at))
        yield* missReplacedCounted(cache, id, 1)
      }).pipe(Effect.provide(Live)))
  }
})
