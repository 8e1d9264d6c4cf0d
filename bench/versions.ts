/**
 * This build of cachefx against another build of it, in one run: the check that a change
 * left the hit path and the Drizzle hooks as fast as before ("within 5 %"), which two
 * runs on a shared 2-core machine cannot tell apart.
 *
 * `BENCH_BEFORE` names the checkout of the other build, made by
 * `scripts/bench-before.sh REV DIR`: its packages are its own, every other dependency
 * is this checkout's. Each build runs in a process of its own (two builds in one process
 * share the JIT's state of effect's code, and the one loaded first came out up to 1.5×
 * slower against a copy of itself), and the two processes are measured in lockstep
 * (`remote` and `measureRemote` of ./harness.ts): each round, one sample of every case
 * of each build, one process after the other. On this machine the CPU time of one and
 * the same loop wanders by up to 2× from one tenth of a second to the next, in bursts
 * that last seconds; processes measured one after the other (this file's earlier way)
 * put those bursts on one build or the other, and a build against itself came out at
 * 1.11× over 6 pairs. In lockstep both builds share each burst.
 *
 * `BENCH_VERSIONS_PAIRS` pairs of processes (default 2, the first process started
 * alternating), `BENCH_VERSIONS_ROUNDS` rounds each (default 40) of samples of
 * `BENCH_SAMPLE_MS` (default 50 ms here). Each comparison is over every round of every
 * pair: the median of the per-round ratios and their spread, then the CPU ratio's
 * quartiles and the ratio of the fastest tenth of each side's samples (the rounds the
 * machine disturbed least).
 *
 * Cases, each from both builds, each warmed up before it is calibrated (an update's code
 * runs 5 times slower before the JIT has seen a few thousand of them):
 * - a memory hit, one fiber, cycling over 1,000 keys of a two-field constructor;
 * - an update of a table with an invalidation rule (inline engine, memory store) on
 *   PostgreSQL (127.0.0.1:5432 or `DATABASE_URL`), and on a node-postgres client that
 *   answers at once, which leaves the CPU of Drizzle, the hooks and the engine alone.
 *
 * `BENCH_VERSIONS_CASES` (comma-separated: hit, update, offline) runs some of them.
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
import { fileURLToPath, pathToFileURL } from "node:url"
import pg from "pg"
import { answering } from "./answering.js"
import {
  against,
  asyncLoop,
  compare,
  fiberLoop,
  formatRatio,
  loadAverage,
  main,
  measureRemote,
  remote,
  type Run,
  type Sample,
  serve
} from "./harness.js"
import { type Item, inputs, item, itemsOf } from "./itemData.js"

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

const keys = inputs()

const caseNames = {
  hit: "memory hit",
  update: "update, table with a rule",
  offline: "update, no database"
} as const

/** One build's cases, named `<case> (<label>)`, each run under that build's own context. */
const sideOf = (label: Label, core: typeof CoreModule, hooks: typeof DrizzleModule) =>
  Effect.gen(function*() {
    const { Cached, CacheStore, Dispatcher, InvalidationEngine, InvalidationRule, KeyConstructor, KeyField } = core
    const items = itemsOf(core)
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
      hit: { name: `${caseNames.hit} (${label})`, run: within(fiberLoop((i) => getItem(keys[i % keys.length]!))), warmUp: 2 * keys.length },
      update: { name: `${caseNames.update} (${label})`, run: asyncLoop(setTitle(db)), warmUp: 500 },
      offline: { name: `${caseNames.offline} (${label})`, run: asyncLoop(setTitle(offline)), warmUp: 20_000 }
    }
  })

const here = path.resolve(import.meta.dirname, "..")
const cases = (process.env["BENCH_VERSIONS_CASES"]?.split(",") ?? ["hit", "update", "offline"]) as ReadonlyArray<"hit" | "update" | "offline">
const labels = { before: "before", after: "after" } as const
type Label = keyof typeof labels

/** A child process: one build's cases, served to the parent one sample at a time. */
const child = (label: Label) =>
  Effect.gen(function*() {
    const root = label === "before" ? beforeRoot : here
    const [core, hooks] = yield* Effect.promise(() =>
      Promise.all([load<typeof CoreModule>(root, "core"), load<typeof DrizzleModule>(root, "drizzle")])
    )
    const side = yield* sideOf(label, core, hooks)
    yield* serve(cases.map((name) => side[name]))
  }).pipe(Effect.scoped, Effect.ensuring(Effect.promise(() => pool.end())))

const pairs = Math.max(1, Number(process.env["BENCH_VERSIONS_PAIRS"] ?? 2))
const roundsPerPair = Math.max(5, Number(process.env["BENCH_VERSIONS_ROUNDS"] ?? 40))

/** The lowest tenth, the lower quartile, the median and the upper quartile of `values`. */
const quantiles = (values: ReadonlyArray<number>) => {
  const sorted = [...values].sort((a, b) => a - b)
  const at = (q: number) => sorted[Math.round(q * (sorted.length - 1))]!
  return { q25: at(0.25), q50: at(0.5), q75: at(0.75), q10: at(0.1) }
}

/** The table, then the pairs of processes, each measured in lockstep, then the comparisons over every round. */
const parent = Effect.gen(function*() {
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
  console.log(`  before: ${beforeRoot}; after: ${here}; ${pairs} pairs of processes, ${roundsPerPair} rounds each`)
  const samples = new Map<string, Array<Sample>>()
  for (let pair = 0; pair < pairs; pair++) {
    const order: ReadonlyArray<Label> = pair % 2 === 0 ? ["before", "after"] : ["after", "before"]
    const measured = yield* Effect.scoped(Effect.gen(function*() {
      const sides = yield* Effect.forEach(order, (label) =>
        remote(fileURLToPath(import.meta.url), {
          ...process.env,
          BENCH_JSON: "",
          BENCH_SAMPLE_MS: process.env["BENCH_SAMPLE_MS"] ?? "50",
          BENCH_VERSIONS_SIDE: label
        }))
      return yield* measureRemote(sides.flat(), roundsPerPair)
    }))
    for (const [name, of] of measured) {
      samples.set(name, [...(samples.get(name) ?? []), ...of])
    }
    console.log(`  pair ${pair + 1} of ${pairs} done; load average ${loadAverage()}`)
  }
  for (const name of cases) {
    const [before, after] = [`${caseNames[name]} (before)`, `${caseNames[name]} (after)`]
    compare(samples, against(before, [{ name: after, target: "≤ 1.05×" }]))
    const ratios = samples.get(after)!.map((sample, round) => sample.cpuNs / samples.get(before)![round]!.cpuNs)
    const perRound = quantiles(ratios)
    const fastest = quantiles(samples.get(after)!.map((s) => s.cpuNs)).q10 / quantiles(samples.get(before)!.map((s) => s.cpuNs)).q10
    console.log(
      `    CPU ratio per round: quartiles ${formatRatio(perRound.q25)}–${formatRatio(perRound.q75)} around ${formatRatio(perRound.q50)}; ` +
        `the fastest tenth of each side: ${formatRatio(fastest)}`
    )
  }
  yield* Effect.promise(() => plain.execute(sql`drop schema if exists cachefx_bench_versions cascade`))
}).pipe(Effect.ensuring(Effect.promise(() => pool.end())))

const side = process.env["BENCH_VERSIONS_SIDE"]
if (side === "before" || side === "after") {
  Effect.runPromise(child(side)).catch((error) => {
    console.error(error)
    process.exitCode = 1
  })
} else {
  main("this build of cachefx against another (BENCH_BEFORE), each in a process of its own, in lockstep", parent)
}
