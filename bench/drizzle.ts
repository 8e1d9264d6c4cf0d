/**
 * The cost of the Drizzle hooks on PostgreSQL (node-postgres, 127.0.0.1:5432 or
 * `DATABASE_URL`): one `update … where id = ?` at a time, through plain Drizzle and
 * through the instrumented database, on
 * - a table no rule names (the hooks leave its builders alone);
 * - a table with a rule, the update setting a column the rule does not map (one
 *   statement with RETURNING, then an inline invalidation on the in-memory store);
 * - the same table, the update setting the mapped column (old rows read first, in a
 *   transaction: four round trips instead of one).
 * Target for the first two: ≤ 1.15× plain. Rounds alternate between the two sides.
 * Further rows split the cost: the second case with a bus that drops the events, so
 * what is left is the hooks' own work (RETURNING, capture, publish call), not the
 * engine's; and the second case on a table whose rule takes the background dispatcher
 * (the write returns once the job is handed over; its CPU is still this process's).
 * A last PostgreSQL row runs the second case with a tracer that keeps its spans
 * installed (the engine makes its spans only then).
 * Every row is given twice: wall time, and CPU time of this process per update
 * (`process.cpuUsage`), the steadier figure on a shared machine; PostgreSQL's own CPU
 * is in the wall time only.
 *
 * Then the same three ways without a database: a node-postgres client that answers every
 * query at once, so what is left is the CPU of Drizzle, the hooks and the engine alone
 * (no I/O, no driver), the figure that tells changes to this code apart on a noisy
 * machine.
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
const perRound = 500
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

const compare = async (
  label: string,
  hooked: (i: number) => PromiseLike<unknown>,
  baseline: (i: number) => PromiseLike<unknown>,
  target?: string,
  count = perRound
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
  report(label, wall(subject), wall(base), "µs", "plain", target)
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
    console.log(`update by primary key, ${perRound} sequential updates per round, median of ${rounds} rounds`)
    await compare(
      "table without rules",
      setTitle(db, notes),
      setTitle(plain, notes),
      "≤ 1.15×"
    )
    await compare(
      "table with a rule, unmapped column set",
      setTitle(db, posts),
      setTitle(plain, posts),
      "≤ 1.15×"
    )
    await compare(
      "table with a rule, mapped column set",
      (i) => db.update(posts).set({ authorId: i % 50 }).where(eq(posts.id, i)),
      (i) => plain.update(posts).set({ authorId: i % 50 }).where(eq(posts.id, i))
    )
    await compare(
      "  the same, events dropped (hooks alone)",
      setTitle(hooksAlone, posts),
      setTitle(plain, posts)
    )
    await compare(
      "  the same, background dispatcher",
      setTitle(db, drafts),
      setTitle(plain, drafts)
    )
    await compare(
      "  the same, a tracer that keeps spans",
      setTitle(traced, posts),
      setTitle(plain, posts)
    )
    await plain.execute(sql`drop schema if exists cachefx_bench cascade`)
    console.log(`without a database (a client that answers at once), ${offlineRound} updates per round`)
    await compare(
      "no database: table with a rule",
      setTitle(offlineHooked, posts),
      setTitle(offline, posts),
      undefined,
      offlineRound
    )
    await compare(
      "no database: the hooks alone (events dropped)",
      setTitle(offlineHooksAlone, posts),
      setTitle(offline, posts),
      undefined,
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
