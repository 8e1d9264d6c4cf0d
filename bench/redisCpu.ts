/**
 * Where a Redis hit and a miss's fill spend CPU: this process's CPU (`process.cpuUsage`)
 * and the redis-server's (`INFO cpu`) per operation, and the commands Redis ran per
 * operation (`INFO commandstats`), over a fixed count of operations, cases interleaved
 * round by round. CPU time is what a loaded machine distorts least (wall time counts the
 * time other processes hold the cores), so this is the measure to compare code with on a
 * shared machine; ./redis.ts gives the throughput and latency ratios.
 *
 * Cases: `cached()` hits from 50 fibers and from one; the store's own `get` alone from 50
 * fibers (the store's share of a hit); raw `GET`s from 50 plain async loops (for scale);
 * a miss and its fill from one fiber (a new key each time); bentocache L2 hits and fills
 * (for scale). 1,000 keys of a two-field constructor. Between the raw `GET` and the
 * store's `get`, the read script of a hit sent as the store sends it (the store's
 * internal `scripts` module, from the build), from 50 plain async loops and from 50
 * fibers (`Effect.async`): the steps of a hit, each with the cost of what it adds.
 *
 * Run: npm run build --silent && npx tsx bench/redisCpu.ts (BENCH_ROUNDS, default 5;
 * BENCH_HITS, default 20,000; BENCH_FILLS, default 2,000)
 */
import { Cached, CacheSettings, CacheStore, KeyConstructor } from "@cachefx/core"
import { RedisStore } from "@cachefx/redis"
import { Duration, Effect } from "effect"
import { Redis } from "ioredis"
import { asyncLoop, asyncWorkers, fiberLoop, fiberWorkers, loadAverage, main, type Run } from "./harness.js"
import { type Item, inputs, item, Items, peerKey } from "./items.js"
import { bentoRedis } from "./peers.js"
import * as keysOf from "../packages/redis/dist/internal/keys.js"
import * as scripts from "../packages/redis/dist/internal/scripts.js"
import { server } from "./redisServer.js"

const rounds = Math.max(1, Number(process.env["BENCH_ROUNDS"] ?? 5))
const hits = Number(process.env["BENCH_HITS"] ?? 20_000)
const fills = Number(process.env["BENCH_FILLS"] ?? 2_000)
const keys = inputs()

const cpuSeconds = async (admin: Redis) => {
  const info = await admin.info("cpu")
  return [...info.matchAll(/^used_cpu_(?:user|sys):([\d.]+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0)
}
const commands = async (admin: Redis) => {
  const info = await admin.info("commandstats")
  return [...info.matchAll(/^cmdstat_(\w+):calls=(\d+)/gm)]
    .filter((m) => m[1] !== "info")
    .reduce((sum, m) => sum + Number(m[2]), 0)
}

interface Figures {
  readonly client: number
  readonly redis: number
  readonly commands: number
}

const median = (values: ReadonlyArray<number>) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

const program = Effect.gen(function*() {
  const { client: admin, port } = yield* server
  const client = yield* Effect.acquireRelease(
    Effect.sync(() => new Redis(port, "127.0.0.1")),
    (c) => Effect.sync(() => c.disconnect())
  )
  const raw = yield* Effect.acquireRelease(
    Effect.sync(() => new Redis(port, "127.0.0.1")),
    (c) => Effect.sync(() => c.disconnect())
  )
  const bento = yield* bentoRedis(port)
  // a 5 s operation timeout: on a loaded machine a read past the default 250 ms would fail
  // (the store's get) or compute (a call), and open the breaker: another measure
  const settings = CacheSettings.layer({ operationTimeout: "5 seconds" })
  const store = yield* RedisStore.make({ client }).pipe(Effect.provide(settings))

  const getItem = Cached.cached({ key: Items, ttl: "1 hour" })((input: Item) => Effect.succeed(item(input)))
  const fillItem = Cached.cached({ key: Items, name: "fill", ttl: "1 hour" })((input: Item) =>
    Effect.succeed(item(input))
  )
  const hit = (i: number) => getItem(keys[i % keys.length]!)
  const storeKeys = yield* Effect.forEach(keys, (input) => KeyConstructor.keyFor(Items, input))
  // the script of a leased read, as the store sends it (its fresh stamp and token are ids of the same length)
  const storeScripts = scripts.register(client)
  const physical = storeKeys.map(keysOf.physical)
  const script = (i: number) => {
    const at = physical[i % keys.length]!
    return storeScripts.cachefxGet(4, [at.entry, at.partitionStamp, at.namespaceStamp, keysOf.leaseOf(at.entry), `s${1e15 + i}`, "60000", "5000", `t${1e15 + i}`])
  }
  const bentoGet = (key: string, input: Item) => bento.getOrSet({ key, ttl: "1h", factory: () => item(input) })
  let fresh = 0
  const newItem = (): Item => ({ shop: 100 + (fresh % 10), id: fresh++ })

  const cases: ReadonlyArray<readonly [string, Run<unknown, CacheStore.CacheStore>, number]> = [
    ["cachefx hit, 50 fibers", fiberWorkers(50, hit), hits],
    ["get script, 50 async loops", asyncWorkers(50, script), hits],
    ["get script, 50 fibers", fiberWorkers(50, (i) => Effect.async<unknown>((resume) => {
      script(i).then((reply) => resume(Effect.succeed(reply)))
    })), hits],
    ["store get (leased, as cached() reads), 50 fibers", fiberWorkers(50, (i) => store.get(storeKeys[i % keys.length]!, { lease: Duration.seconds(5) })), hits],
    ["raw GET, 50 async loops", asyncWorkers(50, (i) => raw.get(`raw:${peerKey(keys[i % keys.length]!)}`)), hits],
    ["bentocache L2 hit, 50 async loops", asyncWorkers(50, (i) => bentoGet(peerKey(keys[i % keys.length]!), keys[i % keys.length]!)), hits],
    ["cachefx hit, one fiber", fiberLoop(hit), hits / 4],
    ["cachefx miss + fill, one fiber", fiberLoop(() => fillItem(newItem())), fills],
    ["bentocache L2 miss + fill, one loop", asyncLoop(() => {
      const input = newItem()
      return bentoGet(`fill:${peerKey(input)}`, input)
    }), fills]
  ]

  const run = (body: Run<unknown, CacheStore.CacheStore>, count: number) =>
    Effect.gen(function*() {
      const redisBefore = yield* Effect.promise(() => cpuSeconds(admin))
      const commandsBefore = yield* Effect.promise(() => commands(admin))
      const before = process.cpuUsage()
      yield* body(0, count)
      const used = process.cpuUsage(before)
      const redisAfter = yield* Effect.promise(() => cpuSeconds(admin))
      const commandsAfter = yield* Effect.promise(() => commands(admin))
      return {
        client: (used.user + used.system) / count,
        redis: (redisAfter - redisBefore) * 1e6 / count,
        commands: (commandsAfter - commandsBefore) / count
      } satisfies Figures
    }).pipe(Effect.provideService(CacheStore.CacheStore, store), Effect.provide(settings))

  // fills every key and warms up every path
  yield* Effect.promise(() => raw.mset(...keys.flatMap((input) => [`raw:${peerKey(input)}`, "x".repeat(157)])))
  for (const [, body, count] of cases) {
    yield* run(body, count)
  }
  const figures = new Map<string, Array<Figures>>(cases.map(([name]) => [name, []]))
  for (let round = 0; round < rounds; round++) {
    for (let c = 0; c < cases.length; c++) {
      const [name, body, count] = cases[(c + round) % cases.length]!
      figures.get(name)!.push(yield* run(body, count))
    }
  }
  console.log(`${rounds} rounds; medians (min–max) per operation; load average at end ${loadAverage()}`)
  for (const [name, all] of figures) {
    const show = (pick: (f: Figures) => number, digits: number) => {
      const values = all.map(pick)
      return `${median(values).toFixed(digits)} (${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)})`
    }
    console.log(
      `${name.padEnd(50)} client ${show((f) => f.client, 1)} µs, Redis ${show((f) => f.redis, 1)} µs, ${show((f) => f.commands, 2)} commands`
    )
  }
}).pipe(Effect.scoped)

main("CPU per operation: cachefx on Redis, raw GET and bentocache L2", program)
