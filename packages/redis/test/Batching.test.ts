/**
 * The store's scripts sent in one tick go to Redis in one socket write (a pipeline),
 * and each caller still gets its own answer; a script Redis does not know falls back
 * to `EVAL` inside a batch too. On a redis-server of its own (its scripts are flushed).
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { type CacheStore } from "@cachefx/core"
import { RedisStore } from "@cachefx/redis"
import { Effect } from "effect"
import { Redis } from "ioredis"
import { keyIn } from "@cachefx/testkit/StoreContract"
import { TestSettings } from "./redis.js"
import { freePort, type Server, startServer, unavailable } from "@cachefx/testkit"

const run = `batching-${process.pid}`

if (unavailable !== undefined) {
  console.warn(`Skipping the batching tests: ${unavailable}`)
}

let server: Server | undefined
beforeAll(async () => {
  if (unavailable === undefined) {
    server = await startServer(await freePort())
  }
}, 20_000)
afterAll(() => server?.stop())

/** A client of the shared Redis whose socket writes are counted. */
const countingWrites = Effect.acquireRelease(
  Effect.promise(async () => {
    const client = new Redis(server!.port, "127.0.0.1")
    await client.ping()
    const counter = { writes: 0 }
    const stream = client.stream
    const write = stream.write.bind(stream) as (...args: Array<unknown>) => boolean
    stream.write = ((...args: Array<unknown>) => {
      counter.writes++
      return write(...args)
    }) as typeof stream.write
    return { client, counter }
  }),
  ({ client }) => Effect.promise(() => client.quit())
)

const entry = (value: string) => {
  const now = Date.now()
  return { value, cachedAt: now, expiresAt: now + 60_000, staleUntil: now + 60_000 }
}

/** Stores `count` entries (values `v0`…) under keys of `partition`; gives the keys. */
const fill = (store: CacheStore.Service, partition: string, count: number) =>
  Effect.forEach(Array.from({ length: count }, (_, i) => keyIn(run, partition, `k${i}`)), (key, i) =>
    Effect.flatMap(store.get(key), (lookup) => store.set(key, entry(`v${i}`), lookup.guard)).pipe(Effect.as(key)))

const values = (lookups: ReadonlyArray<CacheStore.Lookup>) =>
  lookups.map((lookup) => lookup.entry._tag === "Some" ? lookup.entry.value.value : undefined)

describe.skipIf(unavailable !== undefined)("RedisStore batching", () => {
  it.live("20 concurrent reads go in one write, each answered with its own entry", () =>
    Effect.gen(function*() {
      const { client, counter } = yield* countingWrites
      const store = yield* RedisStore.make({ client }).pipe(Effect.provide(TestSettings))
      const keys = yield* fill(store, "together", 20)
      counter.writes = 0
      const lookups = yield* Effect.forEach(keys, (key) => store.get(key), { concurrency: "unbounded" })
      expect(values(lookups)).toEqual(keys.map((_, i) => `v${i}`))
      expect(counter.writes).toBe(1)
      counter.writes = 0
      yield* store.get(keys[0]!)
      expect(counter.writes).toBe(1)
    }).pipe(Effect.scoped))

  it.live("a batch of scripts Redis no longer knows is answered through EVAL, each on its own", () =>
    Effect.gen(function*() {
      const { client } = yield* countingWrites
      const store = yield* RedisStore.make({ client }).pipe(Effect.provide(TestSettings))
      const keys = yield* fill(store, "flushed", 10)
      yield* Effect.promise(() => client.script("FLUSH"))
      const lookups = yield* Effect.forEach(keys, (key) => store.get(key), { concurrency: "unbounded" })
      expect(values(lookups)).toEqual(keys.map((_, i) => `v${i}`))
    }).pipe(Effect.scoped))
})
