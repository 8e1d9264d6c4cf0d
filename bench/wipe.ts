/**
 * Partition wipe on the Redis store with `BENCH_KEYS` keys loaded (default 1,000,000; the
 * partition holds 1,000 of them): a stamp replacement (a partition `invalidate`) against
 * `SCAN MATCH` over the whole keyspace + `DEL`, as Restflow wipes (target ≥ 1000× faster
 * at 1M keys). The partition is loaded again, untimed, before each `SCAN` sample. Redis is
 * a redis-server of the benchmark's own.
 *
 * Run: npm run bench:redis (after ./redis.ts)
 */
import { CacheKey } from "@cachefx/core"
import { RedisStore } from "@cachefx/redis"
import { Effect } from "effect"
import { compare, fiberLoop, main, measure } from "./harness.js"
import { item } from "./items.js"
import { server } from "./redisServer.js"

const totalKeys = Number(process.env["BENCH_KEYS"] ?? 1_000_000)
const partitionKeys = 1_000
const shop = 7
const partition = `cachefx:items:1:#${shop}`
const scope = { namespace: "cachefx:items", partition }
const keyOf = (id: number) => ({ ...scope, key: `${partition}:#${id}` })

const program = Effect.gen(function*() {
  const { client } = yield* server
  const store = yield* RedisStore.make({ client })
  const load = Date.now()
  const batch = 10_000
  for (let from = 0; from < totalKeys - partitionKeys; from += batch) {
    const pipeline = client.pipeline()
    for (let n = from; n < Math.min(from + batch, totalKeys - partitionKeys); n++) {
      pipeline.set(`{other:${n % 5_000}}:${n}`, "v".repeat(100))
    }
    yield* Effect.promise(() => pipeline.exec())
  }
  const fillPartition = Effect.forEach(
    Array.from({ length: partitionKeys }, (_, id) => id),
    (id) =>
      Effect.flatMap(store.get(keyOf(id)), (lookup) =>
        store.set(keyOf(id), { value: item({ shop, id }), cachedAt: 0, expiresAt: null, staleUntil: null }, lookup.guard)),
    { concurrency: 50, discard: true }
  )
  yield* fillPartition
  const keyspace = yield* Effect.promise(() => client.dbsize())
  console.log(`  loaded ${keyspace} keys in ${((Date.now() - load) / 1000).toFixed(1)} s`)

  const scanAndDelete = Effect.promise(async () => {
    let cursor = "0"
    let deleted = 0
    do {
      const [next, found] = await client.scan(cursor, "MATCH", `{${partition}}*`, "COUNT", 1_000)
      cursor = next
      deleted += found.length > 0 ? await client.del(...found) : 0
    } while (cursor !== "0")
    if (deleted < partitionKeys) {
      throw new Error(`SCAN + DEL deleted ${deleted} keys, expected ${partitionKeys}`)
    }
  })
  const samples = yield* measure([
    { name: "stamp", run: fiberLoop(() => store.invalidate(CacheKey.partition(scope))) },
    { name: "SCAN MATCH + DEL", run: fiberLoop(() => scanAndDelete), ops: 1, prepare: () => fillPartition }
  ])
  const gone = yield* store.get(keyOf(0))
  if (gone.entry._tag !== "None") {
    return yield* Effect.dieMessage("the wiped partition still serves an entry")
  }
  const label = `partition wipe, ${partitionKeys.toLocaleString("en-US")} of ${keyspace.toLocaleString("en-US")} keys`
  compare(samples, [{
    name: label,
    subject: "stamp",
    baseline: "SCAN MATCH + DEL",
    quantity: { of: "time", unit: "µs" },
    ...(totalKeys >= 1_000_000 ? { target: "≥ 1000× faster" } : {}) // the target is set for 1M keys
  }])
}).pipe(Effect.scoped)

main(`cachefx partition wipe on Redis, ${totalKeys.toLocaleString("en-US")} keys`, program)
