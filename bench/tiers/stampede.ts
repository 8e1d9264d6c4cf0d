/**
 * Distributed stampede: 2 application processes × 500 concurrent misses of one key,
 * against a redis-server of the benchmark's own. How many times the value is computed
 * (counted by `INCR` in Redis), with the Redis store's leases and without them (the
 * baseline: the same two processes, each with its local single-flight only). The two
 * sides are interleaved round by round (./harness.ts), one burst per sample; every burst
 * uses a new key. Target: 1 computation per burst with leases.
 *
 * `BENCH_COMPUTE_MS` (default 50: how long a computation takes). The instances run with
 * a 5 s operation timeout: a read that times out computes without single-flight
 * (fail-open), which on a machine loaded by other work would be counted as a stampede the
 * leases could not stop.
 *
 * Run: npm run bench:tiers
 */
import { Effect } from "effect"
import { Instance, type Outcome, type Plan } from "../../packages/redis/test/leaseInstance.js"
import { compare, counter, fiberLoop, main, measure } from "../harness.js"
import { server } from "../redisServer.js"

const computeMillis = Number(process.env["BENCH_COMPUTE_MS"] ?? 50)

const program = Effect.gen(function*() {
  const { client, port } = yield* server
  const plan: Plan = {
    url: `redis://127.0.0.1:${port}`,
    prefix: "stampede",
    counter: "stampede-computations",
    calls: 500,
    computeMillis,
    leaseMillis: 5_000
  }
  const instances = yield* Effect.acquireRelease(
    Effect.promise(async () => {
      const both = [new Instance(plan), new Instance(plan)] as const
      await Promise.all(both.map((instance) => instance.printed("ready")))
      return both
    }),
    (both) => Effect.promise(() => Promise.all(both.map((instance) => instance.kill())))
  )
  const totals = { leases: { computations: 0, failures: 0 }, local: { computations: 0, failures: 0 } }
  /** One burst of both processes on round `round`'s key; the leases side counts rounds from 0, the other from 1e6. */
  const burst = (side: keyof typeof totals) => (i: number) =>
    Effect.gen(function*() {
      const round = side === "leases" ? i : 1_000_000 + i
      const outcomes: ReadonlyArray<Outcome> = yield* Effect.promise(() =>
        Promise.all(instances.map((instance) => instance.play({ round, leases: side === "leases" })))
      )
      totals[side].computations += Number(yield* Effect.promise(() => client.get(`${plan.counter}:${round}`)))
      totals[side].failures += outcomes.reduce((sum, outcome) => sum + outcome.failures, 0)
    })
  const meters = (side: keyof typeof totals) => [
    counter("computations", "computations", () => totals[side].computations),
    counter("failures", "failed calls", () => totals[side].failures)
  ]
  // one burst a sample; the first, not counted, warms up cold processes (JIT, the scripts' first EVAL)
  const samples = yield* measure([
    { name: "2 processes with leases", run: fiberLoop(burst("leases")), ops: 1, meters: meters("leases") },
    { name: "2 processes without leases", run: fiberLoop(burst("local")), ops: 1, meters: meters("local") }
  ])
  const sides = { subject: "2 processes with leases", baseline: "2 processes without leases" }
  compare(samples, [
    { name: "stampede: computations per 1,000 misses", ...sides, quantity: { of: "meter", meter: "computations", unit: "computations" }, target: "≤ 1" },
    { name: "stampede: ms until all 1,000 calls answered", ...sides, quantity: { of: "time", unit: "ms" } },
    { name: "  failed calls per burst", ...sides, quantity: { of: "meter", meter: "failures", unit: "failed calls" } }
  ])
}).pipe(Effect.scoped)

main(`cachefx distributed stampede: 2 processes × 500 concurrent misses, ${computeMillis} ms computations`, program)
