/**
 * Drizzle writes invalidate cached reads: a cached query of an author's posts, an
 * update through the instrumented database, and the fresh read after it, printed step
 * by step. Runs on PGlite (in-process PostgreSQL), or on the PostgreSQL of
 * `DATABASE_URL` through node-postgres.
 *
 * Run: npm run example:drizzle   (or DATABASE_URL=postgres://… npm run example:drizzle)
 */
import { Cached, CacheStore, InvalidationEngine, InvalidationRule, KeyConstructor, KeyField } from "@cachefx/core"
import { DrizzleHooks } from "@cachefx/drizzle"
import { PGlite } from "@electric-sql/pglite"
import { asc, eq, sql } from "drizzle-orm"
import { drizzle as drizzlePg } from "drizzle-orm/node-postgres"
import { integer, type PgDatabase, pgSchema, text } from "drizzle-orm/pg-core"
import { drizzle as drizzlePglite } from "drizzle-orm/pglite"
import { Effect, Layer } from "effect"
import pg from "pg"

const schema = pgSchema("cachefx_example")
const posts = schema.table("posts", {
  id: integer("id").primaryKey(),
  authorId: integer("author_id").notNull(),
  title: text("title").notNull()
})

const url = process.env["DATABASE_URL"]
const pool = url === undefined ? undefined : new pg.Pool({ connectionString: url })
const db: PgDatabase<any, any, any> = pool === undefined ? drizzlePglite(new PGlite()) : drizzlePg(pool)

let queries = 0

/** An author's post titles, cached per author; writes to `posts` wipe the author's partition. */
const titlesOf = Cached.cached({
  key: KeyConstructor.make({ namespace: "titles", fields: [KeyField.arg("authorId", { partition: true })] }),
  ttl: "10 minutes",
  invalidatesOn: [InvalidationRule.make({ table: posts, fieldMapping: { authorId: posts.authorId } })]
})((input: { readonly authorId: number }) =>
  Effect.promise(() => {
    queries++
    return db.select({ title: posts.title }).from(posts).where(eq(posts.authorId, input.authorId)).orderBy(
      asc(posts.id)
    )
  }).pipe(Effect.map((rows) => rows.map((row) => row.title)))
)

const read = (label: string) =>
  Effect.gen(function*() {
    const before = queries
    const result = yield* titlesOf.withStatus({ authorId: 1 })
    console.log(`${label.padEnd(40)} ${result.status.padEnd(5)} queries ${queries - before}  ${JSON.stringify(result.value)}`)
  })

const program = Effect.gen(function*() {
  console.log(`database: ${pool === undefined ? "PGlite (in process)" : "PostgreSQL at DATABASE_URL"}`)
  yield* Effect.promise(async () => {
    await db.execute(sql`drop schema if exists cachefx_example cascade`)
    await db.execute(sql`create schema cachefx_example`)
    await db.execute(sql`create table cachefx_example.posts (id integer primary key, author_id integer not null, title text not null)`)
    await db.insert(posts).values([{ id: 1, authorId: 1, title: "Hello" }, { id: 2, authorId: 1, title: "Caching" }])
  })
  const hooked = yield* DrizzleHooks.instrument(db, { caches: [titlesOf] })

  yield* read("1. first read of author 1")
  yield* read("2. second read")
  yield* Effect.promise(() => hooked.update(posts).set({ title: "Caching, revised" }).where(eq(posts.id, 2)))
  console.log("3. update post 2 through the hooks        (the author's partition is wiped after commit)")
  yield* read("4. read after the write")
  yield* Effect.promise(() =>
    hooked.transaction(async (tx) => {
      await tx.update(posts).set({ authorId: 2 }).where(eq(posts.id, 1))
      await tx.insert(posts).values({ id: 3, authorId: 1, title: "Transactions" })
    })
  )
  console.log("5. move post 1 to author 2 and add post 3 in one transaction")
  yield* read("6. read after the commit")
  yield* read("7. read again")
}).pipe(
  Effect.provide(InvalidationEngine.layer({ caches: [titlesOf] }).pipe(Layer.provideMerge(CacheStore.layerMemory()))),
  Effect.ensuring(Effect.promise(async () => {
    await db.execute(sql`drop schema if exists cachefx_example cascade`)
    await pool?.end()
  }))
)

Effect.runPromise(program)
