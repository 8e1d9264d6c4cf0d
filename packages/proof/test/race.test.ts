/**
 * The race suite: random interleavings (fast-check's scheduler) of cached reads, writes
 * through the Drizzle hooks on PGlite (plain, committed and rolled-back transactions,
 * some moving a row to another partition), explicit invalidations and TTL expiry, on
 * the memory store and on Redis, with the inline dispatcher.
 *
 * Each run checks two properties:
 * - quiescence: once every operation has returned, every cache entry equals what the
 *   database holds (or is absent);
 * - no older value: a read that starts after a write returned never sees a value older
 *   than that write's.
 *
 * Every write sets `val` from one database sequence, so values grow in commit order and
 * "older" is `<`.
 */
import { Cached, CacheSettings, CacheStore, InvalidationEngine, InvalidationRule, KeyConstructor, KeyField } from "@cachefx/core"
import { DrizzleHooks } from "@cachefx/drizzle"
import { RedisStore } from "@cachefx/redis"
import { PGlite } from "@electric-sql/pglite"
import { describe, expect, it } from "@effect/vitest"
import { asc, eq, sql, TransactionRollbackError } from "drizzle-orm"
import { integer, pgTable } from "drizzle-orm/pg-core"
import { drizzle as drizzlePg } from "drizzle-orm/node-postgres"
import type { PgDatabase } from "drizzle-orm/pg-core"
import { drizzle as drizzlePglite } from "drizzle-orm/pglite"
import pg from "pg"
import { Effect, Layer, Option } from "effect"
import fc from "fast-check"
import { Redis } from "ioredis"
import { afterAll, beforeAll } from "vitest"
import { cleanup, report, runs, sharedUrl, shiftedClock } from "./support.js"

const items = pgTable("proof_items", {
  id: integer("id").primaryKey(),
  grp: integer("grp").notNull(),
  val: integer("val").notNull()
})

const ids = [1, 2, 3] as const
const groups = [1, 2] as const
const ttl = "5 seconds"

type Row = readonly [id: number, val: number]

const ItemKey = KeyConstructor.make({ namespace: "item", fields: [KeyField.arg("id")] })
const GroupKey = KeyConstructor.make({
  namespace: "group",
  fields: [KeyField.arg("grp", { partition: true }), KeyField.arg("page")]
})
const AllKey = KeyConstructor.make({ namespace: "all", fields: [KeyField.arg("limit")] })

/**
 * A database of the suite. PGlite is one connection: a transaction holds it, so no
 * point is placed inside transactions there. PostgreSQL runs transactions
 * concurrently: the scheduler also picks when each transaction commits or rolls back,
 * so reads run while a write is open.
 */
interface Database {
  readonly name: string
  readonly insideTransactions: boolean
  readonly open: () => Promise<{ readonly db: PgDatabase<any, any, any>; readonly reset: () => Promise<unknown>; readonly close: () => Promise<unknown> }>
}

const ddl = `
  create sequence proof_seq;
  create table proof_items (id integer primary key, grp integer not null, val integer not null);
`

const schemaName = `proof_race_${process.pid}`

const databases: ReadonlyArray<Database> = [
  {
    name: "PGlite",
    insideTransactions: false,
    open: async () => {
      const client = new PGlite()
      await client.exec(ddl)
      return { db: drizzlePglite(client), reset: () => client.exec("truncate proof_items"), close: () => client.close() }
    }
  },
  {
    name: "PostgreSQL",
    insideTransactions: true,
    open: async () => {
      const connection = { host: "127.0.0.1", port: 5432, user: "postgres", database: "test" }
      const admin = new pg.Client(connection)
      await admin.connect()
      await admin.query(`drop schema if exists ${schemaName} cascade; create schema ${schemaName}; set search_path to ${schemaName}; ${ddl}`)
      const pool = new pg.Pool({ ...connection, max: 12, options: `-c search_path=${schemaName}` })
      return {
        db: drizzlePg(pool),
        reset: () => pool.query("truncate proof_items"),
        close: async () => {
          await pool.end()
          await admin.query(`drop schema if exists ${schemaName} cascade`)
          await admin.end()
        }
      }
    }
  }
]

let raw: PgDatabase<any, any, any>
let reset: () => Promise<unknown>

/** One operation of a run. */
type Op =
  | { readonly _tag: "readItem"; readonly id: number }
  | { readonly _tag: "readGroup"; readonly grp: number }
  | { readonly _tag: "readAll" }
  | { readonly _tag: "write"; readonly id: number; readonly grp: number | undefined; readonly mode: "plain" | "commit" | "rollback" | "replace" }
  | { readonly _tag: "invalidate"; readonly what: "item" | "group" | "all"; readonly id: number }
  | { readonly _tag: "expire" }

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...ids).map((id): Op => ({ _tag: "readItem", id })) },
  { weight: 2, arbitrary: fc.constantFrom(...groups).map((grp): Op => ({ _tag: "readGroup", grp })) },
  { weight: 1, arbitrary: fc.constant<Op>({ _tag: "readAll" }) },
  {
    weight: 3,
    arbitrary: fc.record({
      id: fc.constantFrom(...ids),
      grp: fc.option(fc.constantFrom(...groups), { nil: undefined }),
      mode: fc.constantFrom("plain" as const, "commit" as const, "rollback" as const, "replace" as const)
    }).map((w): Op => ({ _tag: "write", ...w }))
  },
  {
    weight: 1,
    arbitrary: fc.record({ what: fc.constantFrom("item" as const, "group" as const, "all" as const), id: fc.constantFrom(...ids) })
      .map((i): Op => ({ _tag: "invalidate", ...i }))
  },
  { weight: 1, arbitrary: fc.constant<Op>({ _tag: "expire" }) }
)

const opsArb = fc.array(fc.tuple(opArb, fc.constantFrom(1, 2)), { minLength: 2, maxLength: 7 })
const initialArb = fc.tuple(...ids.map(() => fc.constantFrom(...groups)))

/** The three cached values of a run; their computations yield to the scheduler before and after reading. */
const makeCaches = (s: fc.Scheduler) => {
  const point = <A>(label: string, query: () => Promise<A>) =>
    Effect.promise(() =>
      s.schedule(Promise.resolve(), `start ${label}`).then(query).then((value) => s.schedule(Promise.resolve(value), `end ${label}`))
    )
  const item = Cached.cached({
    key: ItemKey,
    ttl,
    invalidatesOn: [InvalidationRule.make({ table: items, fieldMapping: { id: items.id } })]
  })((input: { readonly id: number }) =>
    point(`item ${input.id}`, () => raw.select({ val: items.val }).from(items).where(eq(items.id, input.id))).pipe(
      Effect.map((rows) => rows[0]?.val ?? null)
    )
  )
  const group = Cached.cached({
    key: GroupKey,
    ttl,
    invalidatesOn: [InvalidationRule.make({ table: items, fieldMapping: { grp: items.grp } })]
  })((input: { readonly grp: number; readonly page: number }) =>
    point(
      `group ${input.grp}`,
      () => raw.select({ id: items.id, val: items.val }).from(items).where(eq(items.grp, input.grp)).orderBy(asc(items.id))
    ).pipe(Effect.map((rows) => rows.map((row): Row => [row.id, row.val])))
  )
  // `limit` is mapped to no column: every write wipes the namespace
  const all = Cached.cached({
    key: AllKey,
    ttl,
    invalidatesOn: [InvalidationRule.make({ table: items, fieldMapping: {} })]
  })((input: { readonly limit: number }) =>
    point(
      "all",
      () => raw.select({ id: items.id, val: items.val }).from(items).orderBy(asc(items.id)).limit(input.limit)
    ).pipe(Effect.map((rows) => rows.map((row): Row => [row.id, row.val])))
  )
  return { item, group, all, caches: [item, group, all] as const }
}

interface Counts {
  runs: number
  operations: number
  reads: number
  writes: number
  rollbacks: number
  replaces: number
  failedWrites: number
  noRowWrites: number
  moves: number
  hits: number
  entriesChecked: number
}

const newCounts = (): Counts => ({ runs: 0, operations: 0, reads: 0, writes: 0, rollbacks: 0, replaces: 0, failedWrites: 0, noRowWrites: 0, moves: 0, hits: 0, entriesChecked: 0 })

type Store = { readonly name: string; readonly layer: (run: string) => Layer.Layer<CacheStore.CacheStore> }

/**
 * One run: reset the table, start every operation at a point the scheduler picks, wait
 * for all of them, then compare the cache with the database.
 */
const runOnce = async (
  database: Database,
  store: Store,
  run: string,
  s: fc.Scheduler,
  initial: ReadonlyArray<number>,
  ops: ReadonlyArray<readonly [Op, number]>,
  counts: Counts
) => {
  await reset()
  await raw.insert(items).values(ids.map((id, i) => ({ id, grp: initial[i]!, val: sql`nextval('proof_seq')` })))
  const start = await raw.select().from(items)
  /** The highest value a returned write gave each row: a later read may not see less. */
  const returned = new Map<number, number>(start.map((row) => [row.id, row.val]))
  /** The group of every value ever committed: to tell where a row was when it had a value. */
  const groupOf = new Map<number, number>(start.map((row) => [row.val, row.grp]))
  /** The committed writes: (id, val, grp). */
  const committed: Array<{ readonly id: number; readonly val: number; readonly grp: number }> = []
  const time = shiftedClock()
  const { all, caches, group, item } = makeCaches(s)
  const violations: Array<string> = []
  const deferred: Array<() => void> = []

  const notOlder = (label: string, rows: ReadonlyArray<Row>, floor: ReadonlyMap<number, number>) => {
    for (const [id, val] of rows) {
      if (val < floor.get(id)!) {
        violations.push(`${label}: row ${id} read ${val}, but a write that returned before the read began gave ${floor.get(id)}`)
      }
    }
  }

  const program = Effect.gen(function*() {
    const db = yield* DrizzleHooks.instrument(raw, { caches })
    const step = (label: string) => Effect.promise(() => s.schedule(Promise.resolve(), label))

    const perform = (op: Op, index: number): Effect.Effect<void, unknown, CacheStore.CacheStore> =>
      Effect.gen(function*() {
        yield* step(`op ${index} ${op._tag}`)
        switch (op._tag) {
          case "readItem": {
            const floor = new Map(returned)
            const result = yield* item.withStatus({ id: op.id })
            counts.reads++
            if (result.status === "Hit") counts.hits++
            if (result.value === null) {
              violations.push(`item ${op.id} read null`)
            } else {
              notOlder(`item ${op.id}`, [[op.id, result.value]], floor)
            }
            return
          }
          case "readGroup": {
            const floor = new Map(returned)
            const result = yield* group.withStatus({ grp: op.grp, page: 1 })
            counts.reads++
            if (result.status === "Hit") counts.hits++
            notOlder(`group ${op.grp}`, result.value, floor)
            // a row that was in the group when the read began is missing only if a write moved it away since
            for (const [id, val] of floor) {
              if (groupOf.get(val) === op.grp && !result.value.some(([row]) => row === id)) {
                // judged once every write has returned: the write that moved it may have committed, not yet returned
                deferred.push(() => {
                  const moved = committed.some((write) => write.id === id && write.val > val && write.grp !== op.grp)
                  if (!moved) {
                    violations.push(`group ${op.grp}: row ${id} (value ${val}) is missing, and no write moved it away`)
                  }
                })
              }
            }
            return
          }
          case "readAll": {
            const floor = new Map(returned)
            const result = yield* all.withStatus({ limit: 10 })
            counts.reads++
            if (result.status === "Hit") counts.hits++
            notOlder("all", result.value, floor)
            if (result.value.length !== ids.length) {
              violations.push(`all: ${result.value.length} rows`)
            }
            return
          }
          case "write": {
            counts.writes++
            const set = op.grp === undefined
              ? { val: sql`nextval('proof_seq')` }
              : { grp: op.grp, val: sql`nextval('proof_seq')` }
            if (op.grp !== undefined) counts.moves++
            if (op.mode === "replace") counts.replaces++
            const update = (target: typeof db) =>
              target.update(items).set(set).where(eq(items.id, op.id)).returning({ val: items.val, grp: items.grp })
            const write = async (): Promise<ReadonlyArray<unknown>> => {
              switch (op.mode) {
                case "plain":
                  return update(db)
                case "replace":
                  // a delete and an insert of the same id in one transaction: delete and insert events
                  return db.transaction(async (tx) => {
                    const [old] = await (tx as unknown as typeof db).delete(items).where(eq(items.id, op.id))
                      .returning({ grp: items.grp })
                    // the row was replaced meanwhile: nothing to replace
                    if (old === undefined) return []
                    if (database.insideTransactions) await s.schedule(Promise.resolve(), `insert ${index}`)
                    return (tx as unknown as typeof db).insert(items)
                      .values({ id: op.id, grp: op.grp ?? old.grp, val: sql`nextval('proof_seq')` })
                      .returning({ val: items.val, grp: items.grp })
                  })
                case "commit":
                  return db.transaction(async (tx) => {
                    const rows = await update(tx as unknown as typeof db)
                    if (database.insideTransactions) await s.schedule(Promise.resolve(), `commit ${index}`)
                    return rows
                  })
                case "rollback":
                  return db.transaction(async (tx) => {
                    await update(tx as unknown as typeof db)
                    if (database.insideTransactions) await s.schedule(Promise.resolve(), `rollback ${index}`)
                    tx.rollback()
                  }).then(() => [], (error) => {
                    if (error instanceof TransactionRollbackError) return []
                    throw error
                  })
              }
            }
            // on PostgreSQL concurrent writes of one row may legitimately fail (a replace's insert
            // meets the key again: 23505; a deadlock: 40P01) or match no row (the row was replaced):
            // nothing is committed then. Any other error fails the run.
            const rows = yield* Effect.promise(() =>
              write().catch((error: unknown) => {
                const code = (error as { cause?: { code?: unknown } }).cause?.code
                if (database.insideTransactions && (code === "23505" || code === "40P01")) {
                  counts.failedWrites++
                  return []
                }
                throw error
              })
            )
            if (op.mode === "rollback") {
              counts.rollbacks++
              return
            }
            if (rows.length === 0) {
              counts.noRowWrites++
              return
            }
            const [row] = rows as ReadonlyArray<{ readonly val: number; readonly grp: number }>
            groupOf.set(row!.val, row!.grp)
            committed.push({ id: op.id, val: row!.val, grp: row!.grp })
            returned.set(op.id, Math.max(returned.get(op.id)!, row!.val))
            return
          }
          case "invalidate":
            return yield* op.what === "item"
              ? item.delete({ id: op.id })
              : op.what === "group"
              ? group.deletePartition({ grp: groupOf.get(returned.get(op.id)!)! })
              : all.invalidateAll
          case "expire":
            return time.advance("6 seconds")
        }
      })

    // the rows' values are recorded before any operation runs: committed values are known when a write returns
    for (const row of start) committed.push({ id: row.id, val: row.val, grp: row.grp })

    // a read repeated reads again once its first read has returned (a hit, unless something invalidated it)
    yield* Effect.forEach(
      ops,
      ([op, times], index) => op._tag.startsWith("read") ? Effect.repeatN(perform(op, index), times - 1) : perform(op, index),
      { concurrency: "unbounded", discard: true }
    )
    counts.operations += ops.length
    for (const check of deferred) check()

    // quiescence: every entry equals the database
    const rows = yield* Effect.promise(() => raw.select().from(items).orderBy(asc(items.id)))
    for (const row of rows) {
      const cached = yield* item.peek({ id: row.id })
      counts.entriesChecked += Option.isSome(cached) ? 1 : 0
      if (Option.isSome(cached) && cached.value !== row.val) {
        violations.push(`at rest, item ${row.id} holds ${cached.value}, the database ${row.val}`)
      }
    }
    for (const grp of groups) {
      const cached = yield* group.peek({ grp, page: 1 })
      const expected = rows.filter((row) => row.grp === grp).map((row): Row => [row.id, row.val])
      counts.entriesChecked += Option.isSome(cached) ? 1 : 0
      if (Option.isSome(cached) && JSON.stringify(cached.value) !== JSON.stringify(expected)) {
        violations.push(`at rest, group ${grp} holds ${JSON.stringify(cached.value)}, the database ${JSON.stringify(expected)}`)
      }
    }
    const cachedAll = yield* all.peek({ limit: 10 })
    counts.entriesChecked += Option.isSome(cachedAll) ? 1 : 0
    const expectedAll = rows.map((row): Row => [row.id, row.val])
    if (Option.isSome(cachedAll) && JSON.stringify(cachedAll.value) !== JSON.stringify(expectedAll)) {
      violations.push(`at rest, all holds ${JSON.stringify(cachedAll.value)}, the database ${JSON.stringify(expectedAll)}`)
    }
  }).pipe(
    Effect.provide(InvalidationEngine.layer({ caches }).pipe(Layer.provideMerge(store.layer(run)))),
    Effect.withClock(time.clock)
  )

  await s.waitFor(Effect.runPromise(program))
  counts.runs++
  return violations
}

/**
 * After each step the scheduler releases, lets the I/O it started (a query, a Redis
 * round trip) finish before the next step: otherwise a step's I/O is still in flight
 * when the next is released, and a write could never land between a computation's
 * query and its fill.
 */
const settle = async (step: () => Promise<unknown>) => {
  await step()
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve))
}

const property = (database: Database, store: Store) => {
  const counts = newCounts()
  let run = 0
  return {
    counts,
    check: () =>
      fc.assert(
        fc.asyncProperty(fc.scheduler({ act: settle }), initialArb, opsArb, async (s, initial, ops) => {
          const violations = await runOnce(database, store, `${database.name}-${run++}`, s, initial, ops, counts)
          if (violations.length > 0) {
            throw new Error(violations.join("\n") + "\n" + s.report().map((task) => `${task.label} ${task.status}`).join("\n"))
          }
        }),
        { numRuns: runs, endOnFailure: true }
      )
  }
}

const prefix = `proof-race-${process.pid}`
const redis = new Redis(sharedUrl)
afterAll(async () => {
  await cleanup(prefix)
  await redis.quit()
})

const stores: ReadonlyArray<Store> = [
  { name: "memory", layer: () => CacheStore.layerMemory({ capacity: 100 }) },
  {
    name: "Redis",
    layer: (run) =>
      RedisStore.layer({ client: redis }).pipe(
        Layer.provideMerge(CacheSettings.layer({ keyPrefix: `${prefix}-${run}`, operationTimeout: "2 seconds" }))
      )
  }
]

describe.each(databases)("race on $name", (database) => {
  let close: () => Promise<unknown>
  beforeAll(async () => {
    const opened = await database.open()
    raw = opened.db
    reset = opened.reset
    close = opened.close
  }, 60_000)
  afterAll(() => close())

  describe.each(stores)("$name store", (store) => {
    it(`at quiescence every entry equals the database, and no read that starts after a write returned sees an older value (${runs} runs)`, async () => {
      const { check, counts } = property(database, store)
      const started = Date.now()
      await check()
      report(`race/${database.name}/${store.name}`, { ...counts, millis: Date.now() - started })
      expect(counts.runs).toBeGreaterThanOrEqual(runs)
    }, 600_000)
  })
})
