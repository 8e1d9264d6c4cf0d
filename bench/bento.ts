/**
 * Invalidating 1,000 keys: a cachefx partition wipe on the Redis store against
 * bentocache's `deleteByTag` on a Redis-only store (L2), its entries written with a tag of
 * their shop (the one row of the benchmarks where bentocache takes tags: the row is about
 * them). Both are a constant number of writes, whatever the size of the keyspace; reads
 * then find the entries stale. The two sides are interleaved round by round
 * (./harness.ts). The hits, misses and fills against bentocache are in ./core.ts and
 * ./redis.ts, beside the other peers.
 *
 * Run: npm run bench:bento
 */
import { Cached, CacheStore } from "@cachefx/core"
import { RedisStore } from "@cachefx/redis"
import type { BentoCache } from "bentocache"
import { Effect } from "effect"
import { asyncLoop, compare, fiberLoop, main, measure } from "./harness.js"
import { type Item, item, Items, peerKey } from "./items.js"
import { bentoRedis } from "./peers.js"
import { server } from "./redisServer.js"

const partitionKeys = 1_000
const shop = 7

const program = Effect.gen(function*() {
  const { client, port } = yield* server
  const bento = yield* bentoRedis(port)
  yield* Effect.provideService(wipes(bento), CacheStore.CacheStore, yield* RedisStore.make({ client }))
}).pipe(Effect.scoped)

const wipes = (bento: BentoCache<Record<string, never>>) =>
Effect.gen(function*() {
  const getItem = Cached.cached({ key: Items, ttl: "1 hour" })((input: Item) => Effect.succeed(item(input)))
  const partition = Array.from({ length: partitionKeys }, (_, id) => ({ shop, id }))
  yield* Effect.forEach(partition, getItem, { concurrency: 50, discard: true })
  yield* Effect.promise(() =>
    Promise.all(partition.map((input) =>
      bento.getOrSet({ key: peerKey(input), ttl: "1h", tags: [`shop:${shop}`], factory: () => item(input) })
    ))
  )
  const samples = yield* measure([
    { name: "partition wipe", run: fiberLoop(() => getItem.deletePartition({ shop })) },
    { name: "bentocache deleteByTag", run: asyncLoop(() => bento.deleteByTag({ tags: [`shop:${shop}`] })) }
  ])
  compare(samples, [{
    name: `invalidate ${partitionKeys.toLocaleString("en-US")} keys (partition wipe vs tag)`,
    subject: "partition wipe",
    baseline: "bentocache deleteByTag",
    quantity: { of: "time", unit: "µs" }
  }])
})

main("cachefx partition wipe against bentocache deleteByTag, on Redis", program)
