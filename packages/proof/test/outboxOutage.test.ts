/**
 * The transactional outbox while Redis is unreachable (a redis-server the test starts
 * with append-only persistence, killed by PID and restarted on the same port and
 * directory, so the entry a write made stale comes back with it):
 *
 * - a write whose `inline` job runs out of retries keeps its outbox row;
 * - the relay leaves it while Redis is down, and its oldest-row gauge grows;
 * - once Redis answers, the relay applies it and deletes the row: the entry is fresh.
 */
import { Cached, CacheMetrics, CacheSettings, InvalidationEngine, InvalidationRule, KeyConstructor, KeyField } from "@cachefx/core"
import { DrizzleHooks } from "@cachefx/drizzle"
import { RedisStore } from "@cachefx/redis"
import { describe, expect, it } from "@effect/vitest"
import { eq, sql } from "drizzle-orm"
import { drizzle } from "drizzle-orm/node-postgres"
import { integer, pgSchema } from "drizzle-orm/pg-core"
import { Effect, Layer, Metric, Schedule } from "effect"
import pg from "pg"
import { afterAll, beforeAll } from "vitest"
import { persistentServer, unavailable } from "@cachefx/testkit"
import { report } from "./support.js"

const schemaName = `proof_outbox_outage_${process.pid}`
const outboxTable = `${schemaName}.outbox`
const items = pgSchema(schemaName).table("items", { id: integer("id").primaryKey(), val: integer("val").notNull() })

const pool = new pg.Pool({ host: "127.0.0.1", port: 5432, user: "postgres", database: "test", max: 4 })
const raw = drizzle(pool)

beforeAll(async () => {
  await raw.execute(sql.raw(`drop schema if exists ${schemaName} cascade`))
  await raw.execute(sql.raw(`create schema ${schemaName}`))
  await raw.execute(sql.raw(`create table ${schemaName}.items (id integer primary key, val integer not null)`))
  await raw.insert(items).values({ id: 1, val: 0 })
})
afterAll(async () => {
  await raw.execute(sql.raw(`drop schema if exists ${schemaName} cascade`))
  await pool.end()
})

const item = Cached.cached({
  key: KeyConstructor.make({ namespace: "item", fields: [KeyField.arg("id")] }),
  name: "outbox-outage",
  ttl: "1 hour",
  invalidatesOn: [InvalidationRule.make({ table: items, fieldMapping: { id: items.id } })]
})((input: { readonly id: number }) =>
  Effect.promise(() => raw.select().from(items).where(eq(items.id, input.id))).pipe(Effect.map((rows) => rows[0]!.val))
)

const outboxRows = Effect.promise(() => raw.execute(sql.raw(`select id from ${outboxTable}`))).pipe(
  Effect.map((result) => result.rows.length)
)
const oldestAge = Metric.value(Metric.tagged(CacheMetrics.outboxOldestRowAge, "table", outboxTable)).pipe(
  Effect.map((state) => state.value)
)

describe.skipIf(unavailable !== undefined)("the outbox while Redis is unreachable", () => {
  it.live("a job that ran out of retries keeps its row; the relay applies it once Redis answers", () =>
    Effect.gen(function*() {
      const server = yield* persistentServer
      const layer = InvalidationEngine.layer({ caches: [item] }).pipe(
        Layer.provideMerge(RedisStore.layer({ client: server.client })),
        Layer.provideMerge(CacheSettings.layer({ keyPrefix: `proof-outbox-${process.pid}`, operationTimeout: "200 millis" }))
      )
      yield* Effect.gen(function*() {
        const db = yield* DrizzleHooks.instrument(raw, { caches: [item], outbox: { table: outboxTable } })
        expect(yield* item({ id: 1 })).toBe(0)

        yield* server.stop
        const started = Date.now()
        yield* Effect.promise(() => db.update(items).set({ val: 1 }).where(eq(items.id, 1)))
        const writeMillis = Date.now() - started
        // the inline job ran out of retries: the row stays for the relay
        expect(yield* outboxRows).toBe(1)

        // the relay, started while Redis is down, leaves it there and reports its age
        yield* Layer.build(DrizzleHooks.layerRelay(raw, { table: outboxTable, interval: "100 millis" }))
        yield* Effect.sleep("2 seconds")
        expect(yield* outboxRows).toBe(1)
        const ageWhileDown = yield* oldestAge
        expect(ageWhileDown).toBeGreaterThanOrEqual(1)

        yield* server.restart
        const restarted = Date.now()
        // the entry came back with Redis (append-only), stale until the invalidation is applied
        yield* outboxRows.pipe(
          Effect.filterOrFail((rows) => rows === 0, () => "the row is still there"),
          Effect.retry(Schedule.spaced("50 millis").pipe(Schedule.upTo("15 seconds")))
        )
        const appliedMillis = Date.now() - restarted
        expect(yield* item({ id: 1 })).toBe(1)
        yield* oldestAge.pipe(
          Effect.filterOrFail((age) => age === 0, () => "the gauge still shows a row"),
          Effect.retry(Schedule.spaced("50 millis").pipe(Schedule.upTo("5 seconds")))
        )
        report("outbox-outage", { writeMillis, ageWhileDown, appliedMillisAfterRestart: appliedMillis })
      }).pipe(Effect.provide(layer))
    }).pipe(Effect.scoped), 60_000)
})
