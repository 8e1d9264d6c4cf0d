/**
 * PostgreSQL connection dropped mid-transaction (real PostgreSQL on 127.0.0.1:5432,
 * `pg_terminate_backend` of the writing backend from a second connection): the write
 * is lost, and no invalidation event is published for it; the cached entry stays, and
 * still equals the database.
 */
import { Cached, InvalidationEngine, InvalidationRule, KeyConstructor, KeyField, TestCache } from "@cachefx/core"
import { DrizzleHooks } from "@cachefx/drizzle"
import { describe, expect, it } from "@effect/vitest"
import { and, eq, sql } from "drizzle-orm"
import { drizzle, type NodePgDatabase } from "drizzle-orm/node-postgres"
import { integer, pgSchema } from "drizzle-orm/pg-core"
import { Effect, Layer, Option } from "effect"
import pg from "pg"
import { afterAll, beforeAll } from "vitest"
import { report } from "./support.js"

const connection = { host: "127.0.0.1", port: 5432, user: "postgres", database: "test" }
const schemaName = `proof_fault_${process.pid}`
const schema = pgSchema(schemaName)
const items = schema.table("items", { id: integer("id").primaryKey(), val: integer("val").notNull() })

let pool: pg.Pool
let admin: pg.Client
let raw: NodePgDatabase

beforeAll(async () => {
  pool = new pg.Pool({ ...connection, max: 3 })
  // a terminated backend's client errors while idle in the pool: expected here
  pool.on("error", () => {})
  // and a checked-out one emits the error on itself (the failed query reports it as well)
  pool.on("connect", (client) => client.on("error", () => {}))
  admin = new pg.Client(connection)
  await admin.connect()
  await admin.query(`drop schema if exists ${schemaName} cascade`)
  await admin.query(`create schema ${schemaName}`)
  await admin.query(`create table ${schemaName}.items (id integer primary key, val integer not null)`)
  raw = drizzle(pool)
}, 30_000)

afterAll(async () => {
  await admin.query(`drop schema if exists ${schemaName} cascade`)
  await admin.end()
  await pool.end()
})

const item = Cached.cached({
  key: KeyConstructor.make({ namespace: "pgitem", fields: [KeyField.arg("id")] }),
  ttl: "1 minute",
  invalidatesOn: [InvalidationRule.make({ table: items, fieldMapping: { id: items.id } })]
})((input: { readonly id: number }) =>
  Effect.promise(() => raw.select({ val: items.val }).from(items).where(eq(items.id, input.id))).pipe(
    Effect.map((rows) => rows[0]?.val ?? null)
  )
)

/** Terminates the backend whose current query matches `pattern`, once it runs it. */
const terminateRunning = async (pattern: string) => {
  for (let i = 0; i < 200; i++) {
    const { rows } = await admin.query(
      `select pid from pg_stat_activity where state = 'active' and query like $1 and pid <> pg_backend_pid()`,
      [pattern]
    )
    if (rows.length > 0) {
      await admin.query(`select pg_terminate_backend($1)`, [rows[0].pid])
      return
    }
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  throw new Error(`no backend ran ${pattern}`)
}

const terminate = (pid: number) => admin.query(`select pg_terminate_backend($1)`, [pid])

const pidOf = async (tx: { execute: (query: ReturnType<typeof sql>) => Promise<{ rows: Array<Record<string, unknown>> }> }) =>
  Number((await tx.execute(sql`select pg_backend_pid() as pid`)).rows[0]!["pid"])

type Db = NodePgDatabase

/** The ways a write loses its connection. Each must fail the write. */
const drops: ReadonlyArray<readonly [string, (db: Db, id: number) => Promise<unknown>]> = [
  ["after the update, before COMMIT", (db, id) =>
    db.transaction(async (tx) => {
      await tx.update(items).set({ val: 999 }).where(eq(items.id, id))
      await terminate(await pidOf(tx as never))
    })],
  ["during a statement after the update", (db, id) =>
    db.transaction(async (tx) => {
      await tx.update(items).set({ val: 999 }).where(eq(items.id, id))
      const pid = await pidOf(tx as never)
      await Promise.all([tx.execute(sql`select pg_sleep(5)`), new Promise((resolve) => setTimeout(resolve, 100)).then(() => terminate(pid))])
    })],
  ["in a savepoint (nested transaction), before the outer COMMIT", (db, id) =>
    db.transaction(async (tx) => {
      await tx.transaction(async (inner) => {
        await inner.update(items).set({ val: 999 }).where(eq(items.id, id))
      })
      await terminate(await pidOf(tx as never))
    })],
  ["during the update itself, outside a transaction", (db, id) =>
    Promise.all([
      db.update(items).set({ val: 999 }).where(and(eq(items.id, id), sql`pg_sleep(5) is not null`)),
      terminateRunning("%pg_sleep(5) is not null%")
    ])]
]

describe("PostgreSQL connection dropped mid-write", () => {
  for (const [index, [name, write]] of drops.entries()) {
    it.live(`${name}: the write fails, and no event is published for it`, () =>
      Effect.gen(function*() {
        const id = index + 1
        yield* Effect.promise(() => raw.insert(items).values({ id, val: 1 }).onConflictDoUpdate({ target: items.id, set: { val: 1 } }))
        const cache = yield* TestCache.TestCache
        expect(yield* item({ id })).toBe(1)
        yield* cache.clearLog
        const db = yield* DrizzleHooks.instrument(raw, { caches: [item] })
        const failed = yield* Effect.promise(() => write(db, id).then(() => false, () => true))
        expect(failed).toBe(true)
        yield* Effect.sleep("100 millis")
        // nothing invalidated: no store operation other than reads
        const log = yield* cache.log
        const invalidations = log.filter((op) => op.op !== "get" && op.op !== "set")
        expect(invalidations).toEqual([])
        // the database kept the old row, and so did the cache
        const rows = yield* Effect.promise(() => raw.select().from(items).where(eq(items.id, id)))
        expect(rows).toEqual([{ id, val: 1 }])
        expect(yield* item.peek({ id })).toEqual(Option.some(1))
        // a write that succeeds afterwards still invalidates (the hooks are not wedged)
        yield* Effect.promise(() => db.update(items).set({ val: 2 }).where(eq(items.id, id)))
        expect(yield* item.peek({ id })).toEqual(Option.none())
        expect(yield* item({ id })).toBe(2)
        report(`postgres/${name}`, { eventsForLostWrite: invalidations.length })
      }).pipe(Effect.provide(InvalidationEngine.layer({ caches: [item] }).pipe(Layer.provideMerge(TestCache.layer())))), 30_000)
  }
})
