/**
 * The cost of a `cached()` hit served by the L1 of a two-tier store
 * (`RedisStore.make({ client, l1 })`), against two baselines in the same run:
 * - the memory store's hit (`CacheStore.makeMemory`);
 * - a Redis hit without L1 (`RedisStore.make({ client })`): one round trip.
 *
 * One fiber, hits cycling over 1,000 keys of a two-field constructor; the sides are
 * interleaved round by round (./harness.ts). Wall time on a shared machine counts the time
 * other processes hold the CPU, so the L1 against memory comparison is also given in this
 * process's CPU time per hit. Redis is a redis-server of the benchmark's own.
 *
 * Run: npm run bench:tiers
 */
import { Cached, CacheStore } from "@cachefx/core"
import { RedisStore } from "@cachefx/redis"
import { Effect } from "effect"
import { type Comparison, fiberLoop, main, measure, compare } from "../harness.js"
import { type Item, inputs, item, Items } from "../items.js"
import { server } from "../redisServer.js"

const keys = inputs()

/** The targets of issue 19, on ratios of this run. */
const targets: ReadonlyArray<Comparison> = [
  { name: "hit: L1 of two tiers vs memory store", subject: "L1 of two tiers", baseline: "memory store", quantity: { of: "time", unit: "ns" }, target: "≤ 1.15×" },
  { name: "hit, CPU time: L1 of two tiers vs memory store", subject: "L1 of two tiers", baseline: "memory store", quantity: { of: "cpu", unit: "ns" }, target: "≤ 1.15×" },
  { name: "hit: L1 of two tiers vs Redis (no L1)", subject: "L1 of two tiers", baseline: "Redis, no L1", quantity: { of: "time", unit: "ns" } }
]

/** A case of hits on a cached value of its own over `store`; the warm-up fills L2 and then L1. */
const hitsOn = (name: string, store: CacheStore.Service) => {
  const getItem = Cached.cached({ key: Items, name, ttl: "1 hour" })((input: Item) => Effect.succeed(item(input)))
  const loop = fiberLoop((i) => getItem(keys[i % keys.length]!))
  return {
    name,
    run: (from: number, n: number) => Effect.provideService(loop(from, n), CacheStore.CacheStore, store),
    warmUp: 2 * keys.length
  }
}

const program = Effect.gen(function*() {
  const { client } = yield* server
  const samples = yield* measure([
    hitsOn("memory store", yield* CacheStore.makeMemory({ capacity: 100_000 })),
    hitsOn("L1 of two tiers", yield* RedisStore.make({ client, l1: { capacity: 100_000 } })),
    hitsOn("Redis, no L1", yield* RedisStore.make({ client }))
  ])
  compare(samples, targets)
}).pipe(Effect.scoped)

main("cachefx two-tier store: L1 hit against memory store and Redis hits", program)
