/**
 * Batch reads: `fn.many(inputs)` against the same inputs as concurrent single calls
 * (`Effect.forEach(inputs, fn, { concurrency: "unbounded" })`), every input a hit:
 * - on a redis-server this benchmark starts (and stops) on a free loopback port: time
 *   per batch, and `EVALSHA` calls per batch from `INFO commandstats`;
 * - on the memory store: time per batch.
 * The two sides alternate round by round; the figures are medians.
 *
 * Run: npm run bench:many (BENCH_BATCH sets the batch size, default 100)
 */
import { Cached, CacheStore } from "@cachefx/core"
import { RedisStore } from "@cachefx/redis"
import { Effect } from "effect"
import type { Redis } from "ioredis"
import { machine, median, report } from "./harness.js"
import { type Item, item, Items } from "./items.js"
import { server } from "./redisServer.js"

const batch = Number(process.env["BENCH_BATCH"] ?? 100)
const rounds = 201

const getItem = Cached.cached({ key: Items, ttl: "1 hour" })((input: Item) => Effect.succeed(item(input)))
// ten shops (partitions) of items
const inputs = Array.from({ length: batch }, (_, id) => ({ shop: id % 10, id }))
const many = getItem.many(inputs)
const singles = Effect.forEach(inputs, getItem, { concurrency: "unbounded" })

/** Microseconds of one run of `effect`. */
const timed = <E, R>(effect: Effect.Effect<unknown, E, R>) =>
  Effect.suspend(() => {
    const start = process.hrtime.bigint()
    return Effect.as(effect, undefined).pipe(Effect.map(() => Number(process.hrtime.bigint() - start) / 1_000))
  })

/** `many` and `singles`, alternating, `rounds` each: their median times and their spread. */
const compare = Effect.gen(function*() {
  yield* singles // fills, and warms up
  yield* many
  const manyTimes: Array<number> = []
  const singleTimes: Array<number> = []
  for (let round = 0; round < rounds; round++) {
    manyTimes.push(yield* timed(many))
    singleTimes.push(yield* timed(singles))
  }
  const quartiles = (times: ReadonlyArray<number>) => {
    const sorted = [...times].sort((a, b) => a - b)
    return `${sorted[Math.floor(sorted.length / 4)]!.toFixed(0)}-${sorted[Math.floor(sorted.length * 3 / 4)]!.toFixed(0)} µs`
  }
  return { many: median(manyTimes), singles: median(singleTimes), spread: `many ${quartiles(manyTimes)}, singles ${quartiles(singleTimes)}` }
})

/** `EVALSHA` calls so far: the commands the store sent (commandstats also counts the scripts' own calls). */
const scriptCalls = async (client: Redis): Promise<number> => {
  const info = await client.info("commandstats")
  return Number(/^cmdstat_evalsha:calls=(\d+)/m.exec(info)?.[1] ?? 0)
}

const program = Effect.gen(function*() {
  console.log(`cachefx batch read benchmark (${batch} hits a batch, ${rounds} rounds a side) on ${machine()}`)
  const { client } = yield* server
  yield* Effect.gen(function*() {
    const redis = yield* compare
    report(`redis: ${batch} hits, many() vs single calls`, redis.many, redis.singles, "µs", "single calls")
    console.log(`  interquartile: ${redis.spread}`)
    yield* Effect.promise(() => client.config("RESETSTAT"))
    yield* many
    const manyCommands = yield* Effect.promise(() => scriptCalls(client))
    yield* Effect.promise(() => client.config("RESETSTAT"))
    yield* singles
    const singleCommands = yield* Effect.promise(() => scriptCalls(client))
    console.log(`  EVALSHA a batch: many() ${manyCommands}, single calls ${singleCommands}`)
  }).pipe(Effect.provide(RedisStore.layer({ client })))
  const memory = yield* compare.pipe(Effect.provide(CacheStore.layerMemory()))
  report(`memory: ${batch} hits, many() vs single calls`, memory.many, memory.singles, "µs", "single calls")
  console.log(`  interquartile: ${memory.spread}`)
}).pipe(Effect.scoped)

Effect.runPromise(program)
