/**
 * The SQL `CacheStore`: entries in a table of the application's own database, for an
 * application with a database and no Redis. PostgreSQL (an `UNLOGGED` table, through
 * node-postgres) or SQLite (through better-sqlite3).
 *
 * - A partition or namespace wipe is one row write (a stamp), whatever it holds: each
 *   entry records the stamps of its partition and namespace when it is filled, and a
 *   read joins them, so an entry filled under an older stamp reads as absent.
 * - A fill is a compare-and-set (the guarded fill of `CacheStore`): stored only while
 *   the key's row and the stamps are what its read saw, within the fill window.
 * - Leases in a table, so that a miss of one key is computed once across processes.
 * - The tables are created when the layer is built (`CREATE UNLOGGED TABLE IF NOT
 *   EXISTS` on PostgreSQL), and a fiber of the layer sweeps expired rows.
 * - Fails open: every error or timeout is a `CacheStoreError`, which cached values count
 *   and compute through.
 *
 * @since 0.1.0
 */
import { CacheError, CacheSettings, CacheStore } from "@cachefx/core"
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import { type Backend, identifier } from "./internal/backend.js"
import * as pg from "./internal/pg.js"
import * as sqlite from "./internal/sqlite.js"
import * as internal from "./internal/sqlStore.js"

/**
 * Options of both dialects.
 *
 * @example
 * ```ts
 * import type { SqlStore } from "@cachefx/sql"
 *
 * const common: SqlStore.CommonOptions = { table: "cache", maxTtl: "7 days", sweepInterval: "30 seconds" }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface CommonOptions {
  /**
   * The entries table (default `cachefx_cache`); the store also makes `<table>_stamps`,
   * `<table>_leases` and, on PostgreSQL, the sequence `<table>_seq`. Letters, digits and
   * underscores, at most 48 characters.
   */
  readonly table?: string | undefined
  /**
   * The longest an entry lives (default 30 days), whatever its TTL: an entry of
   * `Ttl.forever` is swept after it. A partition stamp unchanged for as long is swept too
   * (the entries that recorded it then read as absent, and are computed again).
   */
  readonly maxTtl?: Duration.DurationInput | undefined
  /** How often expired rows are deleted (default 1 minute); `Duration.infinity`: never. */
  readonly sweepInterval?: Duration.DurationInput | undefined
  /**
   * How often a caller waiting for a lease another process holds checks it (default
   * 100 ms): the database sends no message when it is released. A release in this
   * process wakes its waiters at once.
   */
  readonly leasePollInterval?: Duration.DurationInput | undefined
}

/**
 * What the store uses of a node-postgres client: a `PoolClient` of `pg` is one. Declared
 * here so that an application on SQLite needs neither `pg` nor its types.
 *
 * @example
 * ```ts
 * import type { PoolClient } from "pg"
 * import type { SqlStore } from "@cachefx/sql"
 *
 * const asClient = (client: PoolClient): SqlStore.PgClient => client
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface PgClient {
  query(
    config: { readonly name?: string; readonly text: string; readonly values?: Array<unknown> }
  ): Promise<{ readonly rows: Array<any>; readonly rowCount: number | null }>
  release(error?: Error | boolean): void
}

/**
 * What the store uses of a node-postgres pool: a `Pool` of `pg` is one.
 *
 * @example
 * ```ts
 * import { Pool } from "pg"
 * import type { SqlStore } from "@cachefx/sql"
 *
 * const pool: SqlStore.PgPool = new Pool({ connectionString: "postgres://localhost/app" })
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface PgPool {
  connect(): Promise<PgClient>
}

/**
 * What the store uses of a prepared SQLite statement (better-sqlite3's `Statement`).
 *
 * @example
 * ```ts
 * import type { SqlStore } from "@cachefx/sql"
 *
 * const changed = (statement: SqlStore.SqliteStatement): number => statement.run().changes
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface SqliteStatement {
  run(...params: Array<any>): { readonly changes: number }
  get(...params: Array<any>): unknown
}

/**
 * What the store uses of a SQLite database: better-sqlite3's `Database` is one. Declared
 * here so that an application on PostgreSQL needs neither better-sqlite3 nor its types.
 *
 * @example
 * ```ts
 * import Sqlite from "better-sqlite3"
 * import type { SqlStore } from "@cachefx/sql"
 *
 * const database: SqlStore.SqliteDatabase = new Sqlite(":memory:")
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface SqliteDatabase {
  prepare(source: string): SqliteStatement
  exec(source: string): unknown
  transaction<F extends (...args: Array<any>) => unknown>(
    fn: F
  ): { immediate(...args: F extends (...args: infer A) => unknown ? A : never): ReturnType<F> }
  pragma(source: string): unknown
}

/**
 * Options of the PostgreSQL store: a `pg` pool the application already has (the store
 * never closes it), or a connection string to open one with (closed with the scope),
 * and the schema of the tables (default `public`; it must exist).
 *
 * @example
 * ```ts
 * import { Pool } from "pg"
 * import type { SqlStore } from "@cachefx/sql"
 *
 * const options: SqlStore.PgOptions = { pool: new Pool({ connectionString: "postgres://localhost/app" }), schema: "cache" }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type PgOptions =
  & CommonOptions
  & { readonly schema?: string | undefined }
  & ({ readonly pool: PgPool } | { readonly connectionString: string | Redacted.Redacted })

/**
 * Options of the SQLite store: a better-sqlite3 `Database` the application already has
 * (the store never closes it), or a file name to open one with (`":memory:"` for a
 * database of this process only; closed with the scope).
 *
 * @example
 * ```ts
 * import type { SqlStore } from "@cachefx/sql"
 *
 * const options: SqlStore.SqliteOptions = { filename: "./cache.db", table: "cache" }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type SqliteOptions = CommonOptions & ({ readonly database: SqliteDatabase } | { readonly filename: string })

/** How long building a store waits for its tables. */
const setupTimeout = Duration.seconds(10)

const defaults = { table: "cachefx_cache", maxTtl: Duration.days(30), sweepInterval: Duration.minutes(1) }

/** The common options, checked: a bad one throws a `CacheDefinitionError`, as constructors do. */
const checked = (options: CommonOptions) => {
  const maxTtl = options.maxTtl === undefined ? defaults.maxTtl : Duration.decode(options.maxTtl)
  if (!(Duration.isFinite(maxTtl) && Duration.toMillis(maxTtl) >= 1)) {
    throw new CacheError.CacheDefinitionError({
      subject: "SqlStore maxTtl",
      reason: `${Duration.format(maxTtl)} is not a positive, finite duration (the longest an entry lives)`
    })
  }
  const sweepInterval = options.sweepInterval === undefined ? defaults.sweepInterval : Duration.decode(options.sweepInterval)
  if (Duration.toMillis(sweepInterval) <= 0) {
    throw new CacheError.CacheDefinitionError({
      subject: "SqlStore sweepInterval",
      reason: `${Duration.format(sweepInterval)} is not a positive duration (Duration.infinity: never sweep)`
    })
  }
  return {
    table: identifier("table", options.table ?? defaults.table),
    store: {
      maxTtl: Duration.toMillis(maxTtl),
      sweepInterval: Duration.isFinite(sweepInterval) ? sweepInterval : undefined,
      leasePollInterval: options.leasePollInterval === undefined
        ? Duration.millis(100)
        : Duration.decode(options.leasePollInterval)
    }
  }
}

/**
 * The store over the backend `prepare` makes once `setup` made its tables (SQLite
 * prepares its statements against them). Bounded: a database that does not answer
 * fails the build.
 */
const build = (
  setup: Effect.Effect<void, unknown>,
  prepare: () => Backend,
  options: internal.Options
): Effect.Effect<CacheStore.Service, CacheError.CacheStoreError, Scope.Scope> =>
  setup.pipe(
    Effect.timeoutFail({ duration: setupTimeout, onTimeout: () => "no answer in 10 seconds" }),
    Effect.zipRight(Effect.try(prepare)),
    Effect.mapError((cause) => new CacheError.CacheStoreError({ operation: "createTables", reason: "Unavailable", cause })),
    Effect.flatMap((backend) => internal.make(backend, options))
  )

/** A pool of `connectionString`, its errors kept from crashing the process, ended with the scope. */
const openPool = (connectionString: string | Redacted.Redacted): Effect.Effect<PgPool, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.promise(() => import("pg")).pipe(
      Effect.map(({ default: postgres }) => {
        const url = typeof connectionString === "string" ? connectionString : Redacted.value(connectionString)
        const pool = new postgres.Pool({ connectionString: url, keepAlive: true })
        // an idle connection that breaks emits `error`; a statement's failure reaches its caller
        pool.on("error", () => {})
        return pool
      })
    ),
    (pool) => Effect.promise(() => pool.end()).pipe(Effect.timeout(setupTimeout), Effect.ignore)
  )

/**
 * Makes the PostgreSQL store: creates its tables unless they exist (one transaction,
 * under an advisory lock), then serves. The fill window and the operation timeout come
 * from the `CacheSettings` in force; a statement that outlives the timeout fails the
 * call (fail-open) and its connection is destroyed. Fails with a `CacheStoreError` of
 * operation `createTables` when the database refuses the tables or does not answer
 * within 10 seconds.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { CacheKey } from "@cachefx/core"
 * import { SqlStore } from "@cachefx/sql"
 *
 * const program = Effect.gen(function*() {
 *   const store = yield* SqlStore.makePg({ connectionString: "postgres://postgres@127.0.0.1:5432/test" })
 *   yield* store.invalidate(CacheKey.namespace("cachefx:users"))
 * }).pipe(Effect.scoped)
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const makePg = (options: PgOptions): Effect.Effect<CacheStore.Service, CacheError.CacheStoreError, Scope.Scope> => {
  const { store, table } = checked(options)
  const schema = identifier("schema", options.schema ?? "public")
  return Effect.flatMap(
    "pool" in options ? Effect.succeed(options.pool) : openPool(options.connectionString),
    (pool) =>
      Effect.flatMap(CacheSettings.CacheSettings, (settings) => {
        const timeout = Duration.isFinite(settings.operationTimeout)
          ? Math.max(1, Math.ceil(Duration.toMillis(settings.operationTimeout)))
          : undefined
        return build(
          pg.setup(pool, schema, table, Duration.toMillis(setupTimeout)),
          () => pg.backend(pool, schema, table, timeout),
          store
        )
      })
  )
}

/** A database of `filename`, in WAL mode unless in memory, closed with the scope. */
const openDatabase = (filename: string): Effect.Effect<SqliteDatabase, unknown, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.flatMap(Effect.promise(() => import("better-sqlite3")), ({ default: Sqlite }) =>
      Effect.flatMap(CacheSettings.CacheSettings, (settings) =>
        Effect.try(() => {
          const database = new Sqlite(filename)
          if (filename !== ":memory:" && filename !== "") {
            database.pragma("journal_mode = WAL")
            database.pragma("synchronous = NORMAL")
          }
          // a write that finds the file locked by another process waits this long, blocking the event loop
          const busy = Duration.isFinite(settings.operationTimeout) ? Duration.toMillis(settings.operationTimeout) : 1_000
          database.pragma(`busy_timeout = ${Math.ceil(busy)}`)
          return database
        }))),
    (database) => Effect.sync(() => database.close())
  )

/**
 * Makes the SQLite store: creates its tables unless they exist, then serves. Every
 * statement runs synchronously in this process (better-sqlite3), so a hit costs no round
 * trip, and the operation timeout cannot cut one short. Fails with a `CacheStoreError` of
 * operation `createTables` when the file cannot be opened or the tables made.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { CacheKey } from "@cachefx/core"
 * import { SqlStore } from "@cachefx/sql"
 *
 * const program = Effect.gen(function*() {
 *   const store = yield* SqlStore.makeSqlite({ filename: ":memory:" })
 *   yield* store.invalidate(CacheKey.namespace("cachefx:users"))
 * }).pipe(Effect.scoped)
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeSqlite = (
  options: SqliteOptions
): Effect.Effect<CacheStore.Service, CacheError.CacheStoreError, Scope.Scope> => {
  const { store, table } = checked(options)
  return Effect.flatMap(
    "database" in options
      ? Effect.succeed(options.database)
      : Effect.mapError(
        openDatabase(options.filename),
        (cause) => new CacheError.CacheStoreError({ operation: "createTables", reason: "Unavailable", cause })
      ),
    (database) => build(sqlite.setup(database, table), () => sqlite.backend(database, table), store)
  )
}

/**
 * The PostgreSQL store as a layer.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Pool } from "pg"
 * import { Cached, KeyConstructor, KeyField } from "@cachefx/core"
 * import { SqlStore } from "@cachefx/sql"
 *
 * const getUser = Cached.cached({
 *   key: KeyConstructor.make({ namespace: "users", fields: [KeyField.arg("id")] }),
 *   ttl: "5 minutes"
 * })((input: { readonly id: number }) => Effect.succeed({ id: input.id }))
 *
 * const pool = new Pool({ connectionString: "postgres://postgres@127.0.0.1:5432/test" })
 * const program = getUser({ id: 1 }).pipe(Effect.provide(SqlStore.layerPg({ pool, table: "cache" })))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerPg = (options: PgOptions): Layer.Layer<CacheStore.CacheStore, CacheError.CacheStoreError> =>
  Layer.scoped(CacheStore.CacheStore, makePg(options))

/**
 * The SQLite store as a layer.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Cached, KeyConstructor, KeyField } from "@cachefx/core"
 * import { SqlStore } from "@cachefx/sql"
 *
 * const getUser = Cached.cached({
 *   key: KeyConstructor.make({ namespace: "users", fields: [KeyField.arg("id")] }),
 *   ttl: "5 minutes"
 * })((input: { readonly id: number }) => Effect.succeed({ id: input.id }))
 *
 * const program = getUser({ id: 1 }).pipe(Effect.provide(SqlStore.layerSqlite({ filename: "./cache.db" })))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerSqlite = (options: SqliteOptions): Layer.Layer<CacheStore.CacheStore, CacheError.CacheStoreError> =>
  Layer.scoped(CacheStore.CacheStore, makeSqlite(options))

/**
 * Options of `layerConfig`, each read from `Config`: the database's URL, which names the
 * dialect (`postgres://…` or `postgresql://…`: PostgreSQL; `sqlite:<file>`, e.g.
 * `sqlite:./cache.db` or `sqlite::memory:`: SQLite), and the options of both dialects.
 *
 * @example
 * ```ts
 * import { Redacted } from "effect"
 * import type { SqlStore } from "@cachefx/sql"
 *
 * const options: SqlStore.ConfigOptions = { url: Redacted.make("sqlite:./cache.db"), table: "cache" }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface ConfigOptions extends CommonOptions {
  readonly url: Redacted.Redacted
  /** PostgreSQL only: the schema of the tables (default `public`). */
  readonly schema?: string | undefined
}

/** The store that `url` names, or a `ConfigError` saying which URLs name one. */
const fromUrl = (
  { url, ...options }: ConfigOptions
): Either.Either<Effect.Effect<CacheStore.Service, CacheError.CacheStoreError, Scope.Scope>, ConfigError.ConfigError> => {
  const value = Redacted.value(url)
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(value)?.[1]?.toLowerCase()
  try {
    if (scheme === "postgres" || scheme === "postgresql") {
      return Either.right(makePg({ ...options, connectionString: url }))
    }
    if (scheme === "sqlite") {
      const { schema: _, ...common } = options
      return Either.right(makeSqlite({ ...common, filename: value.slice("sqlite:".length) }))
    }
  } catch (error) {
    return Either.left(ConfigError.InvalidData([], error instanceof Error ? error.message : String(error)))
  }
  return Either.left(ConfigError.InvalidData(
    [],
    `SqlStore: the URL's scheme ${scheme === undefined ? "is missing" : `"${scheme}" is not one it knows`}; ` +
      `give postgres://… (or postgresql://…) for PostgreSQL, or sqlite:<file> for SQLite`
  ))
}

/**
 * The store of the database `url` names, its connection (a pool, or a SQLite file)
 * opened when the layer is built and closed with its scope; every option is read from
 * `Config` (`Config.Wrap`: give a `Config` for the whole record or one per field). A URL
 * of no known dialect, or a bad option, is a `ConfigError`.
 *
 * @example
 * ```ts
 * import { Config, Layer } from "effect"
 * import { CacheSettings } from "@cachefx/core"
 * import { SqlStore } from "@cachefx/sql"
 *
 * const CacheLive = SqlStore.layerConfig({
 *   url: Config.redacted("CACHE_DATABASE_URL"),
 *   table: Config.withDefault(Config.string("CACHE_TABLE"), "cachefx_cache")
 * }).pipe(Layer.provideMerge(CacheSettings.layerConfig))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  options: Config.Config.Wrap<ConfigOptions>
): Layer.Layer<CacheStore.CacheStore, ConfigError.ConfigError | CacheError.CacheStoreError> =>
  Layer.scoped(
    CacheStore.CacheStore,
    Effect.flatMap(Config.unwrap(options), (unwrapped) => Effect.flatten(fromUrl(unwrapped)))
  )
