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
 * The cases are interleaved round by round (./harness.ts): each sample a calibrated
 * number of updates one after the other, every case once a round. Each row gives the
 * median wall time of an update and the spread over the rounds, and this process's CPU
 * time per update (`process.cpuUsage`; PostgreSQL's own CPU is in the wall time only).
 *
 * Then two of those ways without a database: a node-postgres client that answers every
 * query at once, so what is left is the CPU of Drizzle, the hooks and the engine alone
 * (no I/O, no driver), interleaved with plain Drizzle: the figure that tells changes to
 * this code apart on a noisy machine.
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
import { answering } from "./answering.js"
import { against, asyncLoop, compare, main, measure } from "./harness.js"

const rows = 1_000

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

/**
 * A case of updates one after the other, over the table's rows, and its target against
 * plain Drizzle. Each is warmed up first: the hooks' and the engine's code run several
 * times slower before the JIT has seen a few thousand updates, which calibration alone
 * (a few hundred) does not give them, and which plain Drizzle's code needs less.
 */
const updates = (name: string, update: (i: number) => PromiseLike<unknown>, target?: string) => ({
  name,
  run: asyncLoop((i) => update(i % rows)),
  warmUp: 2_000,
  ...(target === undefined ? {} : { target })
})

const program = Effect.gen(function*() {
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
  console.log("  update by primary key, one at a time")
  const online = [
    updates("plain", setTitle(plain, posts)),
    updates("plain, with .returning() of the rule's columns", (i) =>
      setTitle(plain, posts)(i).returning({ id: posts.id, authorId: posts.authorId })),
    updates("table without rules", setTitle(db, notes), "≤ 1.15×"),
    updates("table with a rule, unmapped column set", setTitle(db, posts), "≤ 1.15×"),
    updates("table with a rule, mapped column set", (i) => db.update(posts).set({ authorId: i % 50 }).where(eq(posts.id, i))),
    updates("the same, events dropped (hooks alone)", setTitle(hooksAlone, posts)),
    updates("the same, background dispatcher", setTitle(db, drafts)),
    updates("the same, a tracer that keeps spans", setTitle(traced, posts))
  ]
  compare(yield* measure(online), against("plain", online.slice(1)))
  yield* Effect.promise(() => plain.execute(sql`drop schema if exists cachefx_bench cascade`))
  console.log("  without a database (a client that answers at once)")
  const offlineCases = [
    updates("no database: plain", setTitle(offline, posts)),
    updates("no database: table with a rule", setTitle(offlineHooked, posts)),
    updates("no database: the hooks alone (events dropped)", setTitle(offlineHooksAlone, posts))
  ]
  compare(yield* measure(offlineCases), against("no database: plain", offlineCases.slice(1)))
}).pipe(
  Effect.provide(
    InvalidationEngine.layer({ caches }).pipe(
      Layer.provide(Dispatcher.layerBackground),
      Layer.provideMerge(CacheStore.layerMemory())
    )
  ),
  Effect.ensuring(Effect.promise(() => pool.end()))
)

main("cachefx Drizzle hooks on PostgreSQL against plain Drizzle", program)
