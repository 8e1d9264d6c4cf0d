/**
 * The cost of a `cached()` hit served by the L1 of a two-tier store
 * (`RedisStore.make({ client, l1 })`), against two baselines in the same run:
 * - the memory store's hit (`CacheStore.makeMemory`; target ≤ 1.2×);
 * - a Redis hit without L1 (`RedisStore.make({ client })`): one round trip.
 *
 * One fiber, hits cycling over 100 keys, ns per hit (median of the rounds); the three
 * sides alternate round by round, and the spread of the per-round ratios is printed.
 * Wall time on a shared machine counts the time other processes hold the CPU, so the
 * L1 against memory comparison is also printed in this process's CPU time per hit.
 * Redis is a redis-server of the benchmark's own, on a free loopback port.
 *
 * Run: npm run bench:tiers
 */
import { Cached, CacheStore } from "@cachefx/core"
import { RedisStore } from "@cachefx/redis"
import { Effect } from "effect"
import { machine, median, nsPerOp, report } from "../harness.js"
import { type Item, item, Items } from "../items.js"
import { server } from "../redisServer.js"

const rounds = 9
const memoryIterations = 100_000
const redisIterations = 3_000

const inputs = Array.from({ length: 100 }, (_, id): Item => ({ shop: 1, id }))

/** A hit of a cached value of its own, cycling over the inputs, and the store it runs over. */
const hitOn = (name: string, store: CacheStore.Service) =>
  Effect.gen(function*() {
    const getItem = Cached.cached({ key: Items, name, ttl: "1 hour" })((input: Item) => Effect.succeed(item(input)))
    for (const input of inputs) {
      yield* getItem(input) // the miss that fills
      yield* getItem(input) // on the two-tier store: the read that copies into L1
    }
    let i = 0
    return { hit: Effect.suspend(() => getItem(inputs[i++ % inputs.length]!)), store }
  }).pipe(Effect.provideService(CacheStore.CacheStore, store))

const spread = (ratios: ReadonlyArray<number>) =>
  `per-round ratios ${Math.min(...ratios).toFixed(2)}× to ${Math.max(...ratios).toFixed(2)}×`

const program = Effect.gen(function*() {
  console.log(`cachefx two-tier benchmark on ${machine()}`)
  const { client } = yield* server
  const sides = {
    memory: yield* hitOn("memory", yield* CacheStore.makeMemory({ capacity: 100_000 })),
    tiered: yield* hitOn("tiered", yield* RedisStore.make({ client, l1: { capacity: 100_000 } })),
    redis: yield* hitOn("redis", yield* RedisStore.make({ client }))
  }
  const times = { memory: [] as Array<number>, tiered: [] as Array<number>, redis: [] as Array<number> }
  const cpu = { memory: [] as Array<number>, tiered: [] as Array<number>, redis: [] as Array<number> }
  for (let round = 0; round < rounds; round++) {
    // alternate the order of the sides round by round
    const order = round % 2 === 0 ? (["memory", "tiered", "redis"] as const) : (["redis", "tiered", "memory"] as const)
    for (const side of order) {
      const iterations = side === "redis" ? redisIterations : memoryIterations
      const { hit, store } = sides[side]
      const before = process.cpuUsage()
      times[side].push(yield* nsPerOp(hit, { iterations, rounds: 1 }).pipe(Effect.provideService(CacheStore.CacheStore, store)))
      const used = process.cpuUsage(before)
      cpu[side].push(((used.user + used.system) * 1_000) / (2 * iterations)) // nsPerOp runs a warm-up loop too
    }
  }
  const [memory, tiered, redis] = [median(times.memory), median(times.tiered), median(times.redis)]
  report("hit: L1 of two tiers vs memory store", tiered, memory, "ns/op", "memory store", "≤ 1.2×")
  console.log(`  ${spread(times.tiered.map((t, round) => t / times.memory[round]!))}`)
  report("hit, CPU time: L1 of two tiers vs memory store", median(cpu.tiered), median(cpu.memory), "ns/op", "memory store", "≤ 1.2×")
  console.log(`  ${spread(cpu.tiered.map((t, round) => t / cpu.memory[round]!))}`)
  report("hit: L1 of two tiers vs Redis (no L1)", tiered, redis, "ns/op", "Redis hit")
  console.log(`  ${spread(times.tiered.map((t, round) => t / times.redis[round]!))}`)
}).pipe(Effect.scoped)

Effect.runPromise(program)
