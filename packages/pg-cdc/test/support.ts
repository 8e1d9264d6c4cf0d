import { Slot } from "@cachefx/pg-cdc"
import { Effect, Schedule } from "effect"
import { execFileSync } from "node:child_process"
import pg from "pg"

/** The test database: trust auth, so a URL is all a child process or psql needs. */
export const connection: pg.ClientConfig = { host: "127.0.0.1", port: 5432, user: "postgres", database: "test" }

/** Runs SQL through `psql`, a client that is not the application. */
export const psql = (sql: string, database = "test"): string =>
  execFileSync("psql", ["-h", "127.0.0.1", "-U", "postgres", "-d", database, "-v", "ON_ERROR_STOP=1", "-qAtc", sql], {
    encoding: "utf8"
  })

/**
 * The names one test file uses, so files running at the same time on one server never
 * share a schema, slot or publication.
 */
export interface Names {
  readonly schema: string
  readonly slot: string
  readonly publication: string
}

export const names = (file: string): Names => ({
  schema: `cdc_${file}`,
  slot: `cachefx_test_${file}`,
  publication: `cachefx_test_${file}`
})

/** Ends whoever holds the slot (a consumer a crashed run left), then drops it, its publication and the schema. */
export const cleanUp = (client: pg.Pool, { publication, schema, slot }: Names) =>
  Effect.gen(function*() {
    yield* Effect.promise(() =>
      client.query(
        "select pg_terminate_backend(active_pid) from pg_replication_slots where slot_name = $1 and active_pid is not null",
        [slot]
      )
    )
    // the server releases a slot once the process that held it is gone
    yield* Slot.drop(client, { slot, publication }).pipe(
      Effect.retry(Schedule.spaced("200 millis").pipe(Schedule.upTo("15 seconds"))),
      Effect.orDie
    )
    yield* Effect.promise(() => client.query(`drop schema if exists ${schema} cascade`))
  })

/**
 * A pool and a schema of the test's own holding one table (`definition`: its name and
 * columns); the schema, slot and publication are dropped when the scope closes.
 */
export const ownSchema = (file: string, definition: string) =>
  Effect.acquireRelease(
    Effect.gen(function*() {
      const own = names(file)
      const client = new pg.Pool({ ...connection, max: 2 })
      yield* cleanUp(client, own)
      yield* Effect.promise(async () => {
        await client.query(`create schema ${own.schema}`)
        await client.query(`create table ${own.schema}.${definition}`)
      })
      return { client, own }
    }),
    ({ client, own }) => cleanUp(client, own).pipe(Effect.zipRight(Effect.promise(() => client.end())))
  )
