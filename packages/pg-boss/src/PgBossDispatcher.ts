/**
 * A `Dispatcher` over pg-boss, a job queue in PostgreSQL: a rule that names it has its
 * jobs inserted into a pg-boss queue, where a `PgBossWorker` (in this process or
 * another) takes them, runs them with `InvalidationEngine.run`, retries them with
 * backoff and finally moves them to the queue's dead-letter queue. Delivery is at
 * least once (a job whose worker dies runs again once it expires); invalidations are
 * idempotent, so running one twice is harmless.
 *
 * Because the queue lives in the application's database, a job can also be inserted
 * in the transaction of the write itself (`send` with `db`), so it exists exactly when
 * the write committed.
 *
 * @since 0.1.0
 */
import { BrokerJob, type Dispatcher } from "@cachefx/core"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type PgBoss from "pg-boss"
import * as internal from "./internal/dispatcher.js"

/**
 * How pg-boss retries and expires a job, given to each job as it is sent, in the words
 * every broker package uses (`BrokerJob.RetryOptions`: pg-boss rounds `backoff` to whole
 * seconds and adds jitter), and how long a job may stay active before it counts as
 * failed and is retried (`expireIn`, default 5 minutes). A job that fails `attempts`
 * times, or names a rule the worker does not know, goes to the dead-letter queue
 * `<queue>-dead`.
 *
 * @example
 * ```ts
 * import type { PgBossDispatcher } from "@cachefx/pg-boss"
 *
 * const policy: PgBossDispatcher.JobPolicy = { attempts: 8, backoff: "2 seconds", expireIn: "1 minute" }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface JobPolicy extends BrokerJob.RetryOptions {
  readonly expireIn?: Duration.DurationInput | undefined
}

/**
 * Options of `send`: the queue (default `"cachefx-invalidation"`), how many rows one
 * job carries at most (default 500: an event over more rows is split into several
 * jobs), the executor to insert with, and the jobs' policy.
 *
 * @example
 * ```ts
 * import type { PgBossDispatcher } from "@cachefx/pg-boss"
 *
 * const options: PgBossDispatcher.SendOptions = { queue: "cache-invalidation", rowsPerJob: 100 }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface SendOptions extends JobPolicy {
  readonly queue?: string | undefined
  readonly rowsPerJob?: number | undefined
  /** Runs the insert on this executor (the transaction of the write) instead of pg-boss's own pool. */
  readonly db?: PgBoss.Db | undefined
}

/**
 * Options of `make` and `layer`: a started pg-boss client (see `start`), the defaults
 * of `send`, and what every broker dispatcher takes (`BrokerJob.ProducerOptions`: default
 * name `"pg-boss"`, `rowsPerJob` 500). A rule's `dispatcherConfig` may set `queue` and
 * `rowsPerJob` for its own jobs.
 *
 * @example
 * ```ts
 * import PgBoss from "pg-boss"
 * import type { PgBossDispatcher } from "@cachefx/pg-boss"
 *
 * declare const boss: PgBoss
 * const options: PgBossDispatcher.Options<"pg-boss"> = { boss, queue: "cache-invalidation", attempts: 3 }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Options<N extends string = string> extends Omit<SendOptions, "db">, BrokerJob.ProducerOptions<N> {
  readonly boss: PgBoss
}

/**
 * Makes the dispatcher in a scope, as every broker package's `make` does (this one holds
 * nothing to release: the client is yours). `dispatch` returns once pg-boss has the job; when pg-boss
 * cannot take it, or does not within `timeout`, the job runs in place (with the
 * engine's retries) rather than being lost. Throws a `CacheDefinitionError` for a
 * `rowsPerJob` or `attempts` below 1.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import PgBoss from "pg-boss"
 * import { PgBossDispatcher } from "@cachefx/pg-boss"
 *
 * declare const boss: PgBoss
 * const program = Effect.scoped(Effect.map(PgBossDispatcher.make({ boss }), (dispatcher) => dispatcher.name))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: BrokerJob.MakeDispatcher<Options> = internal.make

/**
 * The dispatcher as a layer, under `Dispatcher.tag(name)`.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { Cached, CacheStore, InvalidationEngine, InvalidationRule, KeyConstructor, KeyField } from "@cachefx/core"
 * import { PgBossDispatcher } from "@cachefx/pg-boss"
 *
 * const getUser = Cached.cached({
 *   key: KeyConstructor.make({ namespace: "users", fields: [KeyField.arg("id")] }),
 *   invalidatesOn: [
 *     InvalidationRule.make({ table: "users", fieldMapping: { id: "id" }, dispatcher: "pg-boss", dispatcherConfig: { queue: "users" } })
 *   ]
 * })((input: { readonly id: number }) => Effect.succeed({ id: input.id }))
 *
 * const Live = Layer.unwrapScoped(Effect.map(
 *   PgBossDispatcher.start({ connectionString: "postgres://postgres@127.0.0.1/app" }),
 *   (boss) => InvalidationEngine.layer({ caches: [getUser] }).pipe(Layer.provide(PgBossDispatcher.layer({ boss })))
 * )).pipe(Layer.provideMerge(CacheStore.layerMemory()))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: BrokerJob.DispatcherLayer<Options, "pg-boss"> = BrokerJob.dispatcherLayer("pg-boss", make)

/**
 * Options of `layerConfig`, each read from `Config`: the connection string and schema
 * of the pg-boss client the layer starts, and the options of `make` but the client and
 * the name.
 *
 * @example
 * ```ts
 * import { Redacted } from "effect"
 * import type { PgBossDispatcher } from "@cachefx/pg-boss"
 *
 * const options: PgBossDispatcher.ConfigOptions = { url: Redacted.make("postgres://postgres@127.0.0.1:5432/app"), attempts: 3 }
 * ```
 *
 * @since 0.3.0
 * @category models
 */
export interface ConfigOptions extends BrokerJob.ConfigOptions<Options, "boss"> {
  /** pg-boss's schema. Default `"pgboss"`. */
  readonly schema?: string | undefined
}

/**
 * The dispatcher over a pg-boss client started when the layer is built and stopped with
 * it; its options are read from `Config` (`Config.Wrap`; a `rowsPerJob` or `attempts`
 * below 1 is a `ConfigError`), its name is given in code (rules name it).
 *
 * @example
 * ```ts
 * import { Config, Layer } from "effect"
 * import { Cached, InvalidationEngine } from "@cachefx/core"
 * import { PgBossDispatcher } from "@cachefx/pg-boss"
 *
 * declare const getUser: Cached.Cached.Any
 *
 * const Invalidation = InvalidationEngine.layer({ caches: [getUser] }).pipe(
 *   Layer.provide(PgBossDispatcher.layerConfig({ url: Config.redacted("PGBOSS_URL"), queue: Config.succeed("cache-invalidation") }))
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig: BrokerJob.DispatcherLayerConfig<ConfigOptions, "pg-boss", BrokerJob.BrokerError> = internal.layerConfig

/**
 * Inserts a job (split by `rowsPerJob`) into a queue, creating the queue if needed;
 * gives the pg-boss ids. With `db`, the insert runs on that executor: pass the
 * transaction of the write (see `executor`) and the job commits or rolls back with it.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import PgBoss from "pg-boss"
 * import type { PoolClient } from "pg"
 * import { InvalidationEvent } from "@cachefx/core"
 * import { PgBossDispatcher } from "@cachefx/pg-boss"
 *
 * declare const boss: PgBoss
 * declare const tx: PoolClient // inside BEGIN … COMMIT, after the UPDATE
 *
 * const enqueue = PgBossDispatcher.send(boss, {
 *   cache: "users",
 *   rule: "users(id=id)",
 *   event: InvalidationEvent.make({ table: "users", operation: "update", rows: [{ id: 1 }] })
 * }, { db: PgBossDispatcher.executor(tx) })
 * ```
 *
 * @since 0.1.0
 * @category sending
 */
export const send: (
  boss: PgBoss,
  job: Dispatcher.Job,
  options?: SendOptions
) => Effect.Effect<ReadonlyArray<string>, BrokerJob.BrokerError> = internal.send

/**
 * Something that runs SQL with positional parameters, such as a `pg` client.
 *
 * @example
 * ```ts
 * import type { PoolClient } from "pg"
 * import type { PgBossDispatcher } from "@cachefx/pg-boss"
 *
 * declare const client: PoolClient
 * const queryable: PgBossDispatcher.Queryable = client
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Queryable {
  readonly query: (text: string, values: Array<unknown>) => Promise<{ readonly rows: Array<unknown> }>
}

/**
 * The pg-boss executor of a client: `send(…, { db: executor(tx) })` inserts on the
 * client's connection, inside its open transaction.
 *
 * @example
 * ```ts
 * import type { PoolClient } from "pg"
 * import { PgBossDispatcher } from "@cachefx/pg-boss"
 *
 * declare const tx: PoolClient
 * const db = PgBossDispatcher.executor(tx)
 * ```
 *
 * @since 0.1.0
 * @category sending
 */
export const executor: (client: Queryable) => PgBoss.Db = internal.executor

/**
 * Starts a pg-boss client in a scope and stops it when the scope closes. pg-boss
 * installs its schema on first start; its maintenance (which expires the jobs of dead
 * workers) runs every `maintenanceIntervalSeconds` in the clients that `supervise`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { PgBossDispatcher } from "@cachefx/pg-boss"
 *
 * const program = Effect.scoped(Effect.flatMap(
 *   PgBossDispatcher.start({ connectionString: "postgres://postgres@127.0.0.1/app", schema: "pgboss" }),
 *   (boss) => Effect.promise(() => boss.getQueues())
 * ))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const start: (options: PgBoss.ConstructorOptions) => Effect.Effect<PgBoss, BrokerJob.BrokerError, Scope.Scope> =
  internal.start

/**
 * Options of `deadLetters`, those of every broker package (`BrokerJob.DeadLetterOptions`:
 * `queue`, default `"cachefx-invalidation"`; `count`, default 100) and pg-boss's schema
 * (default `"pgboss"`).
 *
 * @example
 * ```ts
 * import type { PgBossDispatcher } from "@cachefx/pg-boss"
 *
 * const options: PgBossDispatcher.DeadLetterOptions = { queue: "users", schema: "jobs", count: 10 }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface DeadLetterOptions extends BrokerJob.DeadLetterOptions {
  readonly schema?: string | undefined
}

/**
 * Reads the dead letters waiting in a queue's dead-letter queue (`<queue>-dead`), newest
 * first, without taking them. To run one again, take it with `boss.fetch("<queue>-dead")`
 * and `send` its `job`; to drop them, `boss.purgeQueue`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import PgBoss from "pg-boss"
 * import { PgBossDispatcher } from "@cachefx/pg-boss"
 *
 * declare const boss: PgBoss
 * const report = Effect.map(PgBossDispatcher.deadLetters(boss, { queue: "users" }), (letters) =>
 *   letters.map((letter) => `${letter.id}: ${letter.reason}`))
 * ```
 *
 * @since 0.1.0
 * @category dead letters
 */
export const deadLetters: BrokerJob.ReadDeadLetters<PgBoss, DeadLetterOptions> = internal.deadLetters
