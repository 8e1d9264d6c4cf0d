import { Cached, CacheStore, Dispatcher, InvalidationEngine, InvalidationRule, KeyConstructor, KeyField } from "@cachefx/core"
import { ChangeStream, ChangeStreamError, ChangeStreamMetrics, Slot } from "@cachefx/pg-cdc"
import { describe, expect, it, layer } from "@effect/vitest"
import { Effect, Exit, Layer, Metric, Option, Schedule } from "effect"
import { DrizzleHooks } from "@cachefx/drizzle"
import { sql as drizzleSql } from "drizzle-orm"
import { drizzle } from "drizzle-orm/node-postgres"
import { integer, pgSchema, text } from "drizzle-orm/pg-core"
import pg from "pg"
import { cleanUp, connection, names, ownSchema, psql } from "./support.js"

const file = names("stream")
const { schema, slot, publication } = file
const pool = new pg.Pool({ ...connection, max: 4 })

/** Every change the stream delivered, in order: what a custom rule is given. */
const seen: Array<{ readonly table: string; readonly operation: string; readonly row: unknown; readonly before: unknown }> = []

/** A user as the table holds it (no name when there is no such row). */
const getUser = Cached.cached({
  key: KeyConstructor.make({ namespace: `${schema}-users`, fields: [KeyField.arg("id")] }),
  invalidatesOn: [InvalidationRule.make({ table: "users", fieldMapping: { id: "id" } })]
})((input: { readonly id: number }) =>
  Effect.map(
    Effect.promise(() => pool.query(`select name from ${schema}.users where id = $1`, [input.id])),
    (result) => ({ id: input.id, name: result.rows[0]?.name as string | undefined })
  )
)

const postsByAuthor = Cached.cached({
  key: KeyConstructor.make({ namespace: `${schema}-posts`, fields: [KeyField.arg("authorId", { partition: true }), KeyField.arg("page")] }),
  invalidatesOn: [InvalidationRule.make({ table: "posts", fieldMapping: { authorId: "author_id" } })]
})((input: { readonly authorId: number; readonly page: number }) => Effect.succeed([input.authorId, input.page]))

const record = Cached.cached({
  key: KeyConstructor.make({ namespace: `${schema}-record`, fields: [KeyField.arg("id")] }),
  invalidatesOn: ["users", "posts"].map((table) =>
    InvalidationRule.custom({
      table,
      name: `record(${table})`,
      run: (change) =>
        Effect.sync(() => {
          seen.push({
            table,
            operation: change.event.operation,
            row: Option.getOrUndefined(change.row),
            before: Option.getOrUndefined(change.before)
          })
        })
    })
  )
})((input: { readonly id: number }) => Effect.succeed(input.id))

/** A rule on the pool dispatcher whose job takes a while: started, then done. */
const slowJob = { started: 0, done: 0 }
const slowPool = Cached.cached({
  key: KeyConstructor.make({ namespace: `${schema}-jobs`, fields: [KeyField.arg("id")] }),
  invalidatesOn: [
    InvalidationRule.custom({
      table: "jobs",
      name: "slow(jobs)",
      dispatcher: "pool",
      run: () =>
        Effect.sync(() => slowJob.started++).pipe(
          Effect.zipRight(Effect.sleep("1500 millis")),
          Effect.zipRight(Effect.sync(() => slowJob.done++))
        )
    })
  ]
})((input: { readonly id: number }) => Effect.succeed(input.id))

const caches = [getUser, postsByAuthor, record, slowPool]

const Database = Layer.scopedDiscard(
  Effect.acquireRelease(
    Effect.gen(function*() {
      yield* cleanUp(pool, file)
      yield* Effect.promise(async () => {
        await pool.query(`create schema ${schema}`)
        await pool.query(`create table ${schema}.users (id integer primary key, name text not null)`)
        await pool.query(
          `create table ${schema}.posts (id integer primary key, author_id integer not null, title text not null)`
        )
        await pool.query(`create table ${schema}.jobs (id integer primary key)`)
      })
    }),
    () => cleanUp(pool, file).pipe(Effect.zipRight(Effect.promise(() => pool.end())))
  )
)

const Live = ChangeStream.layer({ connection, caches, slot, publication, schema, replicaIdentity: "apply", retryInterval: "200 millis", metricsInterval: "200 millis" }).pipe(
  Layer.provideMerge(InvalidationEngine.layer({ caches })),
  Layer.provideMerge(Dispatcher.layerPool({ concurrency: 2 })),
  Layer.provideMerge(CacheStore.layerMemory()),
  Layer.provideMerge(Database)
)

const sql = (text: string) => Effect.promise(() => pool.query(text))
/** Waits until everything committed so far is applied. */
const applied = ChangeStream.awaitApplied(pool, { slot, timeout: "20 seconds" }).pipe(Effect.orDie)
const since = (start: number) => seen.slice(start)

// creating a slot waits for the transactions running at that moment: allow for other suites' long ones
layer(Live, { timeout: 120_000, excludeTestServices: true })("change stream", (it) => {
  it.effect("holds the slot and publishes a write by a separate node-postgres client", () =>
    Effect.gen(function*() {
      const stream = yield* ChangeStream.ChangeStream
      yield* Effect.repeat(stream.holding, { until: (held) => held })
      yield* getUser({ id: 1 })
      expect(Option.isSome(yield* getUser.peek({ id: 1 }))).toBe(true)
      const writer = new pg.Client(connection)
      yield* Effect.promise(async () => {
        await writer.connect()
        await writer.query(`insert into ${schema}.users values (1, 'Ada')`)
        await writer.end()
      })
      yield* applied
      expect(Option.isNone(yield* getUser.peek({ id: 1 }))).toBe(true)
    }))

  it.effect("publishes a write by psql, with the rows before and after", () =>
    Effect.gen(function*() {
      const start = seen.length
      yield* getUser({ id: 1 })
      psql(`update ${schema}.users set name = 'Grace' where id = 1`)
      yield* applied
      expect(Option.isNone(yield* getUser.peek({ id: 1 }))).toBe(true)
      expect(since(start)).toEqual([
        { table: "users", operation: "update", row: { id: 1, name: "Grace" }, before: { id: 1, name: "Ada" } }
      ])
    }))

  it.effect("a rolled back transaction publishes nothing", () =>
    Effect.gen(function*() {
      const start = seen.length
      yield* getUser({ id: 2 })
      psql(`begin; insert into ${schema}.users values (2, 'Rolled'); rollback;`)
      psql(`insert into ${schema}.users values (3, 'Kept')`)
      yield* applied
      expect(Option.isSome(yield* getUser.peek({ id: 2 }))).toBe(true)
      expect(since(start).map((change) => change.row)).toEqual([{ id: 3, name: "Kept" }])
    }))

  it.effect("a savepoint rolled back publishes nothing of its work, and the rest of its transaction", () =>
    Effect.gen(function*() {
      const start = seen.length
      yield* getUser({ id: 4 })
      yield* getUser({ id: 5 })
      psql(
        `begin; insert into ${schema}.users values (4, 'kept');
         savepoint s; insert into ${schema}.users values (5, 'undone'); rollback to savepoint s;
         commit;`
      )
      yield* applied
      expect(Option.isNone(yield* getUser.peek({ id: 4 }))).toBe(true)
      expect(Option.isSome(yield* getUser.peek({ id: 5 }))).toBe(true)
      expect(since(start).map((change) => change.row)).toEqual([{ id: 4, name: "kept" }])
    }))

  it.effect("a row that moves invalidates both partitions", () =>
    Effect.gen(function*() {
      psql(`insert into ${schema}.posts values (10, 1, 'a')`)
      yield* applied
      yield* postsByAuthor({ authorId: 1, page: 1 })
      yield* postsByAuthor({ authorId: 2, page: 1 })
      yield* postsByAuthor({ authorId: 3, page: 1 })
      psql(`update ${schema}.posts set author_id = 2 where id = 10`)
      yield* applied
      expect(Option.isNone(yield* postsByAuthor.peek({ authorId: 1, page: 1 }))).toBe(true)
      expect(Option.isNone(yield* postsByAuthor.peek({ authorId: 2, page: 1 }))).toBe(true)
      expect(Option.isSome(yield* postsByAuthor.peek({ authorId: 3, page: 1 }))).toBe(true)
    }))

  it.effect("a truncate wipes the namespaces of the table's rules", () =>
    Effect.gen(function*() {
      yield* postsByAuthor({ authorId: 3, page: 1 })
      yield* getUser({ id: 6 })
      psql(`truncate ${schema}.posts`)
      yield* applied
      expect(Option.isNone(yield* postsByAuthor.peek({ authorId: 3, page: 1 }))).toBe(true)
      // another table's rules keep their entries
      expect(Option.isSome(yield* getUser.peek({ id: 6 }))).toBe(true)
    }))

  it.effect("a transaction marked as handled by the hooks publishes nothing; the next one does", () =>
    Effect.gen(function*() {
      const start = seen.length
      psql(`begin; ${ChangeStream.markHandled}; insert into ${schema}.users values (7, 'hooked'); commit;`)
      psql(`insert into ${schema}.users values (8, 'streamed')`)
      yield* applied
      expect(since(start).map((change) => change.row)).toEqual([{ id: 8, name: "streamed" }])
    }))

  it.effect("with the Drizzle hooks too, a transaction marked as handled is invalidated once, by the hooks", () =>
    Effect.gen(function*() {
      const users = pgSchema(schema).table("users", { id: integer("id").primaryKey(), name: text("name").notNull() })
      const db = yield* DrizzleHooks.instrument(drizzle(pool), { caches })
      const marked = seen.length
      yield* Effect.promise(() =>
        db.transaction(async (tx) => {
          await tx.execute(drizzleSql.raw(ChangeStream.markHandled))
          await tx.insert(users).values({ id: 40, name: "hooked" })
        })
      )
      // the hooks invalidated at commit, before the write returned
      expect(since(marked).map((change) => change.row)).toEqual([{ id: 40, name: "hooked" }])
      yield* applied
      expect(since(marked)).toHaveLength(1)
      // without the mark both invalidate
      const unmarked = seen.length
      yield* Effect.promise(() => db.insert(users).values({ id: 41, name: "both" }))
      yield* applied
      expect(since(unmarked).map((change) => change.row)).toEqual([{ id: 41, name: "both" }, { id: 41, name: "both" }])
    }))

  it.effect("awaitApplied after a write gives a fresh read", () =>
    Effect.gen(function*() {
      yield* sql(`insert into ${schema}.users values (30, 'zero')`)
      yield* applied
      expect(yield* getUser({ id: 30 })).toEqual({ id: 30, name: "zero" })
      for (const name of ["one", "two", "three"]) {
        yield* sql(`update ${schema}.users set name = '${name}' where id = 30`)
        yield* ChangeStream.awaitApplied(pool, { slot, timeout: "10 seconds" })
        expect(yield* getUser({ id: 30 })).toEqual({ id: 30, name })
      }
    }))

  it.effect("a transaction is confirmed only once its pool job ran, not when the job was queued", () =>
    Effect.gen(function*() {
      yield* sql(`insert into ${schema}.jobs values (1)`)
      while (slowJob.started === 0) {
        yield* Effect.sleep("20 millis")
      }
      // the job runs for 1.5 s: the slot must not be confirmed past its commit meanwhile
      const early = yield* Effect.exit(ChangeStream.awaitApplied(pool, { slot, timeout: "500 millis" }))
      expect(Exit.isFailure(early)).toBe(true)
      expect(slowJob.done).toBe(0)
      yield* applied
      expect(slowJob.done).toBe(1)
    }))

  it.effect("awaitApplied returns after a write to a table no rule reads: an idle consumer confirms the server's position", () =>
    Effect.gen(function*() {
      yield* sql(`create table if not exists ${schema}.unread (id integer primary key)`)
      yield* sql(`insert into ${schema}.unread values (1)`)
      const lsn = yield* ChangeStream.currentLsn(pool)
      yield* ChangeStream.awaitApplied(pool, { slot, lsn, timeout: "10 seconds" })
      const [row] = (yield* sql(`select confirmed_flush_lsn >= '${lsn}'::pg_lsn as passed from pg_replication_slots where slot_name = '${slot}'`)).rows
      expect(row?.passed).toBe(true)
    }))

  it.effect("awaitApplied fails with a typed error when no slot has the name", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(ChangeStream.awaitApplied(pool, { slot: "cachefx_no_such_slot", timeout: "200 millis" }))
      expect(exit).toStrictEqual(Exit.fail(expect.any(ChangeStreamError.AppliedTimeoutError)))
    }))

  it.effect("counts events and transactions, times the lag and reads the WAL the slot keeps", () =>
    Effect.gen(function*() {
      const events = (yield* Metric.value(ChangeStreamMetrics.events)).count
      const transactions = (yield* Metric.value(ChangeStreamMetrics.transactions)).count
      const lags = (yield* Metric.value(ChangeStreamMetrics.lag)).count
      psql(`insert into ${schema}.users values (20, 'a'), (21, 'b')`)
      psql(`insert into ${schema}.posts values (20, 1, 'a')`)
      yield* applied
      // one event per table and transaction: consecutive rows of one kind share one
      expect((yield* Metric.value(ChangeStreamMetrics.events)).count - events).toBe(2)
      expect((yield* Metric.value(ChangeStreamMetrics.transactions)).count - transactions).toBe(2)
      expect((yield* Metric.value(ChangeStreamMetrics.lag)).count - lags).toBe(2)
      yield* Effect.sleep("500 millis")
      expect((yield* Metric.value(ChangeStreamMetrics.retainedWalBytes)).value).toBeGreaterThan(0)
    }))

  it.effect("inspect shows the slot held, the publication's tables and the settings", () =>
    Effect.gen(function*() {
      const info = yield* Slot.inspect(pool, { slot, publication })
      expect(Option.map(info.slot, (held) => held.active)).toEqual(Option.some(true))
      expect(info.publication).toEqual(Option.some([`${schema}.jobs`, `${schema}.posts`, `${schema}.users`]))
      expect(info.walLevel).toBe("logical")
    }))
})

describe("replica identity", () => {
  it.live("a table whose identity lacks a mapped column fails the start, naming the table and the fix", () =>
    Effect.gen(function*() {
      const { client, own } = yield* ownSchema(
        "identity",
        "posts (id integer primary key, author_id integer not null, title text not null)"
      )
      const start = (mode: "check" | "apply") =>
        ChangeStream.make({ connection, caches: [postsByAuthor], ...own, replicaIdentity: mode }).pipe(
          Effect.provide(InvalidationEngine.layer({ caches: [postsByAuthor] })),
          Effect.provide(CacheStore.layerMemory()),
          Effect.scoped,
          Effect.exit
        )
      const failed = yield* start("check")
      expect(failed).toStrictEqual(Exit.fail(expect.any(ChangeStreamError.ReplicaIdentityError)))
      const error = Exit.isFailure(failed) ? failed.cause : undefined
      expect(String(error)).toContain(`ALTER TABLE "${own.schema}"."posts" REPLICA IDENTITY FULL`)
      // nothing was created for a stream that did not start
      expect(Option.isNone((yield* Slot.inspect(client, own)).slot)).toBe(true)
      expect(Exit.isSuccess(yield* start("apply"))).toBe(true)
      const [row] = (yield* Effect.promise(() =>
        client.query(`select relreplident from pg_class where oid = '${own.schema}.posts'::regclass`)
      )).rows
      expect(row?.relreplident).toBe("f")
    }).pipe(Effect.scoped))
})

describe("replica identity of a rule mapped by property name", () => {
  // the mapping names the Drizzle property ("itemId"); the primary key that serves as the
  // table's replica identity is its database column ("item_id")
  const items = pgSchema("cachefx_identity_by_property").table("items", {
    itemId: integer("item_id").primaryKey(),
    title: text("title").notNull()
  })
  const byItem = Cached.cached({
    key: KeyConstructor.make({ namespace: `${schema}-items-by-property`, fields: [KeyField.arg("item")] }),
    invalidatesOn: [InvalidationRule.make({ table: items, fieldMapping: { item: "itemId" } })]
  })((input: { readonly item: number }) => Effect.succeed(input.item))

  it.live("starts under check: the identity is read by the column's database name", () =>
    Effect.gen(function*() {
      const { own } = yield* ownSchema("byproperty", "items (item_id integer primary key, title text not null)")
      const started = yield* ChangeStream.make({ connection, caches: [byItem], ...own, replicaIdentity: "check" }).pipe(
        Effect.provide(InvalidationEngine.layer({ caches: [byItem] })),
        Effect.provide(CacheStore.layerMemory()),
        Effect.scoped,
        Effect.exit
      )
      expect(Exit.isSuccess(started) ? "started" : String(started)).toBe("started")
    }).pipe(Effect.scoped))
})

describe("confirmations", () => {
  it.live("one standby status update per confirmInterval at most, with the latest position; the first after a pause at once", () =>
    Effect.gen(function*() {
      const { client, own } = yield* ownSchema("confirm", "users (id integer primary key, name text not null)")
      const engine = yield* Layer.build(
        InvalidationEngine.layer({ caches: [getUser] }).pipe(Layer.provideMerge(CacheStore.layerMemory()))
      )
      const stream = yield* ChangeStream.make({ connection, caches: [getUser], ...own, confirmInterval: "1 second" }).pipe(
        Effect.provide(engine)
      )
      const insert = (id: number) =>
        Effect.promise(() => client.query(`insert into ${own.schema}.users values ($1, 'n')`, [id]))
      const serverConfirmed = Effect.map(
        Effect.promise(() =>
          client.query(`select confirmed_flush_lsn::text as lsn from pg_replication_slots where slot_name = $1`, [own.slot])
        ),
        (result) => String(result.rows[0]?.lsn)
      )
      yield* Effect.repeat(stream.holding, { until: (held) => held, schedule: Schedule.spaced("20 millis") })
      // the first confirmation after a pause goes at once
      yield* Effect.sleep("1200 millis")
      const before = yield* stream.confirmed
      yield* insert(1)
      yield* stream.confirmed.pipe(
        Effect.repeat({
          until: (now) => Option.getOrUndefined(now) !== Option.getOrUndefined(before),
          schedule: Schedule.spaced("10 millis")
        }),
        Effect.timeout("500 millis")
      )
      const first = yield* stream.confirmed
      // then the writes of the next half second are confirmed together, once the interval has passed
      for (let id = 2; id <= 20; id++) {
        yield* insert(id)
      }
      const seen = new Set<string>()
      const serverSeen = new Set<string>()
      for (let i = 0; i < 15; i++) {
        seen.add(Option.getOrElse(yield* stream.confirmed, () => "none"))
        serverSeen.add(yield* serverConfirmed)
        yield* Effect.sleep("25 millis")
      }
      expect([...seen]).toEqual([Option.getOrThrow(first)])
      expect(serverSeen.size).toBe(1)
      yield* ChangeStream.awaitApplied(client, { slot: own.slot, timeout: "3 seconds" })
      expect(yield* stream.confirmed).not.toEqual(first)
    }).pipe(Effect.scoped))
})

describe("awaitApplied without a consumer", () => {
  it.live("waits for the slot, and times out while nobody reads it, whatever the server's position", () =>
    Effect.gen(function*() {
      const { client, own } = yield* ownSchema("idle", "users (id integer primary key)")
      yield* Slot.create(client, { ...own, tables: ["users"] })
      yield* Effect.promise(() => client.query(`insert into ${own.schema}.users values (1)`))
      const lsn = yield* ChangeStream.currentLsn(client)
      const exit = yield* Effect.exit(ChangeStream.awaitApplied(client, { slot: own.slot, lsn, timeout: "1 second" }))
      expect(exit).toStrictEqual(Exit.fail(expect.any(ChangeStreamError.AppliedTimeoutError)))
      expect(String(Exit.isFailure(exit) ? exit.cause : "")).toContain(`not yet ${lsn}`)
    }).pipe(Effect.scoped))
})

describe("Slot.create", () => {
  it.live("refuses a slot of the name that is another database's", () =>
    Effect.gen(function*() {
      const { client, own } = yield* ownSchema("taken", "users (id integer primary key)")
      const reason = (exit: Exit.Exit<void, ChangeStreamError.ChangeStreamError>) =>
        Exit.match(exit, { onFailure: (cause) => String(cause), onSuccess: () => "created" })
      // slot names are the server's: made on the database "postgres", seen from "test"
      yield* Effect.acquireRelease(
        Effect.sync(() => psql(`select pg_create_logical_replication_slot('${own.slot}', 'pgoutput')`, "postgres")),
        () => Effect.sync(() => psql(`select pg_drop_replication_slot('${own.slot}')`, "postgres"))
      )
      expect(reason(yield* Effect.exit(Slot.create(client, { ...own, tables: ["users"] })))).toContain(
        "belongs to another database"
      )
    }).pipe(Effect.scoped))

  it.live("refuses a slot of the name that decodes with another plugin", () =>
    Effect.gen(function*() {
      const { client, own } = yield* ownSchema("plugin", "users (id integer primary key)")
      yield* Effect.promise(() => client.query(`select pg_create_logical_replication_slot($1, 'test_decoding')`, [own.slot]))
      const exit = yield* Effect.exit(Slot.create(client, { ...own, tables: ["users"] }))
      expect(exit).toStrictEqual(Exit.fail(expect.any(ChangeStreamError.ChangeStreamError)))
      expect(String(Exit.isFailure(exit) ? exit.cause : "")).toContain("decodes with test_decoding, not pgoutput")
    }).pipe(Effect.scoped))
})

describe("default replica identity (the primary key)", () => {
  const byId = Cached.cached({
    key: KeyConstructor.make({ namespace: "cdc_keyed-users", fields: [KeyField.arg("id")] }),
    invalidatesOn: [InvalidationRule.make({ table: "users", fieldMapping: { id: "id" } })]
  })((input: { readonly id: number }) => Effect.succeed(input.id))
  const cachedIds = (ids: ReadonlyArray<number>) =>
    Effect.forEach(ids, (id) => Effect.map(byId.peek({ id }), Option.isSome))

  it.live("an update invalidates its key; one that changes the key invalidates the old key and the new", () =>
    Effect.gen(function*() {
      const { client, own } = yield* ownSchema("keyed", "users (id integer primary key, name text not null)")
      psql(`insert into ${own.schema}.users values (1, 'a'), (2, 'b')`)
      const stream = yield* ChangeStream.make({ connection, caches: [byId], ...own })
      yield* Effect.repeat(stream.holding, { until: (held) => held })
      const [row] = (yield* Effect.promise(() =>
        client.query(`select relreplident from pg_class where oid = '${own.schema}.users'::regclass`)
      )).rows
      expect(row?.relreplident).toBe("d")
      const applied = ChangeStream.awaitApplied(client, { slot: own.slot, timeout: "20 seconds" })

      yield* Effect.forEach([1, 2, 3], (id) => byId({ id }), { discard: true })
      psql(`update ${own.schema}.users set name = 'x' where id = 1`)
      yield* applied
      expect(yield* cachedIds([1, 2, 3])).toEqual([false, true, true])

      psql(`update ${own.schema}.users set id = 3 where id = 2`)
      yield* applied
      expect(yield* cachedIds([2, 3])).toEqual([false, false])

      yield* byId({ id: 3 })
      psql(`delete from ${own.schema}.users where id = 3`)
      yield* applied
      expect(yield* cachedIds([3])).toEqual([false])
    }).pipe(
      Effect.scoped,
      Effect.provide(InvalidationEngine.layer({ caches: [byId] }).pipe(Layer.provideMerge(CacheStore.layerMemory())))
    ))
})
