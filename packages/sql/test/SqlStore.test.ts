/**
 * The guarantees of the SQL store's README, each tried on PostgreSQL (a schema of this
 * file's own) and, where it applies, on SQLite.
 */
import { describe, expect, it } from "@effect/vitest"
import { Cached, CacheError, CacheKey, CacheSettings, CacheStore, KeyConstructor, KeyField } from "@cachefx/core"
import { SqlStore } from "@cachefx/sql"
import { entryFor, keyIn } from "@cachefx/testkit/StoreContract"
import Sqlite from "better-sqlite3"
import { Config, ConfigError, ConfigProvider, Context, Deferred, Duration, Effect, Fiber, Layer, Option } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll } from "vitest"
import { poolOf, schemaFor, url } from "./postgres.js"

const { pool, schema } = schemaFor("sql_store")
const directory = mkdtempSync(join(tmpdir(), "cachefx-sql-store-"))
afterAll(() => rmSync(directory, { recursive: true, force: true }))

let tables = 0
/** A table of the test's own. */
const freshTable = () => `t${++tables}`

const Settings = CacheSettings.layer({ operationTimeout: "2 seconds" })

const fill = (store: CacheStore.Service, key: CacheKey.CacheKey, value: unknown, ttl: number | null = 60_000) =>
  Effect.flatMap(store.get(key), (lookup) => store.set(key, entryFor(value, Date.now(), ttl), lookup.guard))

const rows = (text: string) => Effect.promise(() => pool.query(text).then((result) => result.rows))

describe("tables", () => {
  it.scopedLive("are created when the layer is built, UNLOGGED on PostgreSQL; two instances that start together both build", () =>
    Effect.gen(function*() {
      const table = freshTable()
      const other = poolOf()
      yield* Effect.addFinalizer(() => Effect.promise(() => other.end()))
      yield* Effect.all([
        SqlStore.makePg({ pool, schema, table }),
        SqlStore.makePg({ pool: other, schema, table })
      ], { concurrency: "unbounded" }).pipe(Effect.provide(Settings))
      const made = yield* rows(`
        SELECT c.relname, c.relpersistence FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = '${schema}' AND c.relname LIKE '${table}%' AND c.relkind IN ('r', 'S') ORDER BY c.relname`)
      expect(made).toEqual([
        { relname: table, relpersistence: "u" },
        { relname: `${table}_leases`, relpersistence: "u" },
        { relname: `${table}_seq`, relpersistence: "u" }, // PostgreSQL 15+ (the tests run on 15)
        { relname: `${table}_stamps`, relpersistence: "u" }
      ])
    }))

  it.scopedLive("a database that does not hold the schema fails the build with a CacheStoreError of createTables", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(SqlStore.makePg({ pool, schema: "no_such_schema", table: freshTable() }))
      expect(error).toBeInstanceOf(CacheError.CacheStoreError)
      expect(error.operation).toBe("createTables")
      expect(error.message).toContain("no_such_schema")
    }))

  it("a table or schema that is not a plain name is a CacheDefinitionError, before anything runs", () => {
    expect(() => SqlStore.makePg({ pool, table: `cache"; DROP TABLE users; --` })).toThrow(CacheError.CacheDefinitionError)
    expect(() => SqlStore.makePg({ pool, schema: "1st" })).toThrow(/letters, digits and underscores/)
    expect(() => SqlStore.makeSqlite({ filename: ":memory:", table: "x".repeat(49) })).toThrow(/at most 48 characters/)
    expect(() => SqlStore.makeSqlite({ filename: ":memory:", maxTtl: 0 })).toThrow(/maxTtl/)
  })
})

describe("a partition or namespace wipe is one row write, whatever it holds", () => {
  const loaded = (store: CacheStore.Service, run: string) =>
    Effect.gen(function*() {
      const keys = Array.from({ length: 1_000 }, (_, i) => keyIn(run, "#7", `#${i}`))
      yield* Effect.forEach(keys, (key, i) => fill(store, key, { i }), { concurrency: 20, discard: true })
      return keys
    })

  it.scopedLive("PostgreSQL: after a wipe of 1,000 keys no entry row was written (their xmin unchanged), one stamp row was", () =>
    Effect.gen(function*() {
      const table = freshTable()
      const store = yield* SqlStore.makePg({ pool, schema, table }).pipe(Effect.provide(Settings))
      const keys = yield* loaded(store, "wipe-pg")
      const versions = `SELECT key, xmin::text FROM "${schema}"."${table}" ORDER BY key`
      const before = yield* rows(versions)
      yield* store.invalidate(CacheKey.partition(keys[0]!))
      yield* store.invalidate(CacheKey.namespace(keys[0]!.namespace))
      expect(yield* rows(versions)).toEqual(before)
      expect(before).toHaveLength(1_000)
      expect(yield* rows(`SELECT kind, scope FROM "${schema}"."${table}_stamps" ORDER BY kind`)).toEqual([
        { kind: "n", scope: keys[0]!.namespace },
        { kind: "p", scope: keys[0]!.partition }
      ])
      const lookups = yield* store.getMany(keys)
      expect(lookups.filter((lookup) => Option.isSome(lookup.entry))).toEqual([])
    }), 60_000)

  it.scopedLive("SQLite: a wipe of 1,000 keys changes 2 rows (the sequence and the stamp)", () =>
    Effect.gen(function*() {
      const database = new Sqlite(":memory:")
      yield* Effect.addFinalizer(() => Effect.sync(() => database.close()))
      const store = yield* SqlStore.makeSqlite({ database }).pipe(Effect.provide(Settings))
      const keys = yield* loaded(store, "wipe-sqlite")
      const changes = database.prepare<[], { changes: number }>("SELECT total_changes() AS changes")
      const before = changes.get()!.changes
      yield* store.invalidate(CacheKey.partition(keys[0]!))
      expect(changes.get()!.changes - before).toBe(2)
      const lookups = yield* store.getMany(keys)
      expect(lookups.filter((lookup) => Option.isSome(lookup.entry))).toEqual([])
    }))
})

describe("sweeping", () => {
  it.scopedLive("deletes entries past their staleUntil, tombstones past twice the fill window and expired leases; keeps the rest", () =>
    Effect.gen(function*() {
      const table = freshTable()
      const store = yield* SqlStore.makePg({ pool, schema, table, sweepInterval: "200 millis" }).pipe(
        Effect.provide(CacheSettings.layer({ fillWindow: "300 millis", operationTimeout: "2 seconds" }))
      )
      const [short, kept, deleted] = ["short", "kept", "deleted"].map((suffix) => keyIn("sweep", "p", suffix))
      yield* fill(store, short!, "short", 100)
      yield* fill(store, kept!, "kept")
      yield* store.invalidate(CacheKey.key(deleted!))
      yield* store.leases!.acquire(deleted!, Duration.millis(100))
      const count = (suffix: string) =>
        Effect.map(rows(`SELECT count(*)::int AS n FROM "${schema}"."${table}${suffix}"`), (found) => found[0]!.n as number)
      expect([yield* count(""), yield* count("_leases")]).toEqual([3, 1])
      yield* Effect.sleep("1500 millis")
      expect([yield* count(""), yield* count("_leases")]).toEqual([1, 0])
      expect(Option.map((yield* store.get(kept!)).entry, (entry) => entry.value)).toEqual(Option.some("kept"))
    }))

  it.scopedLive("SQLite: the same, in the file's own tables", () =>
    Effect.gen(function*() {
      const database = new Sqlite(join(directory, "sweep.db"))
      yield* Effect.addFinalizer(() => Effect.sync(() => database.close()))
      const store = yield* SqlStore.makeSqlite({ database, sweepInterval: "200 millis" }).pipe(
        Effect.provide(CacheSettings.layer({ fillWindow: "300 millis" }))
      )
      const [short, kept] = ["short", "kept"].map((suffix) => keyIn("sweep", "p", suffix))
      yield* fill(store, short!, "short", 100)
      yield* fill(store, kept!, "kept")
      yield* store.invalidate(CacheKey.key(keyIn("sweep", "p", "deleted")))
      const count = database.prepare<[], { n: number }>(`SELECT count(*) AS n FROM cachefx_cache`)
      expect(count.get()!.n).toBe(3)
      yield* Effect.sleep("1500 millis")
      expect(count.get()!.n).toBe(1)
    }))
})

const Items = KeyConstructor.make({
  namespace: "items",
  fields: [KeyField.arg("shop", { partition: true }), KeyField.arg("id")]
})

describe("cached() over the store", () => {
  it.scopedLive("a miss computes and fills, a hit reads; a partition wipe through the cached value reaches its keys only", () =>
    Effect.gen(function*() {
      let computed = 0
      const item = Cached.cached({ key: Items, ttl: "1 minute" })((input: { readonly shop: number; readonly id: number }) =>
        Effect.sync(() => ({ ...input, n: ++computed }))
      )
      const layer = SqlStore.layerPg({ pool, schema, table: freshTable() }).pipe(
        Layer.provideMerge(CacheSettings.layer({ keyPrefix: "cached-over-sql" }))
      )
      const context = yield* Layer.build(layer)
      const call = (shop: number, id: number) => Effect.provide(item.withStatus({ shop, id }), context)
      expect(yield* call(1, 1)).toMatchObject({ status: "Miss", value: { n: 1 } })
      expect(yield* call(1, 1)).toMatchObject({ status: "Hit", value: { n: 1 } })
      yield* call(2, 1)
      yield* Effect.provide(item.deletePartition({ shop: 1 }), context)
      expect(yield* call(1, 1)).toMatchObject({ status: "Miss", value: { n: 3 } })
      expect(yield* call(2, 1)).toMatchObject({ status: "Hit", value: { n: 2 } })
    }))
})

describe("round trips on PostgreSQL", () => {
  it.scopedLive("a miss with leases is 2 statements (the read that takes the lease, the fill that gives it back), a hit 1, a wipe 1", () =>
    Effect.gen(function*() {
      // a pool that records the name of each statement it runs
      const sent: Array<string> = []
      const counted: SqlStore.PgPool = {
        connect: () =>
          pool.connect().then((client) => ({
            query: (config) => {
              sent.push(config.name?.replace(/^cachefx_(\w+?)_sql_store.*$/, "$1") ?? "unnamed")
              return client.query(config)
            },
            release: (error) => client.release(error)
          }))
      }
      const layer = SqlStore.layerPg({ pool: counted, schema, table: freshTable() }).pipe(Layer.provideMerge(Settings))
      const context = yield* Layer.build(layer)
      const item = Cached.cached({ key: Items, ttl: "1 minute" })((input: { readonly shop: number; readonly id: number }) =>
        Effect.succeed(input)
      )
      sent.length = 0
      expect(yield* Effect.provide(item.withStatus({ shop: 1, id: 1 }), context)).toMatchObject({ status: "Miss" })
      yield* Effect.sleep("100 millis") // the fill runs in the background
      expect(sent).toEqual(["read_leasing", "fill_releasing"])
      sent.length = 0
      expect(yield* Effect.provide(item.withStatus({ shop: 1, id: 1 }), context)).toMatchObject({ status: "Hit" })
      expect(sent).toEqual(["read_leasing"])
      sent.length = 0
      yield* Effect.provide(item.deletePartition({ shop: 1 }), context)
      expect(sent).toEqual(["scope"])
    }))
})

describe("two instances on one table (two pools, or two SQLite connections to one file)", () => {
  /** A cached value whose computations take 200 ms and are counted, over each of two stores. */
  const stampede = (stores: ReadonlyArray<Layer.Layer<CacheStore.CacheStore, unknown>>) =>
    Effect.gen(function*() {
      let computed = 0
      const slow = Cached.cached({ key: Items, ttl: "1 minute" })((input: { readonly shop: number; readonly id: number }) =>
        Effect.delay(Effect.sync(() => ({ ...input, n: ++computed })), "200 millis")
      )
      const settings = CacheSettings.layer({ keyPrefix: `stampede-${tables}`, operationTimeout: "2 seconds" })
      const contexts = yield* Effect.forEach(stores, (store) => Layer.build(store.pipe(Layer.provideMerge(settings))))
      const values = yield* Effect.forEach(
        contexts.flatMap((context) => Array.from({ length: 50 }, () => context)),
        (context) => Effect.provide(slow({ shop: 1, id: 1 }), context),
        { concurrency: "unbounded" }
      )
      return { values, computed }
    })

  it.scopedLive("PostgreSQL: 2 × 50 concurrent misses of one key compute it once (its lease), and all get its value", () =>
    Effect.gen(function*() {
      const table = freshTable()
      const other = poolOf()
      yield* Effect.addFinalizer(() => Effect.promise(() => other.end()))
      const { computed, values } = yield* stampede([
        SqlStore.layerPg({ pool, schema, table, leasePollInterval: "20 millis" }),
        SqlStore.layerPg({ pool: other, schema, table, leasePollInterval: "20 millis" })
      ])
      expect(computed).toBe(1)
      expect(new Set(values.map((value) => value.n))).toEqual(new Set([1]))
    }))

  it.scopedLive("SQLite: the same over one file", () =>
    Effect.gen(function*() {
      const filename = join(directory, "stampede.db")
      const { computed, values } = yield* stampede([
        SqlStore.layerSqlite({ filename, leasePollInterval: "20 millis" }),
        SqlStore.layerSqlite({ filename, leasePollInterval: "20 millis" })
      ])
      expect(computed).toBe(1)
      expect(values).toHaveLength(100)
    }))

  it.scopedLive("PostgreSQL: fills racing invalidations from the other instance leave the latest value or nothing (200 rounds)", () =>
    Effect.gen(function*() {
      const table = freshTable()
      const other = poolOf()
      yield* Effect.addFinalizer(() => Effect.promise(() => other.end()))
      const reader = yield* SqlStore.makePg({ pool, schema, table }).pipe(Effect.provide(Settings))
      const writer = yield* SqlStore.makePg({ pool: other, schema, table }).pipe(Effect.provide(Settings))
      const key = keyIn("race", "#1", "a")
      const scopes = [CacheKey.key(key), CacheKey.partition(key), CacheKey.namespace(key.namespace)]
      let version = 0
      for (let round = 0; round < 200; round++) {
        // a fill reads, computes from the version it saw, and fills; the other instance writes a new version
        // and invalidates, concurrently; once both are done the key holds the new version or nothing
        const seen = yield* Deferred.make<void>()
        const filler = yield* Effect.fork(Effect.gen(function*() {
          const lookup = yield* reader.get(key)
          const computedFrom = version
          yield* Deferred.succeed(seen, undefined)
          yield* Effect.yieldNow()
          yield* reader.set(key, entryFor(computedFrom, Date.now(), 60_000), lookup.guard)
        }))
        yield* Deferred.await(seen)
        version++
        yield* writer.invalidate(scopes[round % 3]!, round % 7 === 0 ? { soft: true } : undefined)
        yield* Fiber.join(filler)
        const after = yield* reader.get(key)
        if (Option.isSome(after.entry) && after.stale !== true) {
          expect(after.entry.value.value).toBe(version)
        }
        // the next round starts from the latest version stored
        yield* fill(reader, key, version)
      }
    }), 60_000)
})

describe("layerConfig", () => {
  const built = (entries: ReadonlyArray<readonly [string, string]>, options: Partial<Config.Config.Wrap<SqlStore.ConfigOptions>> = {}) =>
    Layer.build(
      SqlStore.layerConfig({ url: Config.redacted("CACHE_DATABASE_URL"), ...options }).pipe(Layer.provide(Settings))
    ).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map(entries))))

  it.scopedLive("a postgres:// URL and a sqlite: URL build their dialect's store, which fills and reads", () =>
    Effect.gen(function*() {
      for (
        const value of [url, `sqlite:${join(directory, "config.db")}`, "sqlite::memory:"]
      ) {
        const context = yield* built([["CACHE_DATABASE_URL", value], ["CACHE_TABLE", "from_config"]], {
          table: Config.string("CACHE_TABLE"),
          ...(value.startsWith("postgres") ? { schema: Config.succeed(schema) } : {})
        })
        const store = Context.get(context, CacheStore.CacheStore)
        const key = keyIn(`config-${value.slice(0, 6)}`, "p", "a")
        yield* fill(store, key, "v")
        expect(Option.map((yield* store.get(key)).entry, (entry) => entry.value)).toEqual(Option.some("v"))
      }
    }))

  it.scopedLive("a URL of no known dialect, a missing URL and a bad table are ConfigErrors that say what to give", () =>
    Effect.gen(function*() {
      const unknown = yield* Effect.flip(built([["CACHE_DATABASE_URL", "mysql://localhost/app"]]))
      expect(ConfigError.isConfigError(unknown)).toBe(true)
      expect(String(unknown)).toContain(`"mysql" is not one it knows; give postgres://`)
      const missing = yield* Effect.flip(built([]))
      expect(String(missing)).toContain("CACHE_DATABASE_URL")
      const table = yield* Effect.flip(built([["CACHE_DATABASE_URL", "sqlite::memory:"]], { table: Config.succeed("a-b") }))
      expect(ConfigError.isConfigError(table)).toBe(true)
      expect(String(table)).toContain("letters, digits and underscores")
    }))
})

describe("bytes another program wrote", () => {
  it.scopedLive("a value that is not JSON is a foreign miss, and the next fill replaces it", () =>
    Effect.gen(function*() {
      const table = freshTable()
      const store = yield* SqlStore.makePg({ pool, schema, table }).pipe(Effect.provide(Settings))
      const key = keyIn("foreign", "p", "a")
      yield* fill(store, key, "v")
      yield* rows(`UPDATE "${schema}"."${table}" SET value = 'not json{' WHERE key = '${key.key}'`)
      const lookup = yield* store.get(key)
      expect([Option.isNone(lookup.entry), lookup.foreign]).toEqual([true, expect.stringContaining("not JSON")])
      expect(yield* store.set(key, entryFor("again", Date.now(), 60_000), lookup.guard)).toBe(true)
      expect(Option.map((yield* store.get(key)).entry, (entry) => entry.value)).toEqual(Option.some("again"))
    }))
})
