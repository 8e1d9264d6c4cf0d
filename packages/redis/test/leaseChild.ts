/**
 * One application instance of the lease tests and of `bench/tiers/stampede.ts`, run as
 * its own process. `argv[2]` is a JSON `Plan`. It prints `ready` once its store is
 * connected, then, for each `Round` read as a JSON line on stdin, makes `calls`
 * concurrent calls of the round's key, with the store's leases or without them (the
 * baseline: local single-flight only), and prints `result <json>` (an `Outcome`). Each
 * computation prints `computing` when it starts and is counted in Redis by
 * `INCR <counter>:<round>`. It exits when stdin ends.
 */
import { Cached, CacheSettings, CacheStore, KeyConstructor, KeyField } from "@cachefx/core"
import { RedisStore } from "@cachefx/redis"
import { Effect, Exit } from "effect"
import { Redis } from "ioredis"
import { createInterface } from "node:readline"

export interface Plan {
  readonly url: string
  readonly prefix: string
  readonly counter: string
  readonly calls: number
  readonly computeMillis: number
  readonly leaseMillis: number
}

export interface Round {
  readonly round: number
  readonly leases: boolean
}

export interface Outcome {
  readonly round: number
  /** The distinct values the calls were answered with. */
  readonly values: ReadonlyArray<string>
  readonly failures: number
  readonly millis: number
}

const plan: Plan = JSON.parse(process.argv[2]!)
const counter = new Redis(plan.url)
const client = new Redis(plan.url, { enableOfflineQueue: false, maxRetriesPerRequest: 0 })

const fetchPrice = Cached.cached({
  key: KeyConstructor.make({ namespace: "price", fields: [KeyField.arg("round")] }),
  ttl: "1 minute"
})((input: { readonly round: number }) =>
  Effect.promise(() => counter.incr(`${plan.counter}:${input.round}`)).pipe(
    Effect.tap(() => Effect.sync(() => console.log("computing"))),
    Effect.zipLeft(Effect.sleep(plan.computeMillis)),
    Effect.map((n) => `computed by ${process.pid} as #${n}`)
  )
)

const play = (round: Round, store: CacheStore.Service) =>
  Effect.gen(function*() {
    const start = performance.now()
    const exits = yield* Effect.all(Array.from({ length: plan.calls }, () => Effect.exit(fetchPrice(round))), {
      concurrency: "unbounded"
    }).pipe(Effect.provideService(CacheStore.CacheStore, round.leases ? store : { ...store, leases: undefined }))
    const millis = performance.now() - start
    const values = new Set(exits.filter(Exit.isSuccess).map((exit) => exit.value))
    const outcome: Outcome = { round: round.round, values: [...values], failures: exits.filter(Exit.isFailure).length, millis }
    console.log("result " + JSON.stringify(outcome))
  })

// the client has no offline queue: calls made before it is connected would fail open
const connected = new Promise<void>((resolve) => client.status === "ready" ? resolve() : client.once("ready", resolve))

Effect.gen(function*() {
  const store = yield* RedisStore.make({ client })
  yield* Effect.promise(() => connected)
  const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]()
  console.log("ready")
  for (;;) {
    const line = yield* Effect.promise(() => lines.next())
    if (line.done === true) return
    yield* play(JSON.parse(line.value), store)
  }
}).pipe(
  Effect.scoped,
  // A read that times out computes without single-flight (fail-open): the timeout is
  // loose, so that a machine loaded by other work does not count as a stampede.
  Effect.provide(CacheSettings.layer({ keyPrefix: plan.prefix, leaseDuration: plan.leaseMillis, operationTimeout: "5 seconds" })),
  Effect.ensuring(Effect.promise(() => Promise.all([client.quit(), counter.quit()]))),
  Effect.runPromise
)
