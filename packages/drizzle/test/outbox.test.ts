import { describe, expect, it } from "@effect/vitest"
import { DrizzleHooks } from "@cachefx/drizzle"
import { eq, sql } from "drizzle-orm"
import { drizzle } from "drizzle-orm/node-postgres"
import { Effect, type Layer } from "effect"
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import pg from "pg"
import { afterAll, beforeAll } from "vitest"
import { invalidations, key, makeCaches, partition } from "./fixtures.js"
import { outboxTable, posts, schemaName } from "./outboxSchema.js"

const pool = new pg.Pool({ host: "127.0.0.1", port: 5432, user: "postgres", database: "test", max: 4 })
const raw = drizzle(pool)
const { caches, layer } = makeCaches(posts, () => Effect.succeed([]))

beforeAll(async () => {
  await raw.execute(sql.raw(`drop schema if exists ${schemaName} cascade`))
  await raw.execute(sql.raw(`create schema ${schemaName}`))
  await raw.execute(
    sql.raw(`create table ${schemaName}.posts (id integer primary key, author_id integer not null, title text not null)`)
  )
})
afterAll(() => pool.end())

const outboxRows = Effect.promise(() => raw.execute(sql.raw(`select event from ${outboxTable}`))).pipe(
  Effect.map((result) => result.rows.length)
)

const scenario = <A>(f: () => Effect.Effect<A, never, Layer.Layer.Success<typeof layer>>) =>
  Effect.gen(function*() {
    yield* Effect.promise(async () => {
      await raw.execute(sql.raw(`truncate ${schemaName}.posts`))
      await raw.insert(posts).values([{ id: 1, authorId: 7, title: "a" }, { id: 2, authorId: 7, title: "b" }])
    })
    return yield* f()
  }).pipe(Effect.provide(layer))

/** Runs the child process until it has committed and is publishing, then kills it. */
const killAfterCommit = Effect.async<string>((resume) => {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "--conditions=@cachefx/source", fileURLToPath(new URL("./outboxChild.ts", import.meta.url))],
    { stdio: ["ignore", "pipe", "inherit"] }
  )
  child.stdout.on("data", (chunk: Buffer) => {
    if (chunk.toString().includes("publishing")) {
      child.kill("SIGKILL")
    }
  })
  child.on("exit", (_code, signal) => resume(Effect.succeed(String(signal))))
})

describe("transactional outbox", () => {
  it.live("a process killed between commit and publish loses nothing: the relay publishes", () =>
    scenario(() =>
      Effect.gen(function*() {
        yield* DrizzleHooks.instrument(raw, { caches, outbox: { table: outboxTable } })
        expect(yield* killAfterCommit).toBe("SIGKILL")
        const [row] = yield* Effect.promise(() => raw.select().from(posts).where(eq(posts.id, 1)))
        expect(row?.authorId).toBe(8)
        expect(yield* outboxRows).toBe(1)
        expect(yield* invalidations).toEqual([])
        expect(yield* DrizzleHooks.relayOnce(raw, { table: outboxTable })).toBe(1)
        expect(yield* invalidations).toEqual([key("post", 1), partition(7), partition(8)].sort())
        expect(yield* outboxRows).toBe(0)
      })
    ), 30_000)

  it.live("publishes after commit and empties the outbox; a rollback leaves nothing", () =>
    scenario(() =>
      Effect.gen(function*() {
        const db = yield* DrizzleHooks.instrument(raw, { caches, outbox: { table: outboxTable } })
        yield* Effect.promise(() => db.update(posts).set({ title: "x" }).where(eq(posts.id, 1)))
        expect(yield* invalidations).toEqual([key("post", 1), key("titles", 7), partition(7)].sort())
        yield* Effect.promise(() =>
          db.transaction(async (tx) => {
            await tx.update(posts).set({ title: "y" }).where(eq(posts.id, 2))
            await tx.delete(posts).where(eq(posts.id, 1))
          })
        )
        // one event per kind of write: the update's and the delete's
        expect(yield* invalidations).toEqual(
          [key("post", 1), key("post", 2), key("titles", 7), key("titles", 7), partition(7), partition(7)].sort()
        )
        yield* Effect.promise(() =>
          db.transaction(async (tx) => {
            await tx.update(posts).set({ title: "z" }).where(eq(posts.id, 2))
            tx.rollback()
          }).catch(() => "rolled back")
        )
        expect(yield* invalidations).toEqual([])
        expect(yield* outboxRows).toBe(0)
      })
    ))
})
