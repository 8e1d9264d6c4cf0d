/**
 * The Redis store against raw ioredis and bentocache's Redis store (L2), on a
 * redis-server this benchmark starts (and stops) on a free loopback port, so no other
 * client skews it. Keys cycle over 1,000 inputs of a two-field constructor; raw GETs read
 * values of the size the store writes.
 * - hits, 50 callers (throughput): `cached()` from 50 fibers against raw `GET` from 50
 *   plain async loops (a default client, and one with `enableAutoPipelining`) and
 *   bentocache `getOrSet` on a Redis-only store from 50 plain async loops;
 * - hits, one caller (latency): the same, one at a time;
 * - a miss and its fill, one caller: `cached()` on a new key against bentocache's, and a
 *   raw `GET` + `SET` for scale.
 * Every case also reports the redis-server's CPU per operation (`INFO cpu`) and the
 * commands Redis ran per operation (`INFO commandstats`, a script's own calls included).
 *
 * `BENCH_PIN=1` pins this process to CPU 0 and the redis-server to CPU 1 (with `taskset`).
 *
 * Run: npm run bench:redis (BENCH_ROUNDS, BENCH_SAMPLE_MS: see ./harness.ts)
 */
import { Cached, CacheStore } from "@cachefx/core"
import { RedisStore } from "@cachefx/redis"
import type { BentoCache } from "bentocache"
import { Effect } from "effect"
import { Redis } from "ioredis"
import { execFileSync } from "node:child_process"
import { asyncLoop, asyncWorkers, compare, type Comparison, fiberLoop, fiberWorkers, main, measure } from "./harness.js"
import { type Item, inputs, item, Items, peerKey } from "./items.js"
import { bentoRedis } from "./peers.js"
import { redisCommands, redisCpu, serverOn } from "./redisServer.js"

const callers = 50
const keys = inputs()
const warmUp = 2 * keys.length

const versus = (subject: string, baseline: string, target?: string): ReadonlyArray<Comparison> => [
  { name: `${subject} vs ${baseline}`, subject, baseline, quantity: { of: "rate" }, ...(target === undefined ? {} : { target }) },
  { name: `  Redis CPU: ${subject} vs ${baseline}`, subject, baseline, quantity: { of: "meter", meter: "redis cpu", unit: "µs Redis CPU/op" } },
  { name: `  client CPU: ${subject} vs ${baseline}`, subject, baseline, quantity: { of: "cpu", unit: "µs" } },
  { name: `  Redis commands: ${subject} vs ${baseline}`, subject, baseline, quantity: { of: "meter", meter: "redis commands", unit: "commands/op" } }
]
const latency = (subject: string, baseline: string, target?: string): Comparison => ({
  name: `${subject} vs ${baseline}, latency`,
  subject,
  baseline,
  quantity: { of: "time", unit: "µs" },
  ...(target === undefined ? {} : { target })
})

/** The targets of issue 19, on ratios of this run (throughput: subject / baseline ops/s). */
const throughputTargets: ReadonlyArray<Comparison> = [
  ...versus("cachefx hit, 50 fibers", "raw GET, 50 async loops", "≥ 0.6×"),
  ...versus("cachefx hit, 50 fibers", "bentocache L2, 50 async loops", "≥ 1.3×"),
  ...versus("cachefx hit, 50 fibers", "raw GET auto-pipelined, 50 async loops")
]
const oneCallerTargets: ReadonlyArray<Comparison> = [
  latency("cachefx hit, one fiber", "raw GET, one loop", "≤ 1.3×"),
  latency("cachefx hit, one fiber", "bentocache L2, one loop"),
  { name: "  Redis CPU: cachefx hit vs raw GET, one caller", subject: "cachefx hit, one fiber", baseline: "raw GET, one loop", quantity: { of: "meter", meter: "redis cpu", unit: "µs Redis CPU/op" } },
  { name: "  client CPU: cachefx hit vs raw GET, one caller", subject: "cachefx hit, one fiber", baseline: "raw GET, one loop", quantity: { of: "cpu", unit: "µs" } }
]
const fillTargets: ReadonlyArray<Comparison> = [
  latency("cachefx miss + fill", "bentocache L2 miss + fill", "≤ 1.0×"),
  latency("cachefx miss + fill", "raw GET + SET"),
  { name: "  Redis CPU: cachefx miss + fill vs bentocache L2", subject: "cachefx miss + fill", baseline: "bentocache L2 miss + fill", quantity: { of: "meter", meter: "redis cpu", unit: "µs Redis CPU/op" } },
  { name: "  Redis commands: cachefx miss + fill vs bentocache L2", subject: "cachefx miss + fill", baseline: "bentocache L2 miss + fill", quantity: { of: "meter", meter: "redis commands", unit: "commands/op" } }
]

const pin = process.env["BENCH_PIN"] === "1"

const program = Effect.gen(function*() {
  if (pin) {
    execFileSync("taskset", ["-cp", "0", String(process.pid)], { stdio: "ignore" })
    console.log("pinned: this process on CPU 0, redis-server on CPU 1")
  }
  const { client, port } = yield* serverOn(pin ? 1 : undefined)
  const connect = (options: { readonly enableAutoPipelining?: boolean } = {}) =>
    Effect.acquireRelease(Effect.sync(() => new Redis(port, "127.0.0.1", options)), (c) => Effect.sync(() => c.disconnect()))
  const admin = yield* connect()
  const raw = yield* connect()
  const pipelined = yield* connect({ enableAutoPipelining: true })
  const bento = yield* bentoRedis(port)
  const store = yield* RedisStore.make({ client })
  yield* Effect.provideService(measurements(admin, raw, pipelined, bento), CacheStore.CacheStore, store)
}).pipe(Effect.scoped)

const measurements = (admin: Redis, raw: Redis, pipelined: Redis, bento: BentoCache<Record<string, never>>) =>
Effect.gen(function*() {
  const meters = [redisCpu(admin), redisCommands(admin)]
  const bentoGet = (key: string, input: Item) => bento.getOrSet({ key, ttl: "1h", factory: () => item(input) })

  // hits: every key filled once (the warm-up), then read
  const getItem = Cached.cached({ key: Items, ttl: "1 hour" })((input: Item) => Effect.succeed(item(input)))
  const cachefxHit = (i: number) => getItem(keys[i % keys.length]!)
  const bentoHit = (i: number) => bentoGet(peerKey(keys[i % keys.length]!), keys[i % keys.length]!)
  yield* fiberLoop(cachefxHit)(0, keys.length)
  const stored = yield* Effect.promise(async () => {
    const found = await admin.keys("*items*")
    return Math.max(...await Promise.all(found.map((key) => admin.strlen(key))))
  })
  yield* Effect.promise(() => raw.mset(...keys.flatMap((input) => [`raw:${peerKey(input)}`, "x".repeat(stored)])))
  console.log(`  raw GETs read ${stored} bytes, the largest entry the store wrote`)
  const rawGet = (client: Redis) => (i: number) => client.get(`raw:${peerKey(keys[i % keys.length]!)}`)
  const throughput = yield* measure([
    { name: "cachefx hit, 50 fibers", run: fiberWorkers(callers, cachefxHit), warmUp, meters },
    { name: "raw GET, 50 async loops", run: asyncWorkers(callers, rawGet(raw)), warmUp, meters },
    { name: "raw GET auto-pipelined, 50 async loops", run: asyncWorkers(callers, rawGet(pipelined)), warmUp, meters },
    { name: "bentocache L2, 50 async loops", run: asyncWorkers(callers, bentoHit), warmUp, meters }
  ])
  compare(throughput, throughputTargets)
  const oneCaller = yield* measure([
    { name: "cachefx hit, one fiber", run: fiberLoop(cachefxHit), meters },
    { name: "raw GET, one loop", run: asyncLoop(rawGet(raw)), meters },
    { name: "bentocache L2, one loop", run: asyncLoop(bentoHit), meters }
  ])
  compare(oneCaller, oneCallerTargets)

  // a miss and its fill: a new key each operation
  const fillItem = Cached.cached({ key: Items, name: "fill", ttl: "1 hour" })((input: Item) => Effect.succeed(item(input)))
  const fresh = (i: number): Item => ({ shop: 100 + (i % 10), id: i })
  const fills = yield* measure([
    { name: "cachefx miss + fill", run: fiberLoop((i) => fillItem(fresh(i))), meters },
    { name: "bentocache L2 miss + fill", run: asyncLoop((i) => bentoGet(`fill:${peerKey(fresh(i))}`, fresh(i))), meters },
    {
      name: "raw GET + SET",
      run: asyncLoop(async (i) => {
        const key = `raw-fill:${peerKey(fresh(i))}`
        if ((await raw.get(key)) === null) {
          await raw.set(key, JSON.stringify(item(fresh(i))), "EX", 3_600)
        }
      }),
      meters
    }
  ])
  compare(fills, fillTargets)
})

main("cachefx Redis store against raw ioredis and bentocache L2", program)
