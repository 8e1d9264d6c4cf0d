/**
 * The blog's database: PGlite (PostgreSQL in process) by default, or the PostgreSQL of a
 * URL through node-postgres, in a schema of its own. Reads go through `Reader`, writes
 * through `Writer`, the instrumented twin that publishes what each write changed.
 */
import { PGlite } from "@electric-sql/pglite"
import type { Logger } from "drizzle-orm"
import { drizzle as drizzlePg } from "drizzle-orm/node-postgres"
import { drizzle as drizzlePglite } from "drizzle-orm/pglite"
import { Context, Effect, type Scope } from "effect"
import pg from "pg"
import type { BlogDatabase } from "./schema.js"

export interface OpenOptions {
  /** A PostgreSQL URL; PGlite when absent. */
  readonly url?: string | undefined
  /** The PostgreSQL schema the blog's tables live in (created when missing). Default `cachefx_blog`. */
  readonly schema?: string | undefined
  /** Drizzle's query logger. */
  readonly logger?: Logger | undefined
}

/** Opens the database for the life of the scope. */
export const open = (options: OpenOptions = {}): Effect.Effect<BlogDatabase, never, Scope.Scope> => {
  const { url, schema = "cachefx_blog", logger = false } = options
  if (url === undefined) {
    return Effect.map(
      Effect.acquireRelease(Effect.sync(() => new PGlite()), (client) => Effect.promise(() => client.close())),
      (client) => drizzlePglite(client, { logger })
    )
  }
  if (!/^[a-z_][a-z0-9_]*$/.test(schema)) {
    return Effect.dieMessage(`schema must be a plain lower-case identifier, got ${JSON.stringify(schema)}`)
  }
  return Effect.acquireRelease(
    Effect.promise(async () => {
      const admin = new pg.Client({ connectionString: url })
      await admin.connect()
      await admin.query(`create schema if not exists ${schema}`).finally(() => admin.end())
      return new pg.Pool({ connectionString: url, options: `-c search_path=${schema}` })
    }),
    (pool) => Effect.promise(() => pool.end())
  ).pipe(Effect.map((pool) => drizzlePg(pool, { logger })))
}

/** The plain database, for reads (and the rewarms the engine runs). */
export class Reader extends Context.Tag("examples/blog/Reader")<Reader, BlogDatabase>() {}

/** The instrumented database: its writes invalidate what they make stale. */
export class Writer extends Context.Tag("examples/blog/Writer")<Writer, BlogDatabase>() {}

export const read = <A>(f: (db: BlogDatabase) => Promise<A>) => Effect.flatMap(Reader, (db) => Effect.promise(() => f(db)))

export const write = <A>(f: (db: BlogDatabase) => Promise<A>) => Effect.flatMap(Writer, (db) => Effect.promise(() => f(db)))
