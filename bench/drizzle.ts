/**
 * The cost of the Drizzle hooks on PostgreSQL (node-postgres, 127.0.0.1:5432 or
 * `DATABASE_URL`): one `update … where id = ?` at a time, through plain Drizzle (the
 * baseline) and through the instrumented database, on
 * - a table no rule names (the hooks leave its builders alone);
 * - a table with a rule, the update setting a column the rule does not map (one
 *   statement with RETURNING, then an inline invalidation on the in-memory store);
 * - the same table, the update setting the mapped column (one statement that also reads
 *   and locks the old values, then the invalidation of the old and the new partition).
 * Target for the first two: ≤ 1.15× plain.
 * Further rows split the cost: plain Drizzle with a `.returning()` of the columns the
 * rule needs (what reading the written rows costs by itself, before any hook); the second
 * case with a bus that drops the events, so what is left is the hooks' own work
 * (RETURNING, capture, publish call), not the engine's; the second case on a table whose
 * rule takes the background dispatcher (the write returns once the job is handed over;
 * its CPU is still this process's); and the second case with a tracer that keeps its
 * spans installed (the engine makes its spans only then).
 *
 * Every case runs once per iteration, in a new random order each time, and each update
 * is timed on its own: every case meets the same moments of a shared machine's load, and
 * follows every other case as often. Each row gives the median and the mean wall time of
 * an update, and this process's CPU time per update (`process.cpuUsage`; PostgreSQL's own
 * CPU is in the wall time only).
 *
 * Then two of those ways without a database: a node-postgres client that answers every
 * query at once, so what is left is the CPU of Drizzle, the hooks and the engine alone
 * (no I/O, no driver), in rounds alternating with plain Drizzle: the figure that tells
 * changes to this code apart on a noisy machine.
 *
 * Run: npm run bench:drizzle
 */
import {
  Cached,
  CacheStore,
  Dispatcher,
  InvalidationBus,
  InvalidationEngine,
  InvalidationRule,
  KeyConstructor,
  KeyField
} from "@cachefx/core"
import { DrizzleHooks } from "@cachefx/drizzle"
import { eq, sql } from "drizzle-orm"
import { drizzle } from "drizzle-orm/node-postgres"
import { integer, pgSchema, text } from "drizzle-orm/pg-core"
import { Effect, Layer, Queue, Tracer } from "effect"
import pg from "pg"
import { machine, median, report } from "./harness.js"

const rows = 1_000
const iterations = 2_000
const warmUp = 200
const offlineRound = 5_000
const rounds = 9

const schema = pgSchema("cachefx_bench")
const columns = {
  id: integer("id").primaryKey(),
  authorId: integer("author_id").notNull(),
  title: text("title").notNull()
}
const posts = schema.table("posts", columns)
const notes = schema.table("notes", columns)
const drafts = schema.table("drafts", columns)

const byAuthor = Cached.cached({
  key: KeyConstructor.make({ namespace: "byAuthor", fields: [KeyField.arg("authorId", { partition: true })] }),
  invalidatesOn: [InvalidationRule.make({ table: posts, fieldMapping: { authorId: posts.authorId } })]
})((input: { readonly authorId: number }) => Effect.succeed(input.authorId))

const draftsByAuthor = Cached.cached({
  key: KeyConstructor.make({ namespace: "draftsByAuthor", fields: [KeyField.arg("authorId", { partition: true })] }),
  invalidatesOn: [
    InvalidationRule.make({ table: drafts, fieldMapping: { authorId: drafts.authorId }, dispatcher: "background" })
  ]
})((input: { readonly authorId: number }) => Effect.succeed(input.authorId))
const caches = [byAuthor, draftsByAuthor]

const pool = new pg.Pool({
  connectionString: process.env["DATABASE_URL"] ?? "postgres://postgres@127.0.0.1:5432/test",
  max: 1
})
const plain = drizzle(pool)

/** A tracer that keeps every span it starts (Effect's own spans), as an exporter would. */
const keeping = (() => {
  const builtIn = Effect.runSync(Effect.tracer)
  const kept: Array<Tracer.Span> = []
  return Tracer.make({
    span: (...args) => {
      const span = builtIn.span(...args)
      kept.push(span)
      if (kept.length > 10_000) {
        kept.length = 0
      }
      return span
    },
    context: builtIn.context
  })
})()

/** A node-postgres client that answers at once: an update gives one row (`RETURNING`) or none. */
const answering = {
  query: (query: { readonly text: string }, params: ReadonlyArray<unknown>) =>
    Promise.resolve(
      / returning /.test(query.text)
        ? { command: "UPDATE", rowCount: 1, rows: [{ author_id: Number(params[1]) % 50 }], fields: [] }
        : { command: "UPDATE", rowCount: 1, rows: [], fields: [] }
    )
}

/** One way to run the update, timed update by update. */
interface Case {
  readonly label: string
  readonly update: (i: number) => PromiseLike<unknown>
  readonly target?: string
}

interface Timings {
  /** Microseconds of wall time of each update. */
  readonly wall: Array<number>
  /** Microseconds of this process's CPU time (user and system), summed over the updates. */
  cpu: number
}

const mean = (values: ReadonlyArray<number>) => values.reduce((sum, value) => sum + value, 0) / values.length

/** Shuffles in place (Fisher–Yates). */
const shuffle = <A>(values: Array<A>): Array<A> => {
  for (let i = values.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    ;[values[i], values[j]] = [values[j]!, values[i]!]
  }
  return values
}

/**
 * Runs every case once per iteration, in a new random order each time, and times each
 * update on its own: every case meets the same moments of the machine's load and follows
 * every other case as often (what ran just before an update changes its time, as the
 * caches it finds are warm or cold). The first `warmUp` iterations are not counted.
 */
const interleaved = async (baseline: Case, cases: ReadonlyArray<Case>, iterations: number, warmUp: number) => {
  const all = [baseline, ...cases]
  const timings = new Map(all.map((c): [Case, Timings] => [c, { wall: [], cpu: 0 }]))
  for (let iteration = 0; iteration < warmUp + iterations; iteration++) {
    for (const c of shuffle([...all])) {
      const cpu = process.cpuUsage()
      const start = process.hrtime.bigint()
      await c.update(iteration % rows)
      const wall = Number(process.hrtime.bigint() - start) / 1_000
      const used = process.cpuUsage(cpu)
      if (iteration >= warmUp) {
        const timing = timings.get(c)!
        timing.wall.push(wall)
        timing.cpu += used.user + used.system
      }
    }
  }
  const base = timings.get(baseline)!
  for (const c of cases) {
    const timing = timings.get(c)!
    report(c.label, median(timing.wall), median(base.wall), "µs", baseline.label, c.target)
    report(`  mean: ${c.label.trim()}`, mean(timing.wall), mean(base.wall), "µs", baseline.label)
    report(`  CPU: ${c.label.trim()}`, timing.cpu / iterations, base.cpu / iterations, "µs", baseline.label)
  }
}

interface Sample {
  /** Microseconds of wall time per update. */
  readonly wall: number
  /** Microseconds of this process's CPU time (user and system) per update. */
  readonly cpu: number
}

/** One round of `count` sequential updates. */
const round = async (update: (i: number) => PromiseLike<unknown>, count: number): Promise<Sample> => {
  const cpu = process.cpuUsage()
  const start = process.hrtime.bigint()
  for (let i = 0; i < count; i++) {
    await update(i % rows)
  }
  const wall = Number(process.hrtime.bigint() - start) / 1_000 / count
  const used = process.cpuUsage(cpu)
  return { wall, cpu: (used.user + used.system) / count }
}

/** Rounds of `count` updates alternating with the baseline's: for the steady driver-free figures. */
const compare = async (
  label: string,
  hooked: (i: number) => PromiseLike<unknown>,
  baseline: (i: number) => PromiseLike<unknown>,
  count: number
) => {
  await round(hooked, count)
  await round(baseline, count)
  const subject: Array<Sample> = []
  const base: Array<Sample> = []
  for (let r = 0; r < rounds; r++) {
    base.push(await round(baseline, count))
    subject.push(await round(hooked, count))
  }
  const wall = (samples: ReadonlyArray<Sample>) => median(samples.map((sample) => sample.wall))
  const cpu = (samples: ReadonlyArray<Sample>) => median(samples.map((sample) => sample.cpu))
  report(label, wall(subject), wall(base), "µs", "plain")
  report(`  CPU: ${label.trim()}`, cpu(subject), cpu(base), "µs", "plain")
}

const program = Effect.gen(function*() {
  console.log(`machine: ${machine()}`)
  yield* Effect.promise(async () => {
    await plain.execute(sql`drop schema if exists cachefx_bench cascade`)
    await plain.execute(sql`create schema cachefx_bench`)
    for (const table of ["posts", "notes", "drafts"]) {
      await plain.execute(sql.raw(`create table cachefx_bench.${table} (id integer primary key, author_id integer not null, title text not null)`))
      await plain.execute(
        sql.raw(`insert into cachefx_bench.${table} select i, i % 50, 'title ' || i from generate_series(0, ${rows - 1}) i`)
      )
    }
  })
  // instrumented on a bus that drops the events: the hooks' own work, without the engine's
  const dropping = (database: typeof plain) =>
    DrizzleHooks.instrument(database, { caches }).pipe(
      Effect.provideServiceEffect(
        InvalidationBus.InvalidationBus,
        Effect.map(Queue.unbounded<InvalidationBus.Delivery>(), (deliveries) => ({ deliveries, publish: () => Effect.void }))
      )
    )
  const db = yield* DrizzleHooks.instrument(plain, { caches })
  const hooksAlone = yield* dropping(plain)
  const traced = yield* DrizzleHooks.instrument(plain, { caches }).pipe(Effect.withTracer(keeping))
  const offline = drizzle(answering as never)
  const offlineHooked = yield* DrizzleHooks.instrument(offline, { caches })
  const offlineHooksAlone = yield* dropping(offline)
  /** An update setting a row's title by its id (every case but the mapped column's). */
  const setTitle = (database: typeof plain, table: typeof posts | typeof notes | typeof drafts) => (i: number) =>
    database.update(table).set({ title: `t${i}` }).where(eq(table.id, i))
  yield* Effect.promise(async () => {
    console.log(
      `update by primary key: ${iterations} updates of each case, interleaved in random order, one at a time`
    )
    await interleaved({ label: "plain", update: setTitle(plain, posts) }, [
      {
        label: "plain, with .returning() of the rule's columns",
        update: (i) => setTitle(plain, posts)(i).returning({ id: posts.id, authorId: posts.authorId })
      },
      { label: "table without rules", update: setTitle(db, notes), target: "≤ 1.15×" },
      { label: "table with a rule, unmapped column set", update: setTitle(db, posts), target: "≤ 1.15×" },
      {
        label: "table with a rule, mapped column set",
        update: (i) => db.update(posts).set({ authorId: i % 50 }).where(eq(posts.id, i))
      },
      { label: "  the same, events dropped (hooks alone)", update: setTitle(hooksAlone, posts) },
      { label: "  the same, background dispatcher", update: setTitle(db, drafts) },
      { label: "  the same, a tracer that keeps spans", update: setTitle(traced, posts) }
    ], iterations, warmUp)
    await plain.execute(sql`drop schema if exists cachefx_bench cascade`)
    console.log(`without a database (a client that answers at once), ${offlineRound} updates per round`)
    await compare(
      "no database: table with a rule",
      setTitle(offlineHooked, posts),
      setTitle(offline, posts),
      offlineRound
    )
    await compare(
      "no database: the hooks alone (events dropped)",
      setTitle(offlineHooksAlone, posts),
      setTitle(offline, posts),
      offlineRound
    )
  })
}).pipe(
  Effect.provide(
    InvalidationEngine.layer({ caches }).pipe(
      Layer.provide(Dispatcher.layerBackground),
      Layer.provideMerge(CacheStore.layerMemory())
    )
  ),
  Effect.ensuring(Effect.promise(() => pool.end()))
)

Effect.runPromise(program)
