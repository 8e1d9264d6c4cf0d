/**
 * Distributed stampede: 2 application processes × 500 concurrent misses of one key,
 * against a redis-server of the benchmark's own. How many times the value is computed
 * (counted by `INCR` in Redis), with the Redis store's leases and without them (the
 * baseline: the same two processes, each with its local single-flight only). Rounds
 * alternate the two sides, after one warm-up round each; every round uses a new key.
 * Target: 1 computation per round with leases.
 *
 * `BENCH_ROUNDS` (default 10 per side), `BENCH_COMPUTE_MS` (default 50: how long a
 * computation takes). The instances run with a 5 s operation timeout: a read that times
 * out computes without single-flight (fail-open), which on a machine loaded by other
 * work would be counted as a stampede the leases could not stop.
 *
 * Run: `npx tsx --conditions=@cachefx/source bench/tiers/stampede.ts`
 */
import { Effect } from "effect"
import { Instance, type Outcome, type Plan } from "../../packages/redis/test/leaseInstance.js"
import { machine, median, report } from "../harness.js"
import { server } from "../redisServer.js"

const rounds = Number(process.env["BENCH_ROUNDS"] ?? 10)
const computeMillis = Number(process.env["BENCH_COMPUTE_MS"] ?? 50)

interface Side {
  readonly computations: Array<number>
  readonly millis: Array<number>
  failures: number
}

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
  const sides: Record<"leases" | "local", Side> = {
    leases: { computations: [], millis: [], failures: 0 },
    local: { computations: [], millis: [], failures: 0 }
  }
  // warm-up, not counted: cold processes (JIT, the scripts' first EVAL, the subscriber's connection)
  for (const round of [-2, -1]) {
    yield* Effect.promise(() => Promise.all(instances.map((instance) => instance.play({ round, leases: round === -2 }))))
  }
  for (let round = 0; round < rounds * 2; round++) {
    const leases = round % 2 === 0
    const side = sides[leases ? "leases" : "local"]
    const outcomes: ReadonlyArray<Outcome> = yield* Effect.promise(() =>
      Promise.all(instances.map((instance) => instance.play({ round, leases })))
    )
    side.computations.push(Number(yield* Effect.promise(() => client.get(`${plan.counter}:${round}`))))
    side.millis.push(Math.max(...outcomes.map((outcome) => outcome.millis)))
    side.failures += outcomes.reduce((sum, outcome) => sum + outcome.failures, 0)
  }
  const mean = (values: ReadonlyArray<number>) => values.reduce((sum, value) => sum + value, 0) / values.length
  console.log(`\n${machine()}; ${rounds} rounds per side, ${computeMillis} ms computations, 2 processes × 500 calls\n`)
  report(
    "stampede: computations per 1,000 misses",
    mean(sides.leases.computations),
    mean(sides.local.computations),
    "computations",
    "2 processes without leases",
    "1 computation"
  )
  report(
    "stampede: ms until all 1,000 calls answered",
    median(sides.leases.millis),
    median(sides.local.millis),
    "ms",
    "2 processes without leases"
  )
  console.log(`\nper round, with leases:    ${sides.leases.computations.join(" ")} computations; ${sides.leases.millis.map((ms) => ms.toFixed(0)).join(" ")} ms`)
  console.log(`per round, without leases: ${sides.local.computations.join(" ")} computations; ${sides.local.millis.map((ms) => ms.toFixed(0)).join(" ")} ms`)
  console.log(`failed calls: ${sides.leases.failures} with leases, ${sides.local.failures} without`)
})

Effect.runPromise(Effect.scoped(program))
