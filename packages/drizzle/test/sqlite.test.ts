import { describe, expect, it } from "@effect/vitest"
import { DrizzleHooks } from "@cachefx/drizzle"
import Database from "better-sqlite3"
import { asc, eq, sql } from "drizzle-orm"
import { drizzle } from "drizzle-orm/better-sqlite3"
import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core"
import { Cached, CacheStore, InvalidationEngine, InvalidationRule, KeyConstructor, KeyField, TestCache } from "@cachefx/core"
import { Effect, Layer, Option } from "effect"
import { invalidations, key, makeCaches, partition, settle } from "./fixtures.js"

const posts = sqliteTable("posts", {
  id: integer("id").primaryKey(),
  authorId: integer("author_id").notNull(),
  title: text("title").notNull(),
  status: text("status").notNull().default("draft")
})

const raw = drizzle(new Database(":memory:"))
raw.run(sql`create table posts (id integer primary key, author_id integer not null, title text not null, status text not null default 'draft')`)

let reads = 0
const { byAuthor, caches, layer } = makeCaches(posts, (authorId) =>
  Effect.sync(() => {
    reads++
    return raw.select({ title: posts.title }).from(posts).where(eq(posts.authorId, authorId)).orderBy(asc(posts.id))
      .all().map((row) => row.title)
  }))

type Db = typeof raw

const scenario = <A, E>(f: (db: Db) => Effect.Effect<A, E, Layer.Layer.Success<typeof layer>>) =>
  Effect.gen(function*() {
    raw.delete(posts).run()
    raw.insert(posts).values([
      { id: 1, authorId: 7, title: "a" },
      { id: 2, authorId: 7, title: "b" },
      { id: 3, authorId: 8, title: "c" }
    ]).run()
    const db = yield* DrizzleHooks.instrument(raw, { caches })
    return yield* f(db)
  }).pipe(Effect.provide(layer))

/** A synchronous write, then the moment the engine needs to handle its events. */
const write = <A>(f: () => A) => Effect.sync(f).pipe(Effect.tap(() => settle))

describe("better-sqlite3", () => {
  it.live("insert, update, delete: exact keys and partitions", () =>
    scenario((db) =>
      Effect.gen(function*() {
        const info = yield* write(() => db.insert(posts).values({ id: 4, authorId: 9, title: "d" }).run())
        expect(info).toEqual({ changes: 1, lastInsertRowid: 4 })
        expect(yield* invalidations).toEqual([key("post", 4), key("titles", 9), partition(9)].sort())
        yield* write(() => db.update(posts).set({ status: "x" }).where(eq(posts.id, 1)).run())
        expect(yield* invalidations).toEqual([key("post", 1), partition(7)].sort())
        const deleted = yield* write(() => db.delete(posts).where(eq(posts.id, 3)).returning({ id: posts.id }).get())
        expect(deleted).toEqual({ id: 3 })
        expect(yield* invalidations).toEqual([key("post", 3), key("titles", 8), partition(8)].sort())
      })))

  it.live("awaiting a write waits for its invalidation; values() gives the caller's columns only", () =>
    scenario((db) =>
      Effect.gen(function*() {
        yield* Effect.promise(() => db.update(posts).set({ title: "a2" }).where(eq(posts.id, 1)))
        expect(yield* invalidations).toEqual([key("post", 1), key("titles", 7), partition(7)].sort())
        const values = db.update(posts).set({ status: "y" }).where(eq(posts.authorId, 7)).returning({ id: posts.id })
          .values()
        expect(values).toEqual([[1], [2]])
      })))

  it.live("awaiting a write waits for an invalidation that has to wait for its store", () =>
    scenario((db) =>
      Effect.gen(function*() {
        const cache = yield* TestCache.TestCache
        yield* cache.delayNext(3, "30 millis")
        yield* Effect.promise(() => db.update(posts).set({ title: "a2" }).where(eq(posts.id, 1)))
        // the store logs an operation once it is done: all three are, when the write returns
        expect(yield* invalidations).toEqual([key("post", 1), key("titles", 7), partition(7)].sort())
      })))

  it.live("upserts: do nothing on conflict publishes nothing, do update publishes an insert and an update", () =>
    scenario((db) =>
      Effect.gen(function*() {
        yield* write(() => db.insert(posts).values({ id: 1, authorId: 7, title: "a" }).onConflictDoNothing().run())
        expect(yield* invalidations).toEqual([])
        yield* write(() =>
          db.insert(posts).values({ id: 1, authorId: 7, title: "a" })
            .onConflictDoUpdate({ target: posts.id, set: { title: "a2" } }).run()
        )
        expect(yield* invalidations).toEqual(
          [key("post", 1), key("post", 1), key("titles", 7), key("titles", 7), partition(7), partition(7)].sort()
        )
      })))

  it.live("a prepared statement invalidates on every run", () =>
    scenario((db) =>
      Effect.gen(function*() {
        const publish = db.update(posts).set({ status: "published" }).where(eq(posts.id, sql.placeholder("id"))).prepare()
        yield* write(() => publish.run({ id: 1 }))
        yield* write(() => publish.run({ id: 3 }))
        expect(yield* invalidations).toEqual([key("post", 1), key("post", 3), partition(7), partition(8)].sort())
      })))

  it.live("a row moved to another author invalidates both partitions", () =>
    scenario((db) =>
      Effect.gen(function*() {
        yield* write(() => db.update(posts).set({ authorId: 8 }).where(eq(posts.authorId, 7)).run())
        expect(yield* invalidations).toEqual([key("post", 1), key("post", 2), partition(7), partition(8)].sort())
      })))

  it.live("a transaction publishes once after commit; a savepoint rollback drops only its events", () =>
    scenario((db) =>
      Effect.gen(function*() {
        yield* write(() =>
          db.transaction((tx) => {
            tx.update(posts).set({ status: "x" }).where(eq(posts.id, 1)).run()
            try {
              tx.transaction((inner) => {
                inner.update(posts).set({ status: "x" }).where(eq(posts.id, 3)).run()
                inner.rollback()
              })
            } catch {
              // the savepoint rolled back
            }
            tx.update(posts).set({ status: "y" }).where(eq(posts.id, 2)).run()
          })
        )
        expect(yield* invalidations).toEqual([key("post", 1), key("post", 2), partition(7)].sort())
      })))

  it.live("a rollback drops its events", () =>
    scenario((db) =>
      Effect.gen(function*() {
        yield* write(() => {
          try {
            db.transaction((tx) => {
              tx.delete(posts).run()
              tx.rollback()
            })
          } catch {
            // rolled back
          }
        })
        expect(yield* invalidations).toEqual([])
        expect(raw.select().from(posts).all()).toHaveLength(3)
      })))

  it.live("end to end: cached read, write through the hooks, fresh read", () =>
    scenario((db) =>
      Effect.gen(function*() {
        expect(yield* byAuthor({ authorId: 7, page: 1 })).toEqual(["a", "b"])
        expect(yield* byAuthor({ authorId: 7, page: 1 })).toEqual(["a", "b"])
        const before = reads
        yield* Effect.promise(() => db.update(posts).set({ title: "b2" }).where(eq(posts.id, 2)))
        expect(yield* byAuthor({ authorId: 7, page: 1 })).toEqual(["a", "b2"])
        expect(reads).toBe(before + 1)
      })))

  it.live("the outbox: stored in the write's transaction, deleted once published, relayed after a crash", () =>
    scenario(() =>
      Effect.gen(function*() {
        const db = yield* DrizzleHooks.instrument(raw, { caches, outbox: true })
        yield* write(() => db.update(posts).set({ authorId: 9 }).where(eq(posts.id, 3)).run())
        expect(yield* invalidations).toEqual([key("post", 3), partition(8), partition(9)].sort())
        expect(raw.all(sql`select id from cachefx_outbox`)).toEqual([])
        // what a process that died between commit and publish leaves behind
        raw.run(sql`insert into cachefx_outbox (event) values (${
          JSON.stringify({ table: "posts", operation: "delete", rows: [{ id: 2, author_id: 7 }] })
        })`)
        expect(yield* DrizzleHooks.relayOnce(raw)).toBe(1)
        expect(yield* invalidations).toEqual([key("post", 2), key("titles", 7), partition(7)].sort())
        expect(raw.all(sql`select id from cachefx_outbox`)).toEqual([])
      })))

  it.live("with casing: columns named by Drizzle's snake_case are read by their database names", () => {
    const cased = sqliteTable("cased_posts", {
      id: integer().primaryKey(),
      authorId: integer().notNull(),
      title: text().notNull()
    })
    const client = drizzle(new Database(":memory:"), { casing: "snake_case" })
    client.run(sql`create table cased_posts (id integer primary key, author_id integer not null, title text not null)`)
    const fixture = makeCaches(cased, () => Effect.succeed([]))
    return Effect.gen(function*() {
      const db = yield* DrizzleHooks.instrument(client, { caches: fixture.caches })
      yield* Effect.promise(() => db.insert(cased).values({ id: 1, authorId: 7, title: "a" }))
      yield* Effect.promise(() => db.update(cased).set({ authorId: 8 }).where(eq(cased.id, 1)))
      expect(yield* invalidations).toEqual(
        [key("post", 1), key("post", 1), key("titles", 7), partition(7), partition(7), partition(8)].sort()
      )
    }).pipe(Effect.provide(fixture.layer))
  })

  it.live("a column named by a name that is one column's database name and another's property reads the same column as the engine", () => {
    // `author_id` is the database name of `authorId` and the property name of `writer`: rules read it as the database name
    const shared = sqliteTable("shared_names", {
      id: integer("id").primaryKey(),
      author_id: integer("writer").notNull(),
      authorId: integer("author_id").notNull()
    })
    const client = drizzle(new Database(":memory:"))
    client.run(sql`create table shared_names (id integer primary key, writer integer not null, author_id integer not null)`)
    const titles = Cached.cached({
      key: KeyConstructor.make({ namespace: "titles", fields: [KeyField.arg("authorId")] }),
      invalidatesOn: [InvalidationRule.make({ table: shared, fieldMapping: { authorId: "author_id" } })]
    })((input: { readonly authorId: number }) => Effect.succeed(input.authorId))
    return Effect.gen(function*() {
      const db = yield* DrizzleHooks.instrument(client, { caches: [titles] })
      yield* Effect.promise(() => db.insert(shared).values({ id: 1, author_id: 5, authorId: 7 }))
      // the row carries `author_id` (7): the exact key, not the namespace a row without it would wipe
      expect(yield* invalidations).toEqual([key("titles", 7)])
    }).pipe(Effect.provide(InvalidationEngine.layer({ caches: [titles] }).pipe(Layer.provideMerge(TestCache.layer()))))
  })

  it.live("a custom invalidator sees every column of the rows before and after, though no rule maps one", () => {
    const drafts = sqliteTable("drafts", {
      id: integer("id").primaryKey(),
      authorId: integer("author_id").notNull(),
      published: integer("published").notNull()
    })
    const client = drizzle(new Database(":memory:"))
    client.run(sql`create table drafts (id integer primary key, author_id integer not null, published integer not null)`)
    client.insert(drafts).values({ id: 1, authorId: 7, published: 0 }).run()
    const seen: Array<unknown> = []
    const stats = Cached.cached({
      key: KeyConstructor.make({ namespace: "stats" }),
      invalidatesOn: [
        InvalidationRule.custom({
          table: drafts,
          run: (change) =>
            Effect.sync(() => {
              seen.push({ before: Option.getOrNull(change.before), after: Option.getOrNull(change.row) })
            })
        })
      ]
    })(() => Effect.succeed(0))
    return Effect.gen(function*() {
      const db = yield* DrizzleHooks.instrument(client, { caches: [stats] })
      yield* Effect.promise(() => db.update(drafts).set({ published: 1 }).where(eq(drafts.id, 1)))
      expect(seen).toEqual([{
        before: { id: 1, author_id: 7, published: 0 },
        after: { id: 1, author_id: 7, published: 1 }
      }])
    }).pipe(
      Effect.provide(InvalidationEngine.layer({ caches: [stats] }).pipe(Layer.provideMerge(CacheStore.layerMemory())))
    )
  })
})
