/**
 * Where a Redis hit and a miss's fill spend CPU: this process's CPU (`process.cpuUsage`)
 * and the redis-server's (`INFO cpu`) per operation, and the commands Redis ran per
 * operation (`INFO commandstats`), over a fixed count of operations, cases interleaved
 * round by round (./harness.ts). CPU time is what a loaded machine distorts least (wall
 * time counts the time other processes hold the cores), so this is the measure to compare
 * code with on a shared machine; ./redis.ts gives the throughput and latency ratios.
 *
 * Cases: `cached()` hits from 50 fibers and from one; the store's own `get` alone from 50
 * fibers (the store's share of a hit); raw `GET`s from 50 plain async loops (for scale);
 * a miss and its fill from one fiber (a new key each time); bentocache L2 hits and fills
 * (for scale). 1,000 keys of a two-field constructor. Between the raw `GET` and the
 * store's `get`, the read script of a hit sent as the store sends it (the store's
 * internal `scripts` module, from the build), from 50 plain async loops and from 50
 * fibers (`Effect.async`): the steps of a hit, each with the cost of what it adds.
 *
 * Every comparison (a hit against raw `GET` and bentocache, each step of a hit against the
 * one before, a miss + fill against bentocache) is printed and recorded for the report.
 *
 * Run: npm run build --silent && npx tsx bench/redisCpu.ts (BENCH_ROUNDS, default 7;
 * BENCH_HITS, default 20,000; BENCH_FILLS, default 2,000)
 */
import { Cached, CacheSettings, CacheStore, KeyConstructor } from "@cachefx/core"
import { RedisStore } from "@cachefx/redis"
import { Duration, Effect } from "effect"
import { Redis } from "ioredis"
import {
  asyncLoop,
  asyncWorkers,
  type Case,
  compare,
  type Comparison,
  fiberLoop,
  fiberWorkers,
  main,
  measure,
  type Quantity,
  spread
} from "./harness.js"
import { type Item, inputs, item, Items, peerKey } from "./items.js"
import { bentoRedis } from "./peers.js"
import { redisCommands, redisCpu, server } from "./redisServer.js"

// the store's internal modules, from the build the rest of the bench runs (their types from the sources,
// which a clean checkout has before it is built)
const keysOf: typeof import("../packages/redis/src/internal/keys.js") = await import(
  new URL("../packages/redis/dist/internal/keys.js", import.meta.url).href
)
const scripts: typeof import("../packages/redis/src/internal/scripts.js") = await import(
  new URL("../packages/redis/dist/internal/scripts.js", import.meta.url).href
)

const hits = Number(process.env["BENCH_HITS"] ?? 20_000)
const fills = Number(process.env["BENCH_FILLS"] ?? 2_000)
const keys = inputs()

const clientCpu: Quantity = { of: "cpu", unit: "µs" }
const serverCpu: Quantity = { of: "meter", meter: "redis cpu", unit: "µs Redis CPU/op" }
const commandCount: Quantity = { of: "meter", meter: "redis commands", unit: "commands/op" }
const quantities = [["client CPU", clientCpu], ["Redis CPU", serverCpu], ["Redis commands", commandCount]] as const

/** `subject` against `baseline` in each of `measures` (by the names of `quantities`). */
const versus = (
  subject: string,
  baseline: string,
  measures: ReadonlyArray<(typeof quantities)[number][0]> = quantities.map(([name]) => name)
): ReadonlyArray<Comparison> =>
  quantities
    .filter(([name]) => measures.includes(name))
    .map(([name, quantity]) => ({ name: `${name}: ${subject} vs ${baseline}`, subject, baseline, quantity }))

const hit50 = "cachefx hit, 50 fibers"
const scriptAsync = "get script, 50 async loops"
const scriptFibers = "get script, 50 fibers"
const storeGet = "store get (leased, as cached() reads), 50 fibers"
const rawGet = "raw GET, 50 async loops"
const bentoHit = "bentocache L2 hit, 50 async loops"
const hitOne = "cachefx hit, one fiber"
const fill = "cachefx miss + fill, one fiber"
const bentoFill = "bentocache L2 miss + fill, one loop"

const comparisons: ReadonlyArray<Comparison> = [
  ...versus(hit50, rawGet),
  ...versus(hit50, bentoHit),
  // the steps of a hit, each against the one before it
  ...versus(scriptAsync, rawGet),
  ...versus(scriptFibers, scriptAsync, ["client CPU"]),
  ...versus(storeGet, scriptFibers, ["client CPU"]),
  ...versus(hit50, storeGet, ["client CPU"]),
  ...versus(hitOne, hit50, ["client CPU"]),
  ...versus(fill, bentoFill)
]

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

  const meters = [redisCpu(admin), redisCommands(admin)]
  const cases: ReadonlyArray<Case<unknown, CacheStore.CacheStore>> = ([
    { name: hit50, run: fiberWorkers(50, hit), ops: hits },
    { name: scriptAsync, run: asyncWorkers(50, script), ops: hits },
    {
      name: scriptFibers,
      run: fiberWorkers(50, (i) =>
        Effect.async<unknown>((resume) => {
          script(i).then((reply) => resume(Effect.succeed(reply)))
        })),
      ops: hits
    },
    { name: storeGet, run: fiberWorkers(50, (i) => store.get(storeKeys[i % keys.length]!, { lease: Duration.seconds(5) })), ops: hits },
    { name: rawGet, run: asyncWorkers(50, (i) => raw.get(`raw:${peerKey(keys[i % keys.length]!)}`)), ops: hits },
    { name: bentoHit, run: asyncWorkers(50, (i) => bentoGet(peerKey(keys[i % keys.length]!), keys[i % keys.length]!)), ops: hits },
    { name: hitOne, run: fiberLoop(hit), ops: Math.max(1, Math.round(hits / 4)) },
    { name: fill, run: fiberLoop(() => fillItem(newItem())), ops: fills },
    {
      name: bentoFill,
      run: asyncLoop(() => {
        const input = newItem()
        return bentoGet(`fill:${peerKey(input)}`, input)
      }),
      ops: fills
    }
  ] satisfies ReadonlyArray<Case<unknown, CacheStore.CacheStore>>).map((c) => ({ ...c, meters }))

  // the raw GETs read values of the size the store writes; the harness's warm-up sample of
  // each case fills every key its hits read
  yield* Effect.promise(() => raw.mset(...keys.flatMap((input) => [`raw:${peerKey(input)}`, "x".repeat(157)])))
  const samples = yield* measure(cases).pipe(
    Effect.provideService(CacheStore.CacheStore, store),
    Effect.provide(settings)
  )
  console.log("per operation, median (min–max) over the rounds:")
  for (const { name } of cases) {
    const all = samples.get(name)!
    console.log(
      `  ${name.padEnd(50)} client ${spread(all.map((s) => s.cpuNs / 1e3))} µs, ` +
        `Redis ${spread(all.map((s) => s.meters["redis cpu"]!))} µs, ${spread(all.map((s) => s.meters["redis commands"]!))} commands`
    )
  }
  compare(samples, comparisons)
}).pipe(Effect.scoped)

main("CPU per operation: cachefx on Redis, raw GET and bentocache L2", program)
