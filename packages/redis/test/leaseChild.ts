/**
 * One application instance of the lease tests and of `bench/tiers/stampede.ts`, run as
 * its own process. `argv[2]` is a JSON `Plan`. It prints `ready` once its store is
 * built, waits for a line on stdin, then makes `calls` concurrent calls of one key,
 * prints `computing` when its own computation starts (each one counted by `INCR
 * <counter>` in Redis), and at the end `result <json>` (the distinct values answered,
 * and how many calls failed).
 */
import { Cached, CacheSettings, CacheStore, KeyConstructor } from "@cachefx/core"
import { RedisStore } from "@cachefx/redis"
import { Effect, Layer } from "effect"
import { Redis } from "ioredis"
import { createInterface } from "node:readline"

export interface Plan {
  readonly url: string
  readonly prefix: string
  readonly counter: string
  readonly calls: number
  readonly computeMillis: number
  readonly leaseMillis: number
  /** Without leases: the store's `leases` removed, the baseline of the benchmark. */
  readonly leases: boolean
}

export interface Outcome {
  readonly values: ReadonlyArray<string>
  readonly failures: number
}

const plan: Plan = JSON.parse(process.argv[2]!)
const counter = new Redis(plan.url)

const fetchPrice = Cached.cached({ key: KeyConstructor.make({ namespace: "price" }), ttl: "1 minute" })(
  Effect.promise(() => counter.incr(plan.counter)).pipe(
    Effect.tap(() => Effect.sync(() => console.log("computing"))),
    Effect.zipLeft(Effect.sleep(plan.computeMillis)),
    Effect.map((n) => `computed by ${process.pid} as #${n}`)
  )
)

const client = new Redis(plan.url, { enableOfflineQueue: false, maxRetriesPerRequest: 0 })
const Store = Layer.scoped(
  CacheStore.CacheStore,
  Effect.map(RedisStore.make({ client }), (store) => plan.leases ? store : { ...store, leases: undefined })
)

const go = new Promise<void>((resolve) => {
  const input = createInterface({ input: process.stdin })
  input.once("line", () => {
    input.close()
    process.stdin.destroy()
    resolve()
  })
})

// the client has no offline queue: calls made before it is connected would fail open
const connected = new Promise<void>((resolve) => client.status === "ready" ? resolve() : client.once("ready", resolve))

Effect.gen(function*() {
  yield* Effect.promise(() => connected)
  console.log("ready")
  yield* Effect.promise(() => go)
  const exits = yield* Effect.all(Array.from({ length: plan.calls }, () => Effect.exit(fetchPrice)), {
    concurrency: "unbounded"
  })
  const values = new Set<string>()
  let failures = 0
  for (const exit of exits) {
    if (exit._tag === "Success") values.add(exit.value)
    else failures++
  }
  const outcome: Outcome = { values: [...values], failures }
  console.log("result " + JSON.stringify(outcome))
}).pipe(
  Effect.provide(Store),
  Effect.provide(CacheSettings.layer({ keyPrefix: plan.prefix, leaseDuration: plan.leaseMillis, operationTimeout: "1 second" })),
  Effect.ensuring(Effect.promise(() => Promise.all([client.quit(), counter.quit()]))),
  Effect.runPromise
)
