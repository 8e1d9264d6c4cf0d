/**
 * cachefx against bentocache, a maintained caching library for Node, both in their
 * default configuration, same process; bentocache is the baseline of each row:
 * - a memory hit: `cached()` vs `getOrSet` on a memory-only store (ns/op), both run
 *   as Effects (bentocache through `Effect.promise`, as an Effect program calls it);
 * - 1,000 concurrent misses of one key with a 1 ms computation (µs per burst);
 * - Redis hits from 50 fibers: the Redis store vs a Redis-only bentocache store (ops/s);
 * - invalidating 1,000 keys: a cachefx partition wipe vs `deleteByTag` (µs); both
 *   are a constant number of writes, whatever the size of the keyspace.
 * Redis runs on a redis-server of this benchmark's own (./redisServer.ts).
 *
 * Run: npm run bench:bento
 */
import { Cached, CacheStore } from "@cachefx/core"
import { RedisStore } from "@cachefx/redis"
import { BentoCache, bentostore } from "bentocache"
import { memoryDriver } from "bentocache/drivers/memory"
import { redisDriver } from "bentocache/drivers/redis"
import { Effect } from "effect"
import { machine, median, microsPerRun, nsPerOp, opsPerSecond, report } from "./harness.js"
import { type Item, item, Items } from "./items.js"
import { server } from "./redisServer.js"

const partitionKeys = 1_000
const fibers = 50
const rounds = 3

const bentoKey = (input: Item) => `items:${input.shop}:${input.id}`

const getItem = Cached.cached({ key: Items, ttl: "1 hour" })((input: Item) => Effect.succeed(item(input)))
const bentoItem = (bento: BentoCache<Record<string, never>>, input: Item) =>
  Effect.promise(() =>
    bento.getOrSet({ key: bentoKey(input), ttl: "1h", tags: [`shop:${input.shop}`], factory: () => item(input) })
  )

const memory = Effect.gen(function*() {
  const bento = new BentoCache({ default: "memory", stores: { memory: bentostore().useL1Layer(memoryDriver({})) } })
  yield* Effect.addFinalizer(() => Effect.promise(() => bento.disconnectAll()))
  const one = { shop: 1, id: 1 }
  const hitOptions = { iterations: 100_000, rounds: 7 }
  const cachefxHit = yield* nsPerOp(getItem(one), hitOptions)
  const bentoHit = yield* nsPerOp(bentoItem(bento, one), hitOptions)
  report("memory hit (cached() vs bentocache)", cachefxHit, bentoHit, "ns/op", "bentocache getOrSet")

  const burst = 1_000
  const computations = { cachefx: 0, bentocache: 0 }
  const slow = (side: keyof typeof computations) => (input: Item) =>
    Effect.as(Effect.sleep("1 millis"), item(input)).pipe(Effect.tap(() => computations[side]++))
  const slowItem = Cached.cached({ key: Items, name: "slow-items", ttl: "1 hour" })(slow("cachefx"))
  const slowBento = (input: Item) =>
    Effect.promise(() =>
      bento.getOrSet({ key: `slow:${bentoKey(input)}`, ttl: "1h", factory: () => Effect.runPromise(slow("bentocache")(input)) })
    )
  const burstOf = (get: (input: Item) => Effect.Effect<unknown, never, CacheStore.CacheStore>) => (round: number) =>
    Effect.all(Array.from({ length: burst }, () => get({ shop: 2, id: 1_000 + round })), { concurrency: "unbounded" })
  report(
    "1,000 concurrent misses (cached() vs bentocache)",
    yield* microsPerRun(burstOf(slowItem), 15),
    yield* microsPerRun(burstOf(slowBento), 15),
    "µs",
    "bentocache getOrSet"
  )
  const bursts = 16 // the warm-up and 15 rounds
  console.log(`computations per burst: cachefx ${computations.cachefx / bursts}, bentocache ${computations.bentocache / bursts}`)
}).pipe(Effect.provide(CacheStore.layerMemory({ capacity: 100_000 })))

/** Redis hits from `fibers` fibers, ops/s: cachefx first, then bentocache, median of `rounds` after a warm-up. */
const redisHits = (bento: BentoCache<Record<string, never>>) =>
  Effect.gen(function*() {
    const inputs = Array.from({ length: 100 }, (_, id) => ({ shop: 1, id }))
    let i = 0
    const cachefxHit = Effect.suspend(() => getItem(inputs[i++ % inputs.length]!))
    let j = 0
    const bentoHit = Effect.suspend(() => bentoItem(bento, inputs[j++ % inputs.length]!))
    const rates = { cachefx: [] as Array<number>, bento: [] as Array<number> }
    for (let round = -1; round < rounds; round++) { // round -1 warms up
      rates.cachefx.push(yield* opsPerSecond(cachefxHit, { fibers, seconds: 2 }))
      rates.bento.push(yield* opsPerSecond(bentoHit, { fibers, seconds: 2 }))
    }
    report(
      `Redis hits, ${fibers} fibers (cached() vs bentocache)`,
      median(rates.cachefx.slice(1)),
      median(rates.bento.slice(1)),
      "ops/s",
      "bentocache getOrSet"
    )
  })

/** Invalidating a partition of `partitionKeys` cached keys: µs, median of 21. */
const invalidation = (bento: BentoCache<Record<string, never>>) =>
  Effect.gen(function*() {
    const shop = 7
    const partition = Array.from({ length: partitionKeys }, (_, id) => ({ shop, id }))
    yield* Effect.forEach(partition, getItem, { concurrency: fibers, discard: true })
    yield* Effect.forEach(partition, (input) => bentoItem(bento, input), { concurrency: fibers, discard: true })
    const wipe = yield* microsPerRun(() => getItem.deletePartition({ shop }), 21)
    const deleteByTag = yield* microsPerRun(() => Effect.promise(() => bento.deleteByTag({ tags: [`shop:${shop}`] })), 21)
    report(`invalidate ${partitionKeys.toLocaleString("en-US")} keys (partition wipe vs tag)`, wipe, deleteByTag, "µs", "bentocache deleteByTag")
  })

const redis = Effect.gen(function*() {
  const { client, port } = yield* server
  const bento = new BentoCache({
    default: "redis",
    stores: { redis: bentostore().useL2Layer(redisDriver({ connection: { host: "127.0.0.1", port } })) }
  })
  yield* Effect.addFinalizer(() => Effect.promise(() => bento.disconnectAll()))
  yield* Effect.provide(Effect.zipRight(redisHits(bento), invalidation(bento)), RedisStore.layer({ client }))
})

Effect.runPromise(Effect.scoped(Effect.gen(function*() {
  console.log(`cachefx vs bentocache on ${machine()}`)
  yield* memory
  yield* redis
})))
