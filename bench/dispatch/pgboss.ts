/**
 * The pg-boss dispatcher against the inline one (see ./measure.ts), on the PostgreSQL
 * of PGBOSS_URL (default postgres://postgres@127.0.0.1:5432/test), in a schema of its
 * own that is dropped afterwards. The worker takes 32 jobs per fetch.
 *
 * Run: npm run bench:dispatch -- pg-boss
 */
import { PgBossDispatcher, PgBossWorker } from "@cachefx/pg-boss"
import { Effect } from "effect"
import pg from "pg"
import { measureBroker } from "./measure.js"

const url = process.env["PGBOSS_URL"] ?? "postgres://postgres@127.0.0.1:5432/test"
const schema = `cachefx_bench_pgboss_${process.pid}`
const queue = "cachefx-bench"

const dropSchema = Effect.promise(async () => {
  const client = new pg.Client(url)
  await client.connect()
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
  await client.end()
})

export const bench = Effect.gen(function*() {
  yield* Effect.acquireRelease(dropSchema, () => dropSchema)
  const boss = yield* PgBossDispatcher.start({ connectionString: url, schema })
  yield* measureBroker(
    "pg-boss",
    PgBossDispatcher.layer({ boss, queue }),
    PgBossWorker.layer({ boss, queue, schema, concurrency: 32, pollInterval: "50 millis" })
  )
})

