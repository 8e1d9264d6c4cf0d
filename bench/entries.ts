/**
 * A memory hit as the store grows: `cached()` on the memory store against Effect's
 * `Cache.get`, each holding 1,000, 100,000 and then 1,000,000 entries of a two-field
 * constructor (`BENCH_ENTRIES`, comma-separated, to choose), hits spread over every entry
 * (a stride through the keyspace, the input built each call). One fiber, the two sides
 * interleaved round by round (./harness.ts); a fresh store and `Cache` for each size,
 * filled by misses before the measure (a cachefx miss and its fill cost ~20 memory hits:
 * the million takes most of this benchmark's time).
 *
 * Run: npm run bench:entries
 */
import { Cached, CacheStore } from "@cachefx/core"
import { Cache, Duration, Effect } from "effect"
import { compare, fiberLoop, main, measure } from "./harness.js"
import { inputOfPeerKey, type Item, item, Items, peerKey } from "./items.js"

const sizes = (process.env["BENCH_ENTRIES"] ?? "1000,100000,1000000").split(",").map(Number)

/** A prime that no size shares a factor with: `i * stride % size` visits every entry. */
const stride = 7_919

const getItem = Cached.cached({ key: Items, ttl: "1 hour" })((input: Item) => Effect.succeed(item(input)))

const sized = (size: number) =>
  Effect.gen(function*() {
    const inputOf = (i: number): Item => {
      const k = (i * stride) % size
      return { shop: k % 10, id: Math.floor(k / 10) }
    }
    const effectCache = yield* Cache.make({
      capacity: size,
      timeToLive: Duration.hours(1),
      lookup: (key: string) => Effect.succeed(item(inputOfPeerKey(key)))
    })
    const label = size.toLocaleString("en-US")
    const samples = yield* measure([
      { name: `cachefx, ${label} entries`, run: fiberLoop((i) => getItem(inputOf(i))), warmUp: size },
      { name: `Cache.get, ${label} entries`, run: fiberLoop((i) => effectCache.get(peerKey(inputOf(i)))), warmUp: size }
    ])
    compare(samples, [{
      name: `memory hit, ${label} entries, vs Cache.get`,
      subject: `cachefx, ${label} entries`,
      baseline: `Cache.get, ${label} entries`,
      quantity: { of: "time", unit: "ns" }
    }, {
      name: `  CPU: memory hit, ${label} entries, vs Cache.get`,
      subject: `cachefx, ${label} entries`,
      baseline: `Cache.get, ${label} entries`,
      quantity: { of: "cpu", unit: "ns" }
    }])
  }).pipe(Effect.provide(CacheStore.layerMemory({ capacity: size })))

main("cachefx memory hit as the store grows, against Effect Cache", Effect.forEach(sizes, sized, { discard: true }))
