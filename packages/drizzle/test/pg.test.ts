import { PGlite } from "@electric-sql/pglite"
import { describe, expect, it } from "@effect/vitest"
import { DrizzleHooks } from "@cachefx/drizzle"
import { asc, eq, sql } from "drizzle-orm"
import { drizzle as drizzlePg } from "drizzle-orm/node-postgres"
import { integer, type PgDatabase, pgSchema, text } from "drizzle-orm/pg-core"
import { drizzle as drizzlePglite } from "drizzle-orm/pglite"
import { Effect, type Layer } from "effect"
import pg from "pg"
import { afterAll, beforeAll } from "vitest"
import { invalidations, key, makeCaches, namespace, partition } from "./fixtures.js"

const schema = pgSchema("cachefx_drizzle_pg")
const posts = schema.table("posts", {
  id: integer("id").primaryKey(),
  authorId: integer("author_id").notNull(),
  title: text("title").notNull(),
  status: text("status").notNull().default("draft")
})
const tags = schema.table("tags", { id: integer("id").primaryKey(), name: text("name").notNull() })

type Db = PgDatabase<any, any, any>

const ddl = [
  sql`drop schema if exists cachefx_drizzle_pg cascade`,
  sql`create schema cachefx_drizzle_pg`,
  sql`create table cachefx_drizzle_pg.posts (id integer primary key, author_id integer not null, title text not null, status text not null default 'draft')`,
  sql`create table cachefx_drizzle_pg.tags (id integer primary key, name text not null)`
]

/** Every statement the drivers run, as Drizzle logs them. */
const statements: Array<string> = []
const logger = { logQuery: (query: string) => statements.push(query) }

interface Driver {
  readonly name: string
  readonly open: () => Promise<{ readonly db: Db; readonly close: () => Promise<unknown> }>
}

const drivers: ReadonlyArray<Driver> = [
  {
    name: "PGlite",
    open: async () => {
      const client = new PGlite()
      return { db: drizzlePglite(client, { logger }), close: () => client.close() }
    }
  },
  {
    name: "node-postgres",
    open: async () => {
      const pool = new pg.Pool({ host: "127.0.0.1", port: 5432, user: "postgres", database: "test", max: 4 })
      return { db: drizzlePg(pool, { logger }), close: () => pool.end() }
    }
  }
]

describe.each(drivers)("$name", (driver) => {
  let raw: Db
  let close: () => Promise<unknown>
  const reads = { count: 0 }
  const fixture = makeCaches(posts, (authorId) =>
    Effect.promise(() => {
      reads.count++
      return raw.select({ title: posts.title }).from(posts).where(eq(posts.authorId, authorId)).orderBy(asc(posts.id))
    }).pipe(Effect.map((rows) => rows.map((row) => row.title))))
  const { byAuthor, caches, layer } = fixture

  beforeAll(async () => {
    const opened = await driver.open()
    raw = opened.db
    close = opened.close
    for (const statement of ddl) {
      await raw.execute(statement)
    }
  })
  afterAll(() => close())

  /** Runs a test against an instrumented database over freshly seeded posts. */
  const scenario = <A>(f: (db: Db) => Effect.Effect<A, never, Layer.Layer.Success<typeof layer>>) =>
    Effect.gen(function*() {
      yield* Effect.promise(async () => {
        await raw.execute(sql`truncate cachefx_drizzle_pg.posts, cachefx_drizzle_pg.tags`)
        await raw.insert(posts).values([
          { id: 1, authorId: 7, title: "a" },
          { id: 2, authorId: 7, title: "b" },
          { id: 3, authorId: 8, title: "c" }
        ])
      })
      const db = yield* DrizzleHooks.instrument(raw, { caches })
      return yield* f(db)
    }).pipe(Effect.provide(layer))

  const run = <A>(f: () => PromiseLike<A>) => Effect.promise(f)

  it.live("insert invalidates the new row's key and partition", () =>
    scenario((db) =>
      Effect.gen(function*() {
        yield* run(() => db.insert(posts).values({ id: 4, authorId: 9, title: "d" }))
        expect(yield* invalidations).toEqual([key("post", 4), key("titles", 9), partition(9)].sort())
      })
    ))

  it.live("batch insert invalidates every row; returning gives the caller only what it asked", () =>
    scenario((db) =>
      Effect.gen(function*() {
        const returned = yield* run(() =>
          db.insert(posts).values([{ id: 4, authorId: 9, title: "d" }, { id: 5, authorId: 10, title: "e" }])
            .returning({ title: posts.title })
        )
        expect(returned).toEqual([{ title: "d" }, { title: "e" }])
        expect(yield* invalidations).toEqual(
          [key("post", 4), key("post", 5), key("titles", 9), key("titles", 10), partition(9), partition(10)].sort()
        )
      })
    ))

  it.live("a write without returning gives the driver's own result", () =>
    scenario((db) =>
      Effect.gen(function*() {
        const plain = yield* run(() => raw.update(posts).set({ status: "x" }).where(eq(posts.id, 3)))
        const hooked = yield* run(() => db.update(posts).set({ status: "y" }).where(eq(posts.id, 3)))
        expect(Object.keys(hooked).sort()).toEqual(Object.keys(plain).sort())
        expect(hooked).toMatchObject({ rows: [] })
      })
    ))

  it.live("update of an unwatched column: exact key and partition, no read of old rows", () =>
    scenario((db) =>
      Effect.gen(function*() {
        yield* run(() => db.update(posts).set({ status: "published" }).where(eq(posts.id, 1)))
        expect(yield* invalidations).toEqual([key("post", 1), partition(7)].sort())
      })
    ))

  it.live("an update is one statement; one that sets a mapped or watched column reads and locks the old rows in it", () =>
    scenario((db) =>
      Effect.gen(function*() {
        statements.length = 0
        yield* run(() => db.update(posts).set({ status: "x" }).where(eq(posts.id, 1)))
        expect(statements).toHaveLength(1)
        statements.length = 0
        yield* run(() => db.update(posts).set({ title: "x" }).where(eq(posts.id, 1)))
        expect(statements).toHaveLength(1)
        expect(statements[0]).toMatch(/^update .* from \(select .* for update\) /)
        // inside a transaction too
        statements.length = 0
        yield* run(() => db.transaction((tx) => tx.update(posts).set({ title: "y" }).where(eq(posts.id, 1))))
        expect(statements.filter((query) => query !== "begin" && query !== "commit")).toHaveLength(1)
        expect(yield* invalidations).toEqual(
          [...[1, 2, 3].flatMap(() => [key("post", 1), partition(7)]), key("titles", 7), key("titles", 7)].sort()
        )
      })
    ))

  it.live("a row moved by an update with returning: the caller gets what it asked, both partitions are invalidated", () =>
    scenario((db) =>
      Effect.gen(function*() {
        const returned = yield* run(() =>
          db.update(posts).set({ authorId: 8 }).where(eq(posts.id, 1)).returning({ id: posts.id, author: posts.authorId })
        )
        expect(returned).toEqual([{ id: 1, author: 8 }])
        expect(yield* invalidations).toEqual([key("post", 1), partition(7), partition(8)].sort())
      })
    ))

  it.live("a row's primary key changed: the old and the new key are both invalidated", () =>
    scenario((db) =>
      Effect.gen(function*() {
        yield* run(() => db.update(posts).set({ id: 10, authorId: 8 }).where(eq(posts.id, 1)))
        expect(yield* invalidations).toEqual([key("post", 1), key("post", 10), partition(7), partition(8)].sort())
      })
    ))

  it.live.skipIf(driver.name !== "node-postgres")(
    "an update that waited for another transaction's lock reports the values that transaction committed",
    () =>
      scenario((db) =>
        Effect.gen(function*() {
          // another connection moves post 1 from author 7 to 8 and holds its lock a while
          let moved!: () => void
          const held = new Promise<void>((resolve) => (moved = resolve))
          const other = raw.transaction(async (tx) => {
            await tx.update(posts).set({ authorId: 8 }).where(eq(posts.id, 1))
            moved()
            await new Promise((resolve) => setTimeout(resolve, 300))
          })
          yield* run(() => held)
          // this update waits for that lock, then moves the post from 8 (not 7) to 9
          yield* run(() => db.update(posts).set({ authorId: 9 }).where(eq(posts.id, 1)))
          yield* run(() => other)
          expect(yield* invalidations).toEqual([key("post", 1), partition(8), partition(9)].sort())
        })
      )
  )

  it.live("update of a watched column invalidates the watching rule too", () =>
    scenario((db) =>
      Effect.gen(function*() {
        yield* run(() => db.update(posts).set({ title: "a2" }).where(eq(posts.id, 1)))
        expect(yield* invalidations).toEqual([key("post", 1), key("titles", 7), partition(7)].sort())
        yield* run(() => db.update(posts).set({ title: "a2" }).where(eq(posts.id, 1)))
        expect(yield* invalidations).toEqual([key("post", 1), partition(7)].sort())
      })
    ))

  it.live("a row moved to another author invalidates both partitions", () =>
    scenario((db) =>
      Effect.gen(function*() {
        yield* run(() => db.update(posts).set({ authorId: 8 }).where(eq(posts.id, 1)))
        expect(yield* invalidations).toEqual([key("post", 1), partition(7), partition(8)].sort())
      })
    ))

  it.live("a prepared statement with placeholders invalidates on every execution", () =>
    scenario((db) =>
      Effect.gen(function*() {
        const move = db.update(posts).set({ authorId: sql`${sql.placeholder("author")}` }).where(eq(posts.id, sql.placeholder("id")))
          .prepare(`move_${driver.name.replace("-", "_")}`)
        yield* run(() => move.execute({ author: 9, id: 1 }))
        expect(yield* invalidations).toEqual([key("post", 1), partition(7), partition(9)].sort())
        yield* run(() => move.execute({ author: 7, id: 1 }))
        expect(yield* invalidations).toEqual([key("post", 1), partition(7), partition(9)].sort())
      })
    ))

  it.live("bulk update and delete: every affected row invalidates", () =>
    scenario((db) =>
      Effect.gen(function*() {
        yield* run(() => db.update(posts).set({ authorId: 9 }).where(sql`${posts.id} < 10`))
        expect(yield* invalidations).toEqual(
          [key("post", 1), key("post", 2), key("post", 3), partition(7), partition(8), partition(9)].sort()
        )
        yield* run(() => db.delete(posts).where(eq(posts.authorId, 9)))
        expect(yield* invalidations).toEqual(
          [key("post", 1), key("post", 2), key("post", 3), key("titles", 9), partition(9)].sort()
        )
      })
    ))

  it.live("writes of db.with(…) are instrumented too", () =>
    scenario((db) =>
      Effect.gen(function*() {
        const sevens = db.$with("sevens").as(db.select({ id: posts.id }).from(posts).where(eq(posts.authorId, 7)))
        yield* run(() => db.with(sevens).delete(posts).where(sql`${posts.id} in (select id from ${sevens})`))
        expect(yield* invalidations).toEqual([key("post", 1), key("post", 2), key("titles", 7), partition(7)].sort())
      })
    ))

  it.live("upserts: do update may move rows (namespace), do nothing that conflicts invalidates nothing", () =>
    scenario((db) =>
      Effect.gen(function*() {
        yield* run(() => db.insert(posts).values({ id: 1, authorId: 7, title: "a" }).onConflictDoNothing())
        expect(yield* invalidations).toEqual([])
        yield* run(() =>
          db.insert(posts).values({ id: 1, authorId: 7, title: "a" }).onConflictDoUpdate({
            target: posts.id,
            set: { authorId: 8 }
          })
        )
        // an upsert is an insert or an update: both events go out, and the update may have moved the row
        expect(yield* invalidations).toEqual(
          [key("post", 1), key("post", 1), key("titles", 8), partition(8), namespace("byAuthor")].sort()
        )
      })
    ))

  it.live("tables without rules are left alone", () =>
    scenario((db) =>
      Effect.gen(function*() {
        const builder = db.insert(tags)
        expect(Object.hasOwn(builder, "values")).toBe(false)
        yield* run(() => builder.values({ id: 1, name: "x" }))
        expect(yield* invalidations).toEqual([])
      })
    ))

  it.live("a transaction publishes once, after commit", () =>
    scenario((db) =>
      Effect.gen(function*() {
        const inside = yield* run(() =>
          db.transaction(async (tx) => {
            await tx.update(posts).set({ status: "x" }).where(eq(posts.id, 1))
            await tx.update(posts).set({ status: "y" }).where(eq(posts.id, 2))
            await tx.update(posts).set({ authorId: 8 }).where(eq(posts.id, 3))
            return Effect.runPromise(invalidations.pipe(Effect.provide(layer)))
          })
        )
        expect(inside).toEqual([])
        expect(yield* invalidations).toEqual([key("post", 1), key("post", 2), key("post", 3), partition(7), partition(8)].sort())
      })
    ))

  it.live("a rollback drops its events", () =>
    scenario((db) =>
      Effect.gen(function*() {
        yield* Effect.promise(() =>
          db.transaction(async (tx) => {
            await tx.delete(posts).where(eq(posts.id, 1))
            tx.rollback()
          }).catch(() => "rolled back")
        )
        expect(yield* invalidations).toEqual([])
        const [row] = yield* run(() => raw.select().from(posts).where(eq(posts.id, 1)))
        expect(row?.title).toBe("a")
      })
    ))

  it.live("a savepoint rollback drops only its events", () =>
    scenario((db) =>
      Effect.gen(function*() {
        yield* run(() =>
          db.transaction(async (tx) => {
            await tx.update(posts).set({ status: "x" }).where(eq(posts.id, 1))
            await tx.transaction(async (inner) => {
              await inner.update(posts).set({ status: "x" }).where(eq(posts.id, 3))
              inner.rollback()
            }).catch(() => "savepoint rolled back")
            await tx.transaction(async (inner) => {
              await inner.update(posts).set({ status: "x" }).where(eq(posts.id, 2))
            })
          })
        )
        expect(yield* invalidations).toEqual([key("post", 1), key("post", 2), partition(7)].sort())
      })
    ))

  it.live("raw SQL is not seen; invalidateTables wipes the tables' rules", () =>
    scenario((db) =>
      Effect.gen(function*() {
        yield* run(() => db.execute(sql`update cachefx_drizzle_pg.posts set title = 'z'`))
        expect(yield* invalidations).toEqual([])
        yield* DrizzleHooks.invalidateTables([posts])
        expect(new Set(yield* invalidations)).toEqual(
          new Set([namespace("post"), namespace("byAuthor"), namespace("titles")])
        )
      })
    ))

  it.live("end to end: cached read, write through the hooks, fresh read", () =>
    scenario((db) =>
      Effect.gen(function*() {
        expect(yield* byAuthor({ authorId: 7, page: 1 })).toEqual(["a", "b"])
        expect(yield* byAuthor({ authorId: 7, page: 1 })).toEqual(["a", "b"])
        const before = reads.count
        yield* run(() => db.update(posts).set({ title: "a2" }).where(eq(posts.id, 1)))
        expect(yield* byAuthor({ authorId: 7, page: 1 })).toEqual(["a2", "b"])
        expect(reads.count).toBe(before + 1)
      })
    ))
})
