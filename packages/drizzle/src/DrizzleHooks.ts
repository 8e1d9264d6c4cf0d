/**
 * Write hooks for Drizzle: `DrizzleHooks.instrument(db, { caches })` gives a database
 * with the type and behaviour of `db` whose `insert`, `update` and `delete` publish
 * `InvalidationEvent`s for the tables the cached values' rules name.
 *
 * - Rows come from `RETURNING`: the columns the rules need are added to the statement
 *   and taken out of what the caller gets, which stays what plain Drizzle gives.
 * - An update that sets a mapped or watched column also reads the old rows, so the old
 *   and the new key or partition are both invalidated: on PostgreSQL in the update
 *   itself (a sub-select `FOR UPDATE`, for a table with a single-column primary key),
 *   otherwise first, in the same transaction. Other updates cost no extra query.
 * - Inside `db.transaction` (and nested ones, which are savepoints) events are buffered
 *   and published after the outermost commit; a rollback drops them.
 * - Writes the hooks cannot see (`db.execute` of raw SQL) are invalidated with
 *   `invalidateTables`.
 * - With `outbox`, events are also written to an outbox table in the transaction of
 *   their write, and a row is deleted only once every job its event caused has been
 *   applied (a `pool` job once it ran, a broker's once the broker took it). `layerRelay`
 *   publishes what a crash, or a job that ran out of retries, left there.
 * - The hooks rely on members of Drizzle's builders that drizzle-orm does not declare;
 *   `instrument` checks them once and fails with `DrizzleError.UnsupportedDrizzleError`
 *   when a database is neither PostgreSQL nor SQLite, or its drizzle-orm changed one.
 *
 * @since 0.1.0
 */
import type { Cached, InvalidationBus, InvalidationEngine } from "@cachefx/core"
import type { PgDatabase } from "drizzle-orm/pg-core"
import type { BaseSQLiteDatabase } from "drizzle-orm/sqlite-core"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type { UnsupportedDrizzleError } from "./DrizzleError.js"
import * as internal from "./internal/hooks.js"
import * as outbox from "./internal/outbox.js"

/**
 * A Drizzle database the hooks instrument: PostgreSQL (node-postgres, PGlite) or SQLite
 * (better-sqlite3).
 *
 * @example
 * ```ts
 * import Database from "better-sqlite3"
 * import { drizzle } from "drizzle-orm/better-sqlite3"
 * import type { DrizzleHooks } from "@cachefx/drizzle"
 *
 * const db: DrizzleHooks.Database = drizzle(new Database(":memory:"))
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type Database = PgDatabase<any, any, any> | BaseSQLiteDatabase<any, any, any, any>

/**
 * Options of `instrument`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Cached, KeyConstructor } from "@cachefx/core"
 * import type { DrizzleHooks } from "@cachefx/drizzle"
 *
 * const stats = Cached.cached({ key: KeyConstructor.make({ namespace: "stats" }) })(() => Effect.succeed(0))
 * const options: DrizzleHooks.Options = { caches: [stats], outbox: { table: "app.cachefx_outbox" } }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /**
   * The cached values whose rules the writes serve. Default: the ones the
   * `InvalidationEngine` in context serves, so the application declares them once, in
   * `InvalidationEngine.layer({ caches })`. When given, a cached value with rules that
   * the engine in context does not serve is logged as a warning. Tables no rule names
   * are left alone and cost nothing.
   */
  readonly caches?: ReadonlyArray<Cached.Cached.Any> | undefined
  /**
   * The transactional outbox: `true` (table `cachefx_outbox`) or the table's name
   * (`"schema.table"` on PostgreSQL). The table is created when missing. Every write then
   * runs in a transaction that also stores its events, and event rows must be JSON
   * values. Default: off.
   */
  readonly outbox?: boolean | { readonly table?: string | undefined } | undefined
}

/**
 * Options of the outbox relay.
 *
 * @example
 * ```ts
 * import type { DrizzleHooks } from "@cachefx/drizzle"
 *
 * const options: DrizzleHooks.RelayOptions = { table: "cachefx_outbox", batch: 500, interval: "2 seconds" }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface RelayOptions {
  /** The outbox table. Default `cachefx_outbox`. */
  readonly table?: string | undefined
  /** Events read at a time. Default 100. */
  readonly batch?: number | undefined
  /** The pause between two passes that left no row. Default 1 second. */
  readonly interval?: Duration.DurationInput | undefined
  /**
   * While a pass leaves rows (their jobs were not applied: the store is down), the pause
   * doubles from `interval` up to this (since 0.2.0). Default 1 minute.
   */
  readonly maxInterval?: Duration.DurationInput | undefined
}

/**
 * Instruments a Drizzle database. The effect captures the `InvalidationBus` (and the
 * rest of its context), so the database it gives works from promise code (`await
 * db.update(…)`) as well as from effects. An awaited write, or an awaited transaction,
 * resolves once the `inline` jobs of its events are done. better-sqlite3 is synchronous:
 * its `run()`, `all()`, `get()`, `values()` and `transaction()` return with the events
 * on the bus, and the engine handles them right after.
 *
 * It first picks the adapter of the database's dialect (PostgreSQL or SQLite) and checks,
 * on builders of a table of its own that it never runs, the members of Drizzle's
 * builders the hooks rely on: a database of neither dialect, or of a drizzle-orm that
 * changed one of them, fails with `DrizzleError.UnsupportedDrizzleError` (since 0.2.0),
 * which names the member and drizzle-orm's version.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { drizzle } from "drizzle-orm/pglite"
 * import { eq } from "drizzle-orm"
 * import { integer, pgTable, text } from "drizzle-orm/pg-core"
 * import { Cached, InvalidationRule, KeyConstructor, KeyField } from "@cachefx/core"
 * import { DrizzleHooks } from "@cachefx/drizzle"
 *
 * const users = pgTable("users", { id: integer("id").primaryKey(), name: text("name").notNull() })
 *
 * const getUser = Cached.cached({
 *   key: KeyConstructor.make({ namespace: "users", fields: [KeyField.arg("id")] }),
 *   invalidatesOn: [InvalidationRule.make({ table: users, fieldMapping: { id: users.id } })]
 * })((input: { readonly id: number }) => Effect.succeed({ id: input.id }))
 *
 * const rename = Effect.gen(function*() {
 *   const db = yield* DrizzleHooks.instrument(drizzle(), { caches: [getUser] })
 *   yield* Effect.promise(() => db.update(users).set({ name: "Ada" }).where(eq(users.id, 1)))
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const instrument: {
  <DB extends Database>(
    db: DB,
    options: Options & { readonly caches: ReadonlyArray<Cached.Cached.Any> }
  ): Effect.Effect<DB, UnsupportedDrizzleError, InvalidationBus.InvalidationBus>
  <DB extends Database>(
    db: DB,
    options?: Options
  ): Effect.Effect<DB, UnsupportedDrizzleError, InvalidationBus.InvalidationBus | InvalidationEngine.InvalidationEngine>
} = internal.instrument

/**
 * Invalidates by table, for writes the hooks do not see (raw SQL through `db.execute`,
 * another application): publishes, for each table, one event of each operation without
 * rows, so every rule on the table wipes its namespace.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { sql } from "drizzle-orm"
 * import { drizzle } from "drizzle-orm/pglite"
 * import { DrizzleHooks } from "@cachefx/drizzle"
 *
 * const db = drizzle()
 *
 * const archive = Effect.promise(() => db.execute(sql`update posts set archived = true`)).pipe(
 *   Effect.zipRight(DrizzleHooks.invalidateTables(["posts"]))
 * )
 * ```
 *
 * @since 0.1.0
 * @category invalidation
 */
export const invalidateTables: (
  tables: ReadonlyArray<string | object>
) => Effect.Effect<void, never, InvalidationBus.InvalidationBus> = internal.invalidateTables

/**
 * Publishes the events left in an outbox table (oldest first), waits until the jobs of
 * each have run, and deletes the rows whose jobs were all applied; gives how many it
 * deleted. A row whose job ran out of retries stays for the next pass. Sets
 * `CacheMetrics.outboxOldestRowAge`. Delivery is at least once: an event published twice
 * (a crash between publish and delete, two relays at once) invalidates twice, which is
 * harmless. A database of neither dialect fails with `DrizzleError.UnsupportedDrizzleError`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { drizzle } from "drizzle-orm/pglite"
 * import { DrizzleHooks } from "@cachefx/drizzle"
 *
 * const atStartup = DrizzleHooks.relayOnce(drizzle(), { table: "cachefx_outbox" }).pipe(
 *   Effect.tap((count) => Effect.log(`${count} invalidations recovered from the outbox`))
 * )
 * ```
 *
 * @since 0.1.0
 * @category outbox
 */
export const relayOnce: (
  db: Database,
  options?: Pick<RelayOptions, "table" | "batch">
) => Effect.Effect<number, UnsupportedDrizzleError, InvalidationBus.InvalidationBus> = outbox.relayOnce

/**
 * The outbox relay as a layer: relays every `interval` while the layer is alive; while a
 * pass leaves rows, the pause doubles up to `maxInterval`, and
 * `CacheMetrics.outboxOldestRowAge` says how old the oldest one is. Building it fails with
 * `DrizzleError.UnsupportedDrizzleError` for a database of neither dialect.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { drizzle } from "drizzle-orm/pglite"
 * import { CacheStore, InvalidationEngine } from "@cachefx/core"
 * import { DrizzleHooks } from "@cachefx/drizzle"
 *
 * const Live = DrizzleHooks.layerRelay(drizzle(), { interval: "5 seconds" }).pipe(
 *   Layer.provideMerge(InvalidationEngine.layer({ caches: [] })),
 *   Layer.provide(CacheStore.layerMemory())
 * )
 * ```
 *
 * @since 0.1.0
 * @category outbox
 */
export const layerRelay: (
  db: Database,
  options?: RelayOptions
) => Layer.Layer<never, UnsupportedDrizzleError, InvalidationBus.InvalidationBus> = outbox.layerRelay
