/**
 * The change stream (`@cachefx/pg-cdc`) on PostgreSQL (127.0.0.1:5432 or `DATABASE_URL`,
 * wal_level = logical):
 *
 * 1. The write path: `update … where id = ?` one at a time through plain Drizzle on a
 *    table no rule names (the baseline) and through plain Drizzle on a table the change
 *    stream reads, first with the consumer in a process of its own (as a deployment runs
 *    it beside the writers), then with the consumer in this same process, where its work
 *    shares the writer's thread, beside the Drizzle hooks on a table with the same rule.
 *    The cases are interleaved round by round (./harness.ts), each warmed up first.
 *    Target for the change stream: 1.00× (nothing runs in the write), checked as ≤ 1.05×,
 *    the spread of two runs of one case on this machine.
 * 2. Lag from commit to invalidation at 1,000 and 10,000 writes per second (inserts, one
 *    transaction each, on 8 connections, paced): from the moment the writer's commit
 *    returns to the moment the rule's job ran, per write; p50 and p99, and the rate the
 *    writers reached (a loaded machine may not reach the target). The commit reaches the
 *    WAL before its answer reaches the writer, so a job can run before the writer hears
 *    of its commit: such a lag counts negative. Beside it, the same from PostgreSQL's
 *    commit time: `ChangeStreamMetrics.lag`, read to the bound of its bucket (powers of 2).
 *
 * Run: npm run bench:cdc
 */
import { Cached, CacheStore, InvalidationEngine, InvalidationRule, KeyConstructor, KeyField } from "@cachefx/core"
import { DrizzleHooks } from "@cachefx/drizzle"
import { ChangeStream, ChangeStreamMetrics, Slot } from "@cachefx/pg-cdc"
import { eq, sql } from "drizzle-orm"
import { drizzle } from "drizzle-orm/node-postgres"
import { integer, pgSchema, text } from "drizzle-orm/pg-core"
import { Effect, Layer, Metric, Option, Schedule } from "effect"
import { type ChildProcess, fork } from "node:child_process"
import * as os from "node:os"
import { performance } from "node:perf_hooks"
import { fileURLToPath } from "node:url"
import pg from "pg"
import { against, asyncLoop, compare, machine, measure } from "./harness.js"

const url = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test"
const rows = 1_000
const seconds = 3
const schemaName = "cachefx_bench_cdc"
const names = { slot: "cachefx_bench_cdc", publication: "cachefx_bench_cdc" }

/** Three tables of one shape: a row's title is what the updates set. */
const schema = pgSchema(schemaName)
const titled = { id: integer("id").primaryKey(), title: text("title").notNull() }
const plainPosts = schema.table("plain_posts", titled)
const streamedPosts = schema.table("streamed_posts", titled)
const hookedPosts = schema.table("hooked_posts", titled)
type Posts = typeof plainPosts | typeof streamedPosts | typeof hookedPosts

const pool = new pg.Pool({ connectionString: url, max: 8 })
const plain = drizzle(pool)

const byId = (name: string, table: Posts) =>
  Cached.cached({
    key: KeyConstructor.make({ namespace: `bench-cdc-${name}`, fields: [KeyField.arg("id")] }),
    invalidatesOn: [InvalidationRule.make({ table, fieldMapping: { id: table.id } })]
  })((input: { readonly id: number }) => Effect.succeed(input.id))

/** When each write of the lag runs was applied, by id. */
const applied = new Map<number, number>()
const lagProbe = Cached.cached({
  key: KeyConstructor.make({ namespace: "bench-cdc-lag", fields: [KeyField.arg("id")] }),
  invalidatesOn: [
    InvalidationRule.custom({
      table: "writes",
      name: "lag(writes)",
      on: ["insert"],
      run: (change) =>
        Effect.sync(() => {
          applied.set(Number(Option.getOrUndefined(change.row)?.id), performance.now())
        })
    })
  ]
})((input: { readonly id: number }) => Effect.succeed(input.id))

const streamed = [byId("streamed", streamedPosts), lagProbe]
const hooked = [byId("hooked", hookedPosts)]
const caches = [...streamed, ...hooked]

const percentile = (values: ReadonlyArray<number>, p: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? Number.NaN
}

/** Cumulative counts of the lag histogram, by bucket bound. */
const lagBuckets = () =>
  Effect.runSync(Metric.value(ChangeStreamMetrics.lag)).buckets.map(([bound, count]) => [bound, count] as const)

/** The bucket bound under which a share `p` of the samples taken since `before` fall. */
const lagQuantile = (before: ReadonlyArray<readonly [number, number]>, p: number) => {
  const now = lagBuckets().map(([bound, count], i) => [bound, count - (before[i]?.[1] ?? 0)] as const)
  const total = now.at(-1)?.[1] ?? 0
  return now.find(([, count]) => count >= p * total)?.[0] ?? Number.POSITIVE_INFINITY
}

/** Inserts at `rate` per second for `seconds`, one transaction each; gives the reached rate and the lags. */
const paced = async (rate: number, first: number) => {
  const committed = new Map<number, number>()
  const total = rate * seconds
  const start = performance.now()
  let issued = 0
  const inFlight: Array<Promise<unknown>> = []
  while (issued < total) {
    const due = Math.min(total, Math.floor(((performance.now() - start) / 1_000) * rate))
    for (; issued < due; issued++) {
      const id = first + issued
      inFlight.push(
        pool.query(`insert into ${schemaName}.writes values ($1)`, [id]).then(() => {
          committed.set(id, performance.now())
        })
      )
    }
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
  await Promise.all(inFlight)
  const reached = total / ((performance.now() - start) / 1_000)
  await Effect.runPromise(ChangeStream.awaitApplied(pool, { slot: names.slot, timeout: "120 seconds" }))
  const lags = [...committed].map(([id, at]) => (applied.get(id) ?? Number.NaN) - at)
  return { reached, lags }
}

const setUp = Effect.promise(async () => {
  await pool.query(`drop schema if exists ${schemaName} cascade`)
  await pool.query(`create schema ${schemaName}`)
  for (const table of ["plain_posts", "streamed_posts", "hooked_posts"]) {
    await pool.query(
      `create table ${schemaName}.${table} (id integer primary key, title text not null)`
    )
    await pool.query(
      `insert into ${schemaName}.${table} select i, 'title ' || i from generate_series(0, ${rows - 1}) i`
    )
  }
  await pool.query(`create table ${schemaName}.writes (id integer primary key)`)
  await pool.query(`alter table ${schemaName}.writes replica identity full`)
})

const tearDown = Slot.drop(pool, names).pipe(
  Effect.retry(Schedule.spaced("200 millis").pipe(Schedule.upTo("10 seconds"))),
  Effect.zipRight(Effect.promise(() => pool.query(`drop schema if exists ${schemaName} cascade`))),
  Effect.orDie
)

const stream = ChangeStream.layer({ connection: { connectionString: url }, caches: streamed, schema: schemaName, ...names })

const holding = Effect.flatMap(ChangeStream.ChangeStream, (stream) =>
  Effect.repeat(stream.holding, { until: (held) => held, schedule: Schedule.spaced("20 millis") }))

/** The consumer alone, in a child process: holds the slot and applies the streamed rules until it is killed. */
const consumer = Effect.zipRight(holding, Effect.sync(() => process.send!("holding"))).pipe(
  Effect.zipRight(Effect.never),
  Effect.provide(stream.pipe(
    Layer.provideMerge(InvalidationEngine.layer({ caches: streamed })),
    Layer.provideMerge(CacheStore.layerMemory())
  ))
)

/** A consumer in a process of its own, holding the slot, for the time of the scope (then killed, which frees the slot). */
const consumerElsewhere = Effect.acquireRelease(
  Effect.async<ChildProcess>((resume) => {
    const child = fork(fileURLToPath(import.meta.url), [], {
      env: { ...process.env, BENCH_CDC_CONSUMER: "1" },
      stdio: ["ignore", "inherit", "inherit", "ipc"]
    })
    child.once("message", () => resume(Effect.succeed(child)))
    child.once("exit", (code) => resume(Effect.dieMessage(`the consumer process exited with ${code} before it held the slot`)))
  }),
  (child) =>
    Effect.async<void>((resume) => {
      child.once("exit", () => resume(Effect.void))
      child.kill("SIGKILL")
    })
)

const setTitle = (database: typeof plain, table: Posts) => (i: number) =>
  database.update(table).set({ title: `t${i}` }).where(eq(table.id, i))

/** Updates one after the other over the table's rows, warmed up first, and the target against plain Drizzle. */
const updates = (name: string, update: (i: number) => PromiseLike<unknown>, target?: string) => ({
  name,
  run: asyncLoop((i) => update(i % rows)),
  // the consumer's and the hooks' code run several times slower before the JIT has seen a
  // few thousand writes: without it the change stream's case read 1.5×–1.7× on 7 December
  warmUp: 3_000,
  ...(target === undefined ? {} : { target })
})

const plainWrites = updates("plain Drizzle, table no rule names", setTitle(plain, plainPosts))

/** The write path with the consumer in a process of its own. */
const writesElsewhere = Effect.scoped(Effect.gen(function*() {
  yield* consumerElsewhere
  console.log("update by primary key, the consumer in a process of its own, the cases interleaved round by round")
  const writes = [
    plainWrites,
    updates("plain Drizzle, table the change stream reads, consumer in a process of its own", setTitle(plain, streamedPosts), "≤ 1.05×")
  ]
  compare(yield* measure(writes), against(plainWrites.name, writes.slice(1)))
}))

/** The write path and the lags with the consumer in this process. */
const inProcess = Effect.gen(function*() {
  yield* holding
  const db = yield* DrizzleHooks.instrument(plain, { caches: hooked })
  const writes = [
    plainWrites,
    updates("plain Drizzle, table the change stream reads", setTitle(plain, streamedPosts), "≤ 1.05×"),
    updates("Drizzle hooks, table with the same rule", setTitle(db, hookedPosts))
  ]
  console.log("update by primary key, the consumer in this process, the cases interleaved round by round")
  compare(yield* measure(writes), against(plainWrites.name, writes.slice(1)))
  yield* Effect.promise(async () => {
    await Effect.runPromise(ChangeStream.awaitApplied(pool, { slot: names.slot, timeout: "120 seconds" }))
    let first = 1
    for (const rate of [1_000, 10_000]) {
      const before = lagBuckets()
      const { lags, reached } = await paced(rate, first)
      first += rate * seconds
      const lost = lags.filter(Number.isNaN).length
      console.log(
        `commit → invalidation at ${rate} writes/s (reached ${reached.toFixed(0)}/s, ${lags.length} writes): ` +
          `from the writer's commit returned: p50 ${percentile(lags, 0.5).toFixed(1)} ms, p99 ${percentile(lags, 0.99).toFixed(1)} ms; ` +
          `from PostgreSQL's commit time (the lag metric, to its bucket bound): p50 ≤ ${lagQuantile(before, 0.5)} ms, ` +
          `p99 ≤ ${lagQuantile(before, 0.99)} ms` +
          (lost > 0 ? `, ${lost} not applied` : "") +
          `; load average ${os.loadavg()[0]!.toFixed(2)}`
      )
    }
  })
  yield* Effect.promise(() => plain.execute(sql`select 1`))
})

const program = Effect.gen(function*() {
  console.log(`${machine()}; load average ${os.loadavg().map((load) => load.toFixed(2)).join(" ")}`)
  yield* writesElsewhere
  yield* Effect.provide(inProcess, stream)
}).pipe(
  Effect.provide(
    InvalidationEngine.layer({ caches }).pipe(
      Layer.provideMerge(CacheStore.layerMemory()),
      Layer.provideMerge(Layer.scopedDiscard(Effect.acquireRelease(setUp, () => tearDown)))
    )
  ),
  Effect.ensuring(Effect.promise(() => pool.end()))
)

if (process.env["BENCH_CDC_CONSUMER"] === "1") {
  Effect.runFork(consumer)
} else {
  Effect.runPromise(program)
}
