/**
 * Batch reads: `fn.many(inputs)` against the same inputs as concurrent single calls
 * (`Effect.forEach(inputs, fn, { concurrency: "unbounded" })`), every input a hit:
 * - on a redis-server this benchmark starts (and stops) on a free loopback port: time
 *   per batch, and the commands Redis ran per batch (`INFO commandstats`, the scripts'
 *   own calls included);
 * - on the memory store: time per batch.
 * The two sides are interleaved round by round (./harness.ts).
 *
 * Run: npm run bench:many (BENCH_BATCH sets the batch size, default 100)
 */
import { Cached, CacheStore } from "@cachefx/core"
import { RedisStore } from "@cachefx/redis"
import { Effect } from "effect"
import { compare, type Comparison, fiberLoop, main, measure, type Meter } from "./harness.js"
import { type Item, item, Items } from "./items.js"
import { redisCommands, server } from "./redisServer.js"

const batch = Number(process.env["BENCH_BATCH"] ?? 100)

const getItem = Cached.cached({ key: Items, ttl: "1 hour" })((input: Item) => Effect.succeed(item(input)))
// ten shops (partitions) of items
const inputs = Array.from({ length: batch }, (_, id) => ({ shop: id % 10, id }))
const many = getItem.many(inputs)
const singles = Effect.forEach(inputs, getItem, { concurrency: "unbounded", discard: true })

const versus = (store: string): ReadonlyArray<Comparison> => [{
  name: `${store}: ${batch} hits, many() vs single calls`,
  subject: "many()",
  baseline: "single calls",
  quantity: { of: "time", unit: "µs" }
}]

/** `many` against `singles` on the store provided; the warm-up fills. */
const batches = (meters: ReadonlyArray<Meter> = []) =>
  measure([
    { name: "many()", run: fiberLoop(() => many), warmUp: 2, meters },
    { name: "single calls", run: fiberLoop(() => singles), warmUp: 2, meters }
  ])

const program = Effect.gen(function*() {
  const { client } = yield* server
  const onRedis = yield* batches([redisCommands(client)]).pipe(Effect.provide(RedisStore.layer({ client })))
  compare(onRedis, [...versus("redis"), {
    name: `  redis: commands per batch of ${batch}, many() vs single calls`,
    subject: "many()",
    baseline: "single calls",
    quantity: { of: "meter", meter: "redis commands", unit: "commands/batch" }
  }])
  compare(yield* batches().pipe(Effect.provide(CacheStore.layerMemory())), versus("memory"))
}).pipe(Effect.scoped)

main(`cachefx batch reads (${batch} hits a batch)`, program)
