/**
 * The Redis store against raw ioredis, on a redis-server this benchmark starts (and
 * stops) on a free loopback port, so no other client skews it:
 * - hit throughput: 50 concurrent fibers of `cached()` hits vs 50 concurrent raw `GET`s
 *   of a value of the same size (ops/s; target ≥ 0.8×), `BENCH_ROUNDS` rounds (default 6)
 *   of 2 s a side, the side that starts a round alternating; with the CPU time each
 *   operation costs the client (this process) and the Redis server, steadier than
 *   throughput on a shared machine; and Redis commands per hit from `INFO commandstats`
 *   (target: 1 call from the client); for scale, raw GETs on a client with ioredis's
 *   `enableAutoPipelining`, which batches a tick's commands in one write as the store
 *   does for its scripts;
 * - partition wipe with `BENCH_KEYS` keys loaded (default 1,000,000; the partition holds
 *   1,000 of them): a stamp replacement vs `SCAN MATCH` over the whole keyspace + `DEL`,
 *   as Restflow wipes (target ≥ 1000×).
 *
 * `BENCH_PIN=1` pins this process to CPU 0 and the redis-server to CPU 1 (with `taskset`),
 * for both sides alike: Redis then never waits for the client's core.
 *
 * Run: npm run bench:redis
 */
import { Cached, CacheStore } from "@cachefx/core"
import { RedisStore } from "@cachefx/redis"
import { Effect } from "effect"
import { Redis } from "ioredis"
import { execFileSync } from "node:child_process"
import * as os from "node:os"
import { machine, median, opsPerSecond, report } from "./harness.js"
import { type Item, item, Items } from "./items.js"
import { serverOn } from "./redisServer.js"
import { record } from "./results.js"

const totalKeys = Number(process.env["BENCH_KEYS"] ?? 1_000_000)
const partitionKeys = 1_000
const fibers = 50
const hitSeconds = 2
const rounds = 3
const hitRounds = Number(process.env["BENCH_ROUNDS"] ?? 6)


const commandCalls = async (client: Redis): Promise<Map<string, number>> => {
  const info = await client.info("commandstats")
  return new Map([...info.matchAll(/^cmdstat_(\w+):calls=(\d+)/gm)].map((m) => [m[1]!, Number(m[2])]))
}

/** Microseconds of CPU the redis-server has used so far. */
const serverCpu = async (client: Redis): Promise<number> => {
  const info = await client.info("cpu")
  const seconds = [...info.matchAll(/^used_cpu_(?:user|sys):([\d.]+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0)
  return seconds * 1e6
}

/** One round of one side: ops/s, and µs of CPU per operation in this process and in Redis. */
interface Round {
  readonly rate: number
  readonly client: number
  readonly server: number
}

/** Runs `op` in `fibers` concurrent loops for `hitSeconds`. */
const throughput = <R>(op: Effect.Effect<unknown, never, R>, redis: Redis) =>
  Effect.gen(function*() {
    const serverBefore = yield* Effect.promise(() => serverCpu(redis))
    const before = process.cpuUsage()
    const rate = yield* opsPerSecond(op, { fibers, seconds: hitSeconds })
    const used = process.cpuUsage(before)
    const serverUsed = (yield* Effect.promise(() => serverCpu(redis))) - serverBefore
    const ops = rate * hitSeconds
    return { rate, client: (used.user + used.system) / ops, server: serverUsed / ops } satisfies Round
  })

const spread = (values: ReadonlyArray<number>, digits: number) =>
  `${median(values).toFixed(digits)} (${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)})`

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
    const cachefxRounds: Array<Round> = []
    const rawRounds: Array<Round> = []
    yield* throughput(cachefxHit, client) // warm up
    yield* throughput(rawGet, client)
    for (let round = 0; round < hitRounds; round++) {
      if (round % 2 === 0) {
        cachefxRounds.push(yield* throughput(cachefxHit, client))
        rawRounds.push(yield* throughput(rawGet, client))
      } else {
        rawRounds.push(yield* throughput(rawGet, client))
        cachefxRounds.push(yield* throughput(cachefxHit, client))
      }
    }
    const rates = cachefxRounds.map((round) => round.rate)
    const rawRates = rawRounds.map((round) => round.rate)
    report(`hits, ${fibers} fibers (cached() vs raw GET)`, median(rates), median(rawRates), "ops/s", "raw GET", "≥ 0.8×")
    console.log(`  ratio by round: ${rates.map((rate, i) => (rate / rawRates[i]!).toFixed(2)).join(" ")}`)
    for (const [name, rounds] of [["cached()", cachefxRounds], ["raw GET", rawRounds]] as const) {
      console.log(
        `  ${name.padEnd(9)} µs of CPU per operation, median (min–max): client ${spread(rounds.map((r) => r.client), 1)}, ` +
          `Redis ${spread(rounds.map((r) => r.server), 1)}, both ${spread(rounds.map((r) => r.client + r.server), 1)}`
      )
    }
    const both = (rounds: ReadonlyArray<Round>) => median(rounds.map((r) => r.client + r.server))
    console.log(
      `  CPU per operation, raw GET / cached(): client ${
        (median(rawRounds.map((r) => r.client)) / median(cachefxRounds.map((r) => r.client))).toFixed(2)
      }×, client and Redis ${(both(rawRounds) / both(cachefxRounds)).toFixed(2)}× (the ratio throughput tends to when the machine is CPU-bound)`
    )
    const plain = yield* Effect.promise(() => plainGets(raw, inputs.length))
    console.log(`for scale: raw GET from ${fibers} plain async loops (no Effect): ${plain.toFixed(0)} ops/s`)
    // The store sends the scripts of one tick in one write; ioredis does the same for a
    // whole client with `enableAutoPipelining`, which a caller of raw GETs may turn on.
    const pipelined = yield* Effect.acquireRelease(
      Effect.sync(() => new Redis(raw.options.port ?? 6379, "127.0.0.1", { enableAutoPipelining: true })),
      (client) => Effect.sync(() => client.disconnect())
    )
    let k = 0
    const pipelinedGet = Effect.promise(() => pipelined.get(`raw:${k++ % inputs.length}`))
    yield* throughput(pipelinedGet, client) // warm up
    const pipelinedRounds: Array<Round> = []
    for (let round = 0; round < hitRounds; round++) {
      pipelinedRounds.push(yield* throughput(pipelinedGet, client))
    }
    const pipelinedRate = median(pipelinedRounds.map((round) => round.rate))
    console.log(
      `for scale: raw GET on a client with enableAutoPipelining, ${fibers} fibers: ${pipelinedRate.toFixed(0)} ops/s ` +
        `(cached() ${(median(rates) / pipelinedRate).toFixed(2)}× of it; CPU per GET: client ${
          spread(pipelinedRounds.map((r) => r.client), 1)
        }, Redis ${spread(pipelinedRounds.map((r) => r.server), 1)} µs)`
    )

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

const pin = process.env["BENCH_PIN"] === "1"

const program = Effect.gen(function*() {
  console.log(`cachefx redis benchmark on ${machine()}, load average ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}`)
  if (pin) {
    execFileSync("taskset", ["-cp", "0", String(process.pid)], { stdio: "ignore" })
    console.log("pinned: this process on CPU 0, redis-server on CPU 1")
  }
  const { client, port } = yield* serverOn(pin ? 1 : undefined)
  const raw = new Redis(port, "127.0.0.1")
  yield* Effect.addFinalizer(() => Effect.sync(() => raw.disconnect()))
  const store = yield* hits(client, raw).pipe(Effect.provide(RedisStore.layer({ client })))
  yield* wipes(client, store)
}).pipe(Effect.scoped)

Effect.runPromise(program)
