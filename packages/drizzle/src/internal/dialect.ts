import type { SQL } from "drizzle-orm"
import * as Effect from "effect/Effect"
import { UnsupportedDrizzleError } from "../DrizzleError.js"
import { pg } from "./dialect/pg.js"
import { sqlite } from "./dialect/sqlite.js"
import type { Maybe } from "./maybe.js"
import type { Method, Outcome, Row, WriteBuilder } from "./statement.js"
import type { Probe } from "./surface.js"
import type { TablePlan } from "./tables.js"
import { drizzleVersion } from "./version.js"

/**
 * Everything the hooks and the outbox do differently on PostgreSQL and on SQLite, as
 * drizzle-orm splits pg-core and sqlite-core: one adapter per dialect
 * (`dialect/pg.ts`, `dialect/sqlite.ts`). `instrument` and the relay pick the adapter of
 * the database they are given, once; nothing after them branches on the dialect.
 *
 * @internal
 */
export interface Dialect {
  /** `PostgreSQL` or `SQLite`, as messages name it. */
  readonly name: string
  /** Whether a database (or transaction) is of this dialect. */
  readonly is: (db: unknown) => boolean
  /** The builder members the hooks rely on, as `surface.ts` probes them on a database of this dialect. */
  readonly probes: (db: object) => ReadonlyArray<Probe>

  /** Whether an update reads the old values of the rows it changes in the statement itself (`TablePlan.old`). */
  readonly readsOldInStatement: boolean
  /** Reads, and locks until the transaction ends, the rows an update will change (when it cannot read them itself). */
  readonly readRows: (source: unknown, plan: TablePlan, where: SQL | undefined, placeholders: unknown) => Maybe<ReadonlyArray<Row>>
  /** Runs `f` in a transaction of its own that holds the write lock from its first read. */
  readonly transaction: <A>(source: unknown, f: (tx: unknown) => Maybe<A>) => Maybe<A>
  /** The methods of a prepared write that run it. */
  readonly runners: ReadonlyArray<Method>
  /** Completes an instrumented prepared query (whose runners are set) for a caller that reads rows or not. */
  readonly completePrepared: (prepared: Record<string, unknown>, callerReturns: boolean) => void
  /** The `execute` of an instrumented builder (what `await` calls), given how to run its marked statement now. */
  readonly execute: (
    builder: WriteBuilder,
    runNow: (args: ReadonlyArray<unknown>, method: Method, async: boolean) => unknown
  ) => (...args: ReadonlyArray<unknown>) => unknown
  /**
   * Runs a marked statement by `method` and splits what it gives into what the caller
   * asked for (as plain Drizzle gives it) and the captured rows (and the old values, when
   * prepared with `readsOld`). `source` is the database or transaction it runs on.
   */
  readonly runMarked: (
    plan: TablePlan,
    source: unknown,
    prepared: unknown,
    method: Method,
    args: ReadonlyArray<unknown>,
    callerReturns: boolean,
    readsOld: boolean
  ) => Maybe<Outcome>

  /** The rows a raw statement gives. */
  readonly query: (db: unknown, statement: SQL) => Maybe<ReadonlyArray<Row>>
  /** Runs a raw statement that gives no rows. */
  readonly run: (db: unknown, statement: SQL) => Maybe<unknown>
  /** `create table if not exists` of an outbox table. */
  readonly createOutbox: (table: SQL) => SQL
  /** The age in seconds of the oldest row of an outbox table, 0 when it is empty, as column `age`. */
  readonly oldestAge: (table: SQL) => SQL
}

const dialects: ReadonlyArray<Dialect> = [pg, sqlite]

const nameOf = (db: unknown): string => {
  const constructor: unknown = typeof db === "object" && db !== null ? Reflect.get(db, "constructor") : undefined
  return constructor === Object
    ? "a plain object"
    : typeof constructor === "function" && constructor.name !== ""
    ? `a ${constructor.name}`
    : `a ${typeof db}`
}

/**
 * The adapter of a database's dialect, or `UnsupportedDrizzleError` when it is neither
 * a Drizzle PostgreSQL nor a SQLite database.
 *
 * @internal
 */
export const dialectOf = (db: unknown): Effect.Effect<Dialect, UnsupportedDrizzleError> => {
  const dialect = dialects.find((candidate) => candidate.is(db))
  return dialect !== undefined ? Effect.succeed(dialect) : unsupported({
    dialect: undefined,
    subject: "database",
    member: "constructor",
    reason: `is ${nameOf(db)}, neither PostgreSQL (a PgDatabase of drizzle-orm/pg-core) nor SQLite ` +
      `(a BaseSQLiteDatabase of drizzle-orm/sqlite-core)`
  })
}

/**
 * Fails with `UnsupportedDrizzleError`, with drizzle-orm's version when it can be read.
 *
 * @internal
 */
export const unsupported = (
  fields: Omit<ConstructorParameters<typeof UnsupportedDrizzleError>[0], "version">
): Effect.Effect<never, UnsupportedDrizzleError> =>
  Effect.failSync(() => new UnsupportedDrizzleError({ ...fields, version: drizzleVersion() }))
