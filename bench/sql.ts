/**
 * The SQL store (`@cachefx/sql`) against the Redis store, in the same run: PostgreSQL (a
 * schema of the benchmark's own in `PG_URL`, default the local `test` database, dropped
 * after) and SQLite (a file in a temporary directory), against a redis-server of the
 * benchmark's own. Keys cycle over 1,000 inputs of a two-field constructor (./items.ts,
 * 10 partitions of 100 keys).
 * - a hit, one caller: `cached()` on a filled key, store by store;
 * - a miss and its fill, one caller: `cached()` on a new key each time;
 * - a partition wipe, one caller: `deletePartition` of a partition of 100 filled keys
 *   (all 1,000 keys filled again, untimed, before each sample): a stamp on every store.
 * No target: the ratios say what a database costs against Redis. Every store runs with
 * an operation timeout of 5 seconds, so that a busy machine measures slow statements
 * instead of timeouts.
 *
 * Run: npm run bench:sql (BENCH_ROUNDS, BENCH_SAMPLE_MS: see ./harness.ts)
 */
import { Cached, CacheSettings, CacheStore } from "@cachefx/core"
import { RedisStore } from "@cachefx/redis"
import { SqlStore } from "@cachefx/sql"
import { Effect } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import pg from "pg"
import { type Comparison, compare, fiberLoop, main, measure } from "./harness.js"
import { type Item, inputs, item, Items } from "./items.js"
import { server } from "./redisServer.js"

const url = process.env["PG_URL"] ?? "postgres://postgres@127.0.0.1:5432/test"
const keys = inputs()

/** A schema of this run's own in the PostgreSQL of `url`, dropped with the scope. */
const schema = Effect.acquireRelease(
  Effect.promise(async () => {
    const name = `bench_sql_${process.pid}`
    const admin = new pg.Pool({ connectionString: url, max: 1 })
    await admin.query(`DROP SCHEMA IF EXISTS "${name}" CASCADE; CREATE SCHEMA "${name}"`)
    return { name, admin }
  }),
  ({ admin, name }) => Effect.promise(() => admin.query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`).then(() => admin.end()))
)

/** A directory of this run's own for the SQLite file, removed with the scope. */
const directory = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "cachefx-bench-sql-"))),
  (path) => Effect.sync(() => rmSync(path, { recursive: true, force: true }))
)

const stores = ["Redis", "PostgreSQL", "SQLite"] as const
type Store = typeof stores[number]

/** Each store against Redis, on one quantity. */
const againstRedis = (what: string, quantity: Comparison["quantity"]): ReadonlyArray<Comparison> =>
  (["PostgreSQL", "SQLite"] as const).flatMap((store) => [
    { name: `${store} vs Redis, ${what}`, subject: `${store} ${what}`, baseline: `Redis ${what}`, quantity },
    {
      name: `  client CPU: ${store} vs Redis, ${what}`,
      subject: `${store} ${what}`,
      baseline: `Redis ${what}`,
      quantity: { of: "cpu", unit: "µs" }
    }
  ])

const program = Effect.gen(function*() {
  const { client } = yield* server
  const { name } = yield* schema
  const file = join(yield* directory, "cache.db")
  const made: Record<Store, CacheStore.Service> = {
    Redis: yield* RedisStore.make({ client }),
    PostgreSQL: yield* SqlStore.makePg({ connectionString: url, schema: name }),
    SQLite: yield* SqlStore.makeSqlite({ filename: file })
  }
  const on = (store: Store) => <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    Effect.provideService(effect, CacheStore.CacheStore, made[store])

  // hits: every key filled once (the warm-up), then read
  const getItem = Cached.cached({ key: Items, ttl: "1 hour" })((input: Item) => Effect.succeed(item(input)))
  const hit = (store: Store) => fiberLoop((i) => on(store)(getItem(keys[i % keys.length]!)))
  const hits = yield* measure(stores.map((store) => ({ name: `${store} hit`, run: hit(store), warmUp: keys.length })))
  compare(hits, againstRedis("hit", { of: "time", unit: "µs" }))

  // a miss and its fill: a new key each operation
  const fillItem = Cached.cached({ key: Items, name: "fill", ttl: "1 hour" })((input: Item) => Effect.succeed(item(input)))
  const fresh = (i: number): Item => ({ shop: 100 + (i % 10), id: i })
  const fills = yield* measure(
    stores.map((store) => ({ name: `${store} miss + fill`, run: fiberLoop((i) => on(store)(fillItem(fresh(i)))) }))
  )
  compare(fills, againstRedis("miss + fill", { of: "time", unit: "µs" }))

  // partition wipes, the 1,000 keys filled again before each sample
  const refill = (store: Store) => () =>
    on(store)(Effect.forEach(keys, (input) => getItem.refresh(input), { concurrency: 20, discard: true }))
  const wipes = yield* measure(stores.map((store) => ({
    name: `${store} partition wipe`,
    run: fiberLoop((i) => on(store)(getItem.deletePartition({ shop: i % 10 }))),
    prepare: refill(store)
  })))
  compare(wipes, againstRedis("partition wipe", { of: "time", unit: "µs" }))
}).pipe(Effect.scoped, Effect.provide(CacheSettings.layer({ operationTimeout: "5 seconds" })))

main("cachefx SQL store (PostgreSQL, SQLite) against the Redis store", program)
