/**
 * The change stream: invalidation from PostgreSQL's own record of committed writes. A
 * consumer reads a logical replication slot (`pgoutput`, over a publication of the tables
 * the rules name), turns each committed transaction's inserts, updates, deletes and
 * truncates into `InvalidationEvent`s with the rows before and after, and publishes them
 * on the `InvalidationBus` in commit order. Work rolled back (a transaction, a savepoint)
 * never reaches it. It sees every write: from `psql`, a migration, another service.
 *
 * It confirms a transaction's end to PostgreSQL only once every job of each of its events
 * was applied (`Invalidation.publishTracked`: in-process jobs once they ran, a broker's
 * once the broker holds it); an event one of whose jobs ran out of retries is published
 * again until it is applied. The slot is permanent, so a consumer killed at any
 * point reads again, on restart, from the last position it confirmed: invalidations are
 * applied at least once (some twice), never lost.
 *
 * One consumer reads a slot at a time. Every instance runs the layer: one holds the slot,
 * the others try again every `retryInterval` and take over once the holder's connection
 * is gone.
 *
 * @since 0.1.0
 */
import type { Cached, InvalidationBus } from "@cachefx/core"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import type pg from "pg"
import type { AppliedTimeoutError, ChangeStreamError, ReplicaIdentityError } from "./ChangeStreamError.js"
import * as internal from "./internal/changeStream.js"
import type { Queryable } from "./internal/sql.js"

/**
 * Options of the change stream.
 *
 * @example
 * ```ts
 * import type { Cached } from "@cachefx/core"
 * import type { ChangeStream } from "@cachefx/pg-cdc"
 *
 * declare const getUser: Cached.Cached.Any
 *
 * const options: ChangeStream.Options = {
 *   connection: { connectionString: "postgres://postgres@127.0.0.1/app" },
 *   caches: [getUser],
 *   slot: "app_cachefx",
 *   publication: "app_cachefx"
 * }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /**
   * How to connect (node-postgres's client configuration). The stream opens one
   * replication connection with it, and one ordinary connection for its checks and
   * metrics. The role needs the `REPLICATION` attribute (or to be a superuser).
   */
  readonly connection: pg.ClientConfig
  /** The cached values whose rules say which tables to read: the engine's own list. */
  readonly caches: ReadonlyArray<Cached.Cached.Any>
  /** The replication slot. Default `"cachefx"`; one per application (per engine's rules). */
  readonly slot?: string | undefined
  /** The publication. Default `"cachefx"`. */
  readonly publication?: string | undefined
  /** The schema of the rules' tables. Default `"public"`. */
  readonly schema?: string | undefined
  /**
   * `"check"` (default): fail with a `ReplicaIdentityError` when a table's replica
   * identity does not hold the old values its rules need. `"apply"`: run the
   * `ALTER TABLE … REPLICA IDENTITY FULL` that fixes it instead.
   */
  readonly replicaIdentity?: "check" | "apply" | undefined
  /** Create the publication and the slot when missing (adding tables the publication lacks). Default true. */
  readonly create?: boolean | undefined
  /** How long a waiting instance waits between attempts to take the slot. Default 1 second. */
  readonly retryInterval?: Duration.DurationInput | undefined
  /** How often the WAL the slot keeps is read into `ChangeStreamMetrics.retainedWalBytes`. Default 5 seconds. */
  readonly metricsInterval?: Duration.DurationInput | undefined
  /**
   * The shortest time between two confirmations sent to PostgreSQL: the applied position
   * is confirmed at once after a pause, then at most once per interval, with the latest
   * position. `awaitApplied` may wait up to this much longer. Default 10 milliseconds.
   */
  readonly confirmInterval?: Duration.DurationInput | undefined
}

/**
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { ChangeStream } from "@cachefx/pg-cdc"
 *
 * const holding = Effect.flatMap(ChangeStream.ChangeStream, (stream) => stream.holding)
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Whether this instance holds the slot now (one instance does; the others wait). */
  readonly holding: Effect.Effect<boolean>
  /** The last position this instance confirmed to PostgreSQL: every change before it is applied. */
  readonly confirmed: Effect.Effect<Option.Option<string>>
}

/**
 * The running change stream.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { ChangeStream } from "@cachefx/pg-cdc"
 *
 * const confirmed = Effect.flatMap(ChangeStream.ChangeStream, (stream) => stream.confirmed)
 * ```
 *
 * @since 0.1.0
 * @category tags
 */
export class ChangeStream extends Context.Tag("@cachefx/pg-cdc/ChangeStream")<ChangeStream, Service>() {}

/**
 * Starts the change stream in a scope: checks each table's replica identity, creates the
 * publication and slot when missing, then reads the slot (or waits for it) until the
 * scope closes. Publishes on the `InvalidationBus`, so provide `InvalidationEngine.layer`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import type { Cached } from "@cachefx/core"
 * import { ChangeStream } from "@cachefx/pg-cdc"
 *
 * declare const getUser: Cached.Cached.Any
 *
 * const program = Effect.scoped(ChangeStream.make({ connection: { host: "127.0.0.1", user: "postgres" }, caches: [getUser] }))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (
  options: Options
) => Effect.Effect<
  Service,
  ChangeStreamError | ReplicaIdentityError,
  InvalidationBus.InvalidationBus | Scope.Scope
> = internal.make

/**
 * The change stream as a layer.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { Cached, CacheStore, InvalidationEngine, InvalidationRule, KeyConstructor, KeyField } from "@cachefx/core"
 * import { ChangeStream } from "@cachefx/pg-cdc"
 *
 * const getUser = Cached.cached({
 *   key: KeyConstructor.make({ namespace: "users", fields: [KeyField.arg("id")] }),
 *   invalidatesOn: [InvalidationRule.make({ table: "users", fieldMapping: { id: "id" } })]
 * })((input: { readonly id: number }) => Effect.succeed({ id: input.id }))
 *
 * const Live = ChangeStream.layer({ connection: { connectionString: process.env.DATABASE_URL }, caches: [getUser] }).pipe(
 *   Layer.provideMerge(InvalidationEngine.layer({ caches: [getUser] })),
 *   Layer.provideMerge(CacheStore.layerMemory())
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options
): Layer.Layer<ChangeStream, ChangeStreamError | ReplicaIdentityError, InvalidationBus.InvalidationBus> =>
  Layer.scoped(ChangeStream, make(options))

/**
 * Options of `awaitApplied`.
 *
 * @example
 * ```ts
 * import type { ChangeStream } from "@cachefx/pg-cdc"
 *
 * const options: ChangeStream.AwaitOptions = { slot: "app_cachefx", timeout: "2 seconds" }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface AwaitOptions {
  /** Default `"cachefx"`. */
  readonly slot?: string | undefined
  /** The position to wait for (from `currentLsn` after the commit). Default: the server's position now. */
  readonly lsn?: string | undefined
  /** Default 5 seconds. */
  readonly timeout?: Duration.DurationInput | undefined
}

/**
 * The server's WAL position now. Read right after a commit (on any connection), every
 * change of that commit lies before it.
 *
 * @example
 * ```ts
 * import pg from "pg"
 * import { ChangeStream } from "@cachefx/pg-cdc"
 *
 * const pool = new pg.Pool({ connectionString: "postgres://postgres@127.0.0.1/app" })
 * const afterCommit = ChangeStream.currentLsn(pool)
 * ```
 *
 * @since 0.1.0
 * @category read-your-writes
 */
export const currentLsn: (client: Queryable) => Effect.Effect<string, ChangeStreamError> = internal.currentLsn

/**
 * Read-your-writes: waits until the slot's confirmed position (`pg_replication_slots`,
 * so any process can ask) reaches `lsn`, by default the server's position now, so a
 * writer that calls it after its commit then reads fresh. Fails with an
 * `AppliedTimeoutError` after `timeout` (no consumer holds the slot, or it lags).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import pg from "pg"
 * import { ChangeStream } from "@cachefx/pg-cdc"
 *
 * const pool = new pg.Pool({ connectionString: "postgres://postgres@127.0.0.1/app" })
 * const rename = Effect.promise(() => pool.query("update users set name = 'Ada' where id = 1")).pipe(
 *   Effect.zipRight(ChangeStream.awaitApplied(pool, { timeout: "2 seconds" }))
 * )
 * ```
 *
 * @since 0.1.0
 * @category read-your-writes
 */
export const awaitApplied: (
  client: Queryable,
  options?: AwaitOptions
) => Effect.Effect<void, AppliedTimeoutError | ChangeStreamError> = (client, options = {}) =>
  internal.awaitApplied(client, options)

/**
 * The statement that marks a transaction as handled by the Drizzle hooks: run it inside
 * the transaction, and the change stream publishes nothing for it (the hooks already
 * invalidated, at commit). A transaction without it is the change stream's.
 *
 * @example
 * ```ts
 * import { ChangeStream } from "@cachefx/pg-cdc"
 *
 * // await tx.execute(sql.raw(ChangeStream.markHandled))
 * console.log(ChangeStream.markHandled)
 * ```
 *
 * @since 0.1.0
 * @category hooks
 */
export const markHandled: string = internal.markHandled
