/**
 * The Redis store against raw ioredis, on a redis-server this benchmark starts (and
 * stops) on a free loopback port, so no other client skews it:
 * - hit throughput: 50 concurrent fibers of `cached()` hits vs 50 concurrent raw `GET`s
 *   of a value of the same size (ops/s; target ≥ 0.8×), and Redis commands per hit from
 *   `INFO commandstats` (target: 1 call from the client);
 * - partition wipe with `BENCH_KEYS` keys loaded (default 1,000,000; the partition holds
 *   1,000 of them): a stamp replacement vs `SCAN MATCH` over the whole keyspace + `DEL`,
 *   as Restflow wipes (target ≥ 1000×).
 *
 * Run: npm run bench:redis
 */
import { Cached, CacheStore } from "@cachefx/core"
import { RedisStore } from "@cachefx/redis"
import { Effect } from "effect"
import { Redis } from "ioredis"
import { machine, median, opsPerSecond, report } from "./harness.js"
import { type Item, item, Items } from "./items.js"
import { server } from "./redisServer.js"
import { record } from "./results.js"

const totalKeys = Number(process.env["BENCH_KEYS"] ?? 1_000_000)
const partitionKeys = 1_000
const fibers = 50
const hitSeconds = 2
const rounds = 3


const commandCalls = async (client: Redis): Promise<Map<string, number>> => {
  const info = await client.info("commandstats")
  return new Map([...info.matchAll(/^cmdstat_(\w+):calls=(\d+)/gm)].map((m) => [m[1]!, Number(m[2])]))
}

/** Runs `op` in `fibers` concurrent loops for `hitSeconds`; gives ops/s. */
const throughput = <R>(op: Effect.Effect<unknown, never, R>) => opsPerSecond(op, { fibers, seconds: hitSeconds })

/** Raw GETs from `fibers` plain async loops for `hitSeconds`, without Effect; gives ops/s. */
const plainGets = async (raw: Redis, keys: number) => {
  let done = 0
  const end = Date.now() + hitSeconds * 1_000
  await Promise.all(Array.from({ length: fibers }, async () => {
    while (Date.now() < end) {
      await raw.get(`raw:${done++ % keys}`)
    }
  }))
  return done / hitSeconds
}

const hits = (client: Redis, raw: Redis) =>
  Effect.gen(function*() {
    const getItem = Cached.cached({ key: Items, ttl: "1 hour" })((input: Item) => Effect.succeed(item(input)))
    const inputs = Array.from({ length: 100 }, (_, id) => ({ shop: 1, id }))
    for (const input of inputs) {
      yield* getItem(input)
    }
    const store = yield* CacheStore.CacheStore
    const size = yield* Effect.promise(() => client.strlen(`{cachefx:items:1:#1}:#0`))
    yield* Effect.promise(() => raw.mset(...inputs.flatMap((input) => [`raw:${input.id}`, "x".repeat(size)])))
    console.log(`value size: ${size} bytes stored per entry (header + JSON), raw GET of ${size} bytes`)

    let i = 0
    const cachefxHit = Effect.suspend(() => getItem(inputs[i++ % inputs.length]!))
    let j = 0
    const rawGet = Effect.promise(() => raw.get(`raw:${j++ % inputs.length}`))
    const cachefxRates: Array<number> = []
    const rawRates: Array<number> = []
    yield* throughput(cachefxHit) // warm up
    yield* throughput(rawGet)
    for (let round = 0; round < rounds; round++) {
      cachefxRates.push(yield* throughput(cachefxHit))
      rawRates.push(yield* throughput(rawGet))
    }
    report(`hits, ${fibers} fibers (cached() vs raw GET)`, median(cachefxRates), median(rawRates), "ops/s", "raw GET", "≥ 0.8×")
    const plain = yield* Effect.promise(() => plainGets(raw, inputs.length))
    console.log(`for scale: raw GET from ${fibers} plain async loops (no Effect): ${plain.toFixed(0)} ops/s`)

    yield* Effect.promise(() => client.config("RESETSTAT"))
    const counted = 10_000
    yield* Effect.all(Array.from({ length: counted }, () => cachefxHit), { concurrency: fibers, discard: true })
    const calls = yield* Effect.promise(() => commandCalls(client))
    calls.delete("config")
    const evalsha = calls.get("evalsha") ?? 0
    const total = [...calls.values()].reduce((a, b) => a + b, 0)
    console.log(
      `commands per hit: ${(evalsha / counted).toFixed(2)} EVALSHA sent by the client; ` +
        `${(total / counted).toFixed(2)} in INFO commandstats, counting the script's own calls ` +
        `(${[...calls].map(([name, n]) => `${name} ${(n / counted).toFixed(2)}`).join(", ")})`
    )
    return store
  })

const wipes = (client: Redis, store: CacheStore.Service) =>
  Effect.gen(function*() {
    const shop = 7
    const partition = `cachefx:items:1:#${shop}`
    const scope = { namespace: "cachefx:items", partition }
    const keyOf = (id: number) => ({ ...scope, key: `${partition}:#${id}` })
    const load = Date.now()
    const batch = 10_000
    for (let from = 0; from < totalKeys - partitionKeys; from += batch) {
      const pipeline = client.pipeline()
      for (let n = from; n < Math.min(from + batch, totalKeys - partitionKeys); n++) {
        pipeline.set(`{other:${n % 5_000}}:${n}`, "v".repeat(100))
      }
      yield* Effect.promise(() => pipeline.exec())
    }
    const fillPartition = Effect.all(
      Array.from({ length: partitionKeys }, (_, id) =>
        Effect.flatMap(store.get(keyOf(id)), (lookup) =>
          store.set(keyOf(id), { value: item({ shop, id }), cachedAt: 0, expiresAt: null, staleUntil: null }, lookup.guard))),
      { concurrency: fibers, discard: true }
    )
    yield* fillPartition
    const keyspace = yield* Effect.promise(() => client.dbsize())
    console.log(`loaded ${keyspace} keys in ${((Date.now() - load) / 1000).toFixed(1)} s`)

    const stampTimes: Array<number> = []
    for (let n = 0; n < 21; n++) {
      const start = process.hrtime.bigint()
      yield* store.deletePartition(scope)
      stampTimes.push(Number(process.hrtime.bigint() - start) / 1_000)
    }
    const gone = yield* store.get(keyOf(0))
    if (gone.entry._tag !== "None") {
      throw new Error("the wiped partition still serves an entry")
    }

    const scanTimes: Array<number> = []
    for (let round = 0; round < rounds; round++) {
      yield* fillPartition
      const start = process.hrtime.bigint()
      let cursor = "0"
      let deleted = 0
      do {
        const [next, found] = yield* Effect.promise(() => client.scan(cursor, "MATCH", `{${partition}}*`, "COUNT", 1_000))
        cursor = next
        if (found.length > 0) {
          deleted += yield* Effect.promise(() => client.del(...found))
        }
      } while (cursor !== "0")
      scanTimes.push(Number(process.hrtime.bigint() - start) / 1_000)
      if (deleted < partitionKeys) {
        throw new Error(`SCAN + DEL deleted ${deleted} keys, expected ${partitionKeys}`)
      }
    }
    const stamp = median(stampTimes)
    const scan = median(scanTimes)
    record({
      name: `partition wipe, ${partitionKeys.toLocaleString("en-US")} of ${keyspace.toLocaleString("en-US")} keys`,
      unit: "µs",
      cachefx: stamp,
      baselineName: "SCAN MATCH + DEL",
      baseline: scan,
      target: totalKeys >= 1_000_000 ? "≥ 1000× faster" : undefined // the target is set for 1M keys
    })
    console.log(
      `partition wipe, ${partitionKeys} of ${keyspace} keys: cachefx stamp ${stamp.toFixed(0)} µs, ` +
        `SCAN + DEL ${(scan / 1_000).toFixed(0)} ms   ratio ${(scan / stamp).toFixed(0)}× faster`
    )
  })

const program = Effect.gen(function*() {
  console.log(`cachefx redis benchmark on ${machine()}`)
  const { client, port } = yield* server
  const raw = new Redis(port, "127.0.0.1")
  yield* Effect.addFinalizer(() => Effect.sync(() => raw.disconnect()))
  const store = yield* hits(client, raw).pipe(Effect.provide(RedisStore.layer({ client })))
  yield* wipes(client, store)
}).pipe(Effect.scoped)

Effect.runPromise(program)
