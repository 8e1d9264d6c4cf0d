/**
 * This build of cachefx against another build of it, in the same process and the same
 * rounds: the check that a change left the hit path and the Drizzle hooks as fast as
 * before ("within 5 %"), which two runs on a shared 2-core machine cannot tell apart.
 *
 * `BENCH_BEFORE` names the checkout of the other build, made by
 * `scripts/bench-before.sh REV DIR`: its packages are its own, every other dependency
 * is this checkout's, so both builds run on one copy of effect, drizzle-orm and pg. Each
 * side runs under its own context (its `CacheStore`, engine and bus), provided once per
 * sample, never per operation.
 *
 * Cases, each from both builds:
 * - a memory hit, one fiber, cycling over 1,000 keys of a two-field constructor;
 * - an update of a table with an invalidation rule (inline engine, memory store) on
 *   PostgreSQL (127.0.0.1:5432 or `DATABASE_URL`), and on a node-postgres client that
 *   answers at once, which leaves the CPU of Drizzle, the hooks and the engine alone.
 *
 * Run: bash scripts/bench-before.sh main /tmp/before && BENCH_BEFORE=/tmp/before npm run bench:versions
 */
import type * as CoreModule from "@cachefx/core"
import type * as DrizzleModule from "@cachefx/drizzle"
import { eq, sql } from "drizzle-orm"
import { drizzle } from "drizzle-orm/node-postgres"
import { integer, pgSchema, text } from "drizzle-orm/pg-core"
import { type Context, Effect, Layer } from "effect"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import pg from "pg"
import { against, asyncLoop, compare, fiberLoop, main, measure, type Run } from "./harness.js"
import { type Item, inputs, item } from "./items.js"

const beforeRoot = process.env["BENCH_BEFORE"]
if (beforeRoot === undefined) {
  throw new Error("BENCH_BEFORE is not set: build the other commit with scripts/bench-before.sh REV DIR and set BENCH_BEFORE=DIR")
}

const load = async <A>(root: string, pkg: string): Promise<A> =>
  import(pathToFileURL(path.resolve(root, "packages", pkg, "dist", "index.js")).href) as Promise<A>

const rows = 1_000
const schema = pgSchema("cachefx_bench_versions")
const posts = schema.table("posts", {
  id: integer("id").primaryKey(),
  authorId: integer("author_id").notNull(),
  title: text("title").notNull()
})

const pool = new pg.Pool({
  connectionString: process.env["DATABASE_URL"] ?? "postgres://postgres@127.0.0.1:5432/test",
  max: 1
})
const plain = drizzle(pool)

/** A node-postgres client that answers at once: an update gives one row (`RETURNING`) or none. */
const answering = {
  query: (query: { readonly text: string }, params: ReadonlyArray<unknown>) =>
    Promise.resolve(
      / returning /.test(query.text)
        ? { command: "UPDATE", rowCount: 1, rows: [{ author_id: Number(params[1]) % 50 }], fields: [] }
        : { command: "UPDATE", rowCount: 1, rows: [], fields: [] }
    )
}

const keys = inputs()

/** One build's cases, named `<case> (<label>)`, each run under that build's own context. */
const sideOf = (label: string, core: typeof CoreModule, hooks: typeof DrizzleModule) =>
  Effect.gen(function*() {
    const { Cached, CacheStore, Dispatcher, InvalidationEngine, InvalidationRule, KeyConstructor, KeyField } = core
    const items = KeyConstructor.make({
      namespace: "items",
      fields: [KeyField.arg("shop", { partition: true }), KeyField.arg("id")]
    })
    const getItem = Cached.cached({ key: items, ttl: "1 hour" })((input: Item) => Effect.succeed(item(input)))
    const byAuthor = Cached.cached({
      key: KeyConstructor.make({ namespace: "byAuthor", fields: [KeyField.arg("authorId", { partition: true })] }),
      invalidatesOn: [InvalidationRule.make({ table: posts, fieldMapping: { authorId: posts.authorId } })]
    })((input: { readonly authorId: number }) => Effect.succeed(input.authorId))
    const context = yield* Layer.build(
      InvalidationEngine.layer({ caches: [byAuthor] }).pipe(
        Layer.provide(Dispatcher.layerBackground),
        Layer.provideMerge(CacheStore.layerMemory())
      )
    )
    type Services = typeof context extends Context.Context<infer S> ? S : never
    const within = <E>(run: Run<E, Services>): Run<E, never> => (from, n) => Effect.provide(run(from, n), context)
    const instrument = (database: typeof plain) =>
      Effect.provide(hooks.DrizzleHooks.instrument(database, { caches: [byAuthor] }), context)
    const db = yield* instrument(plain)
    const offline = yield* instrument(drizzle(answering as never))
    const setTitle = (database: typeof plain) => (i: number) =>
      database.update(posts).set({ title: `t${i}` }).where(eq(posts.id, i % rows))
    return {
      hit: { name: `memory hit (${label})`, run: within(fiberLoop((i) => getItem(keys[i % keys.length]!))), warmUp: 2 * keys.length },
      update: { name: `update, table with a rule (${label})`, run: asyncLoop(setTitle(db)) },
      offline: { name: `update, no database (${label})`, run: asyncLoop(setTitle(offline)) }
    }
  })

const program = Effect.gen(function*() {
  const here = path.resolve(import.meta.dirname, "..")
  const build = (root: string) =>
    Effect.promise(() =>
      Promise.all([load<typeof CoreModule>(root, "core"), load<typeof DrizzleModule>(root, "drizzle")])
    )
  const before = yield* build(beforeRoot)
  const after = yield* build(here)
  yield* Effect.promise(async () => {
    await plain.execute(sql`drop schema if exists cachefx_bench_versions cascade`)
    await plain.execute(sql`create schema cachefx_bench_versions`)
    await plain.execute(sql.raw(
      `create table cachefx_bench_versions.posts (id integer primary key, author_id integer not null, title text not null)`
    ))
    await plain.execute(sql.raw(
      `insert into cachefx_bench_versions.posts select i, i % 50, 'title ' || i from generate_series(0, ${rows - 1}) i`
    ))
  })
  console.log(`  before: ${beforeRoot}; after: ${here}`)
  const old = yield* sideOf("before", ...before)
  const now = yield* sideOf("after", ...after)
  for (const name of ["hit", "update", "offline"] as const) {
    const cases = [old[name], now[name]]
    compare(yield* measure(cases), against(old[name].name, [{ name: now[name].name, target: "≤ 1.05×" }]))
  }
  yield* Effect.promise(() => plain.execute(sql`drop schema if exists cachefx_bench_versions cascade`))
}).pipe(Effect.scoped, Effect.ensuring(Effect.promise(() => pool.end())))

main("this build of cachefx against another (BENCH_BEFORE), same process", program)
