/**
 * cachefx `cached()` on the memory store against the in-memory peers, same process:
 * - a hit, one fiber, cycling over 1,000 keys of a two-field constructor: against
 *   Effect's `Cache.get` (a string key built each call, as cachefx builds its own),
 *   cache-manager `wrap` (its default in-memory Keyv) and bentocache's memory store
 *   (default, entries serialized; and `serialize: false`), each called natively, the
 *   peers that are not Effect from a plain async loop;
 * - 1,000 concurrent misses of one key (a new key each burst), the computation
 *   suspending once so that the other 999 callers arrive while it runs: time per burst
 *   and computations per burst.
 *
 * Run: npm run bench (BENCH_ROUNDS, BENCH_SAMPLE_MS: see ./harness.ts)
 */
import { Cached, CacheStore } from "@cachefx/core"
import type { BentoCache } from "bentocache"
import { Cache, Duration, Effect } from "effect"
import { asyncLoop, compare, type Comparison, counter, fiberLoop, main, measure } from "./harness.js"
import { inputOfPeerKey, type Item, inputs, item, Items, peerKey } from "./items.js"
import { bentoMemory, cacheManager } from "./peers.js"

/** The targets of issue 19, on ratios of this run. */
const hitTargets: ReadonlyArray<Comparison> = [
  { name: "memory hit vs Effect Cache.get", subject: "cachefx", baseline: "Cache.get", quantity: { of: "time", unit: "ns" }, target: "≤ 1.5×" },
  { name: "memory hit vs cache-manager wrap", subject: "cachefx", baseline: "cache-manager wrap", quantity: { of: "time", unit: "ns" } },
  { name: "memory hit vs bentocache memory", subject: "cachefx", baseline: "bentocache", quantity: { of: "time", unit: "ns" }, target: "≤ 0.4×" },
  { name: "memory hit vs bentocache memory, serialize: false", subject: "cachefx", baseline: "bentocache serialize: false", quantity: { of: "time", unit: "ns" } },
  { name: "memory hit, CPU vs Effect Cache.get", subject: "cachefx", baseline: "Cache.get", quantity: { of: "cpu", unit: "ns" } }
]

const burstTargets: ReadonlyArray<Comparison> = [
  { name: "1,000 concurrent misses of one key vs Cache.get", subject: "cachefx", baseline: "Cache.get", quantity: { of: "time", unit: "µs" }, target: "≤ 1.0×" },
  { name: "computations per 1,000 concurrent misses vs Cache.get", subject: "cachefx", baseline: "Cache.get", quantity: { of: "meter", meter: "computations", unit: "computations" }, target: "≤ 1" },
  { name: "1,000 concurrent misses of one key vs bentocache memory", subject: "cachefx", baseline: "bentocache", quantity: { of: "time", unit: "µs" } },
  { name: "computations per 1,000 concurrent misses vs bentocache", subject: "cachefx", baseline: "bentocache", quantity: { of: "meter", meter: "computations", unit: "computations" } },
  { name: "1,000 concurrent misses of one key vs cache-manager wrap", subject: "cachefx", baseline: "cache-manager wrap", quantity: { of: "time", unit: "µs" } },
  { name: "computations per 1,000 concurrent misses vs cache-manager", subject: "cachefx", baseline: "cache-manager wrap", quantity: { of: "meter", meter: "computations", unit: "computations" } }
]

const keys = inputs()
/** Every key filled, then read once more, before calibration. */
const warmUp = 2 * keys.length

const hits = Effect.gen(function*() {
  const getItem = Cached.cached({ key: Items, ttl: "1 hour" })((input: Item) => Effect.succeed(item(input)))
  const effectCache = yield* Cache.make({
    capacity: 100_000,
    timeToLive: Duration.hours(1),
    lookup: (key: string) => Effect.succeed(item(inputOfPeerKey(key)))
  })
  const manager = yield* cacheManager
  const bento = yield* bentoMemory(true)
  const bentoRaw = yield* bentoMemory(false)
  const bentoGet = (cache: BentoCache<Record<string, never>>) => (i: number) => {
    const input = keys[i % keys.length]!
    return cache.getOrSet({ key: peerKey(input), ttl: "1h", factory: () => item(input) })
  }
  const samples = yield* measure([
    { name: "cachefx", run: fiberLoop((i) => getItem(keys[i % keys.length]!)), warmUp },
    { name: "Cache.get", run: fiberLoop((i) => effectCache.get(peerKey(keys[i % keys.length]!))), warmUp },
    {
      name: "cache-manager wrap",
      run: asyncLoop((i) => {
        const input = keys[i % keys.length]!
        return manager.wrap(peerKey(input), () => item(input), 3_600_000)
      }),
      warmUp
    },
    { name: "bentocache", run: asyncLoop(bentoGet(bento)), warmUp },
    { name: "bentocache serialize: false", run: asyncLoop(bentoGet(bentoRaw)), warmUp }
  ])
  compare(samples, hitTargets)
}).pipe(Effect.scoped)

const burst = 1_000

const misses = Effect.gen(function*() {
  const computed = { cachefx: 0, effect: 0, bento: 0, manager: 0 }
  const compute = (side: keyof typeof computed, input: Item) =>
    Effect.as(Effect.yieldNow(), input).pipe(Effect.map((input) => (computed[side]++, item(input))))
  const computeAsync = async (side: keyof typeof computed, input: Item) => {
    await Promise.resolve()
    computed[side]++
    return item(input)
  }
  const slowItem = Cached.cached({ key: Items, name: "burst", ttl: "1 hour" })((input: Item) => compute("cachefx", input))
  const slowCache = yield* Cache.make({
    capacity: 1_000_000,
    timeToLive: Duration.hours(1),
    lookup: (key: string) => compute("effect", inputOfPeerKey(key))
  })
  const bento = yield* bentoMemory(true)
  const manager = yield* cacheManager
  const fresh = (i: number): Item => ({ shop: 99, id: i })
  const callers = Array.from({ length: burst })
  const all = <A, R>(f: () => Effect.Effect<A, never, R>) => Effect.all(callers.map(f), { concurrency: "unbounded", discard: true })
  const computations = (side: keyof typeof computed) => [counter("computations", "computations", () => computed[side])]
  const samples = yield* measure([
    { name: "cachefx", run: fiberLoop((i) => all(() => slowItem(fresh(i)))), meters: computations("cachefx") },
    { name: "Cache.get", run: fiberLoop((i) => all(() => slowCache.get(peerKey(fresh(i))))), meters: computations("effect") },
    {
      name: "bentocache",
      run: asyncLoop((i) =>
        Promise.all(callers.map(() =>
          bento.getOrSet({ key: peerKey(fresh(i)), ttl: "1h", factory: () => computeAsync("bento", fresh(i)) })
        ))
      ),
      meters: computations("bento")
    },
    {
      name: "cache-manager wrap",
      run: asyncLoop((i) =>
        Promise.all(callers.map(() => manager.wrap(peerKey(fresh(i)), () => computeAsync("manager", fresh(i)), 3_600_000)))
      ),
      meters: computations("manager")
    }
  ])
  compare(samples, burstTargets)
}).pipe(Effect.scoped)

main(
  "cachefx memory store against Effect Cache, cache-manager and bentocache (memory)",
  Effect.zipRight(hits, misses).pipe(Effect.provide(CacheStore.layerMemory({ capacity: 1_000_000 })))
)
