/**
 * cachefx `cached()` on the memory store against Effect's own `Cache`, same process:
 * - the cost of a hit (ns/op; target ≤ 2× `Cache.get`);
 * - 1,000 concurrent misses of one key (µs per burst; both compute once).
 *
 * Run: npm run bench
 */
import { Cached, CacheStore, KeyConstructor, KeyField } from "@cachefx/core"
import { Cache, Duration, Effect } from "effect"
import { machine, microsPerRun, nsPerOp, report } from "./harness.js"

const Users = KeyConstructor.make({ namespace: "users", fields: [KeyField.arg("id", { partition: true })] })
const user = (id: number) => ({ id, name: `user ${id}`, roles: ["reader"] })

const program = Effect.gen(function*() {
  console.log(`cachefx core benchmark on ${machine()}`)

  const getUser = Cached.cached({ key: Users, ttl: "1 hour" })((input: { readonly id: number }) =>
    Effect.succeed(user(input.id))
  )
  const effectCache = yield* Cache.make({
    capacity: 10_000,
    timeToLive: Duration.hours(1),
    lookup: (id: number) => Effect.succeed(user(id))
  })
  yield* getUser({ id: 1 })
  yield* effectCache.get(1)

  const hitOptions = { iterations: 200_000, rounds: 7 }
  const cachefxHit = yield* nsPerOp(getUser({ id: 1 }), hitOptions)
  const effectHit = yield* nsPerOp(effectCache.get(1), hitOptions)
  report("memory hit (cached() vs Cache.get)", cachefxHit, effectHit, "ns/op", "Cache.get", "≤ 2×")

  const burst = 1_000
  let cachefxComputations = 0
  const slowUser = Cached.cached({ key: Users, name: "slow-users", ttl: "1 hour" })((input: { readonly id: number }) =>
    Effect.sleep("1 millis").pipe(Effect.map(() => (cachefxComputations++, user(input.id))))
  )
  let effectComputations = 0
  const slowCache = yield* Cache.make({
    capacity: 100_000,
    timeToLive: Duration.hours(1),
    lookup: (id: number) => Effect.sleep("1 millis").pipe(Effect.map(() => (effectComputations++, user(id))))
  })
  const rounds = 15
  const cachefxBurst = yield* microsPerRun(
    (round) => Effect.all(Array.from({ length: burst }, () => slowUser({ id: 1_000 + round })), { concurrency: "unbounded" }),
    rounds
  )
  const effectBurst = yield* microsPerRun(
    (round) => Effect.all(Array.from({ length: burst }, () => slowCache.get(1_000 + round)), { concurrency: "unbounded" }),
    rounds
  )
  report("1,000 concurrent misses of one key", cachefxBurst, effectBurst, "µs", "Cache.get")
  console.log(
    `computations per burst: cachefx ${cachefxComputations / (rounds + 1)}, Effect Cache ${effectComputations / (rounds + 1)}`
  )
})

Effect.runPromise(program.pipe(Effect.provide(CacheStore.layerMemory({ capacity: 100_000 }))))
