/**
 * cachefx change stream: a cached query, a write that the application never sees (made
 * by `psql`), and the fresh read right after, because the change stream applied the
 * write's invalidation before `awaitApplied` returned.
 *
 * Needs PostgreSQL with wal_level = logical at DATABASE_URL (default
 * postgres://postgres@127.0.0.1:5432/test) and `psql` on the PATH.
 *
 * Run: npm run example:cdc
 */
import { Cached, CacheStore, InvalidationEngine, InvalidationRule, KeyConstructor, KeyField } from "@cachefx/core"
import { ChangeStream, Slot } from "@cachefx/pg-cdc"
import { Console, Effect, Layer, Schedule } from "effect"
import { execFileSync } from "node:child_process"
import pg from "pg"

const url = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test"
const schema = "cachefx_example_cdc"
const names = { slot: "cachefx_example_cdc", publication: "cachefx_example_cdc" }
const pool = new pg.Pool({ connectionString: url, max: 2 })

/** A user's name, read from the database and cached for an hour. */
const userName = Cached.cached({
  key: KeyConstructor.make({ namespace: "example-cdc-user", fields: [KeyField.arg("id")] }),
  ttl: "1 hour",
  invalidatesOn: [InvalidationRule.make({ table: "users", fieldMapping: { id: "id" } })]
})((input: { readonly id: number }) =>
  Effect.promise(() => pool.query(`select name from ${schema}.users where id = $1`, [input.id])).pipe(
    Effect.map((result) => String(result.rows[0]?.name)),
    Effect.tap((name) => Console.log(`  (query ran: ${name})`))
  )
)

const caches = [userName]

/** The example's own schema, slot and publication, dropped at the end. */
const Example = Layer.scopedDiscard(Effect.acquireRelease(
  Effect.promise(() =>
    pool.query(
      `drop schema if exists ${schema} cascade; create schema ${schema};
       create table ${schema}.users (id integer primary key, name text not null);
       insert into ${schema}.users values (1, 'Ada')`
    )
  ),
  () =>
    Slot.drop(pool, names).pipe(
      Effect.retry(Schedule.spaced("200 millis").pipe(Schedule.upTo("10 seconds"))),
      Effect.orDie,
      Effect.zipRight(Effect.promise(() => pool.query(`drop schema ${schema} cascade`))),
      Effect.zipRight(Effect.promise(() => pool.end()))
    )
))

const Live = ChangeStream.layer({ connection: { connectionString: url }, caches, schema, ...names }).pipe(
  Layer.provideMerge(InvalidationEngine.layer({ caches })),
  Layer.provideMerge(CacheStore.layerMemory()),
  Layer.provideMerge(Example)
)

const program = Effect.gen(function*() {
  const stream = yield* ChangeStream.ChangeStream
  yield* Effect.repeat(stream.holding, { until: (held) => held })
  yield* Console.log("read 1:", yield* userName({ id: 1 }))
  yield* Console.log("read 2:", yield* userName({ id: 1 }), "(cached)")

  yield* Console.log("psql: update users set name = 'Grace' where id = 1")
  execFileSync("psql", [url, "-qc", `update ${schema}.users set name = 'Grace' where id = 1`])
  const lsn = yield* ChangeStream.currentLsn(pool)
  yield* ChangeStream.awaitApplied(pool, { slot: names.slot, lsn, timeout: "10 seconds" })
  yield* Console.log(`applied up to ${lsn}`)

  yield* Console.log("read 3:", yield* userName({ id: 1 }), "(fresh)")
})

Effect.runPromise(Effect.provide(program, Live)).catch((error) => {
  console.error(error)
  process.exitCode = 1
})
