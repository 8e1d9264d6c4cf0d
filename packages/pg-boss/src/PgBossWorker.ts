/**
 * The consumer side of `PgBossDispatcher`: takes jobs from a pg-boss queue, decodes
 * each `Dispatcher.Job` and runs it with the `InvalidationEngine` of this process (so
 * against the store of the cached values the engine was given). A job that succeeds is
 * completed; one that fails is failed with its reason, and pg-boss retries it with
 * backoff and then moves it to `<queue>-dead`. A job that no retry can mend (it does
 * not decode, or names a cached value or rule this process does not have) goes to the
 * dead-letter queue at once. A worker that dies mid-job leaves the job active: once it
 * expires, pg-boss's maintenance retries it, on this worker or another.
 *
 * @since 0.1.0
 */
import { BrokerJob } from "@cachefx/core"
import type * as Duration from "effect/Duration"
import type PgBoss from "pg-boss"
import * as internal from "./internal/worker.js"

/**
 * Options of the worker: a started pg-boss client, the queue (default
 * `"cachefx-invalidation"`), how many jobs it fetches and runs at once
 * (`BrokerJob.ConsumerOptions`, default 8), how long it waits when the queue is empty
 * (default 500 ms) and pg-boss's schema (default `"pgboss"`). Retries, backoff and
 * expiry go with each job (`PgBossDispatcher.JobPolicy`).
 *
 * @example
 * ```ts
 * import PgBoss from "pg-boss"
 * import type { PgBossWorker } from "@cachefx/pg-boss"
 *
 * declare const boss: PgBoss
 * const options: PgBossWorker.Options = { boss, queue: "users", concurrency: 16, pollInterval: "200 millis" }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Options extends BrokerJob.ConsumerOptions {
  readonly boss: PgBoss
  readonly queue?: string | undefined
  readonly pollInterval?: Duration.DurationInput | undefined
  readonly schema?: string | undefined
}

/**
 * Starts a worker in a scope. When the scope closes it finishes the jobs it holds and
 * stops taking more. Throws a `CacheDefinitionError` for a `concurrency` below 1 or a
 * `schema` that is not a plain PostgreSQL name.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import PgBoss from "pg-boss"
 * import { PgBossWorker } from "@cachefx/pg-boss"
 *
 * declare const boss: PgBoss
 * const program = Effect.scoped(Effect.zipRight(PgBossWorker.make({ boss }), Effect.never))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: BrokerJob.MakeWorker<Options> = internal.make

/**
 * The worker as a layer: provide it the `InvalidationEngine` (built from the same cached
 * values as the producer's, over the store the worker should invalidate).
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { Cached, CacheStore, InvalidationEngine } from "@cachefx/core"
 * import { PgBossDispatcher, PgBossWorker } from "@cachefx/pg-boss"
 *
 * declare const getUser: Cached.Cached.Any
 *
 * const WorkerLive = Layer.unwrapScoped(Effect.map(
 *   PgBossDispatcher.start({ connectionString: "postgres://postgres@127.0.0.1/app" }),
 *   (boss) =>
 *     PgBossWorker.layer({ boss, queue: "users" }).pipe(
 *       Layer.provide(InvalidationEngine.layer({ caches: [getUser] })),
 *       Layer.provide(PgBossDispatcher.layer({ boss })) // the engine checks that its rules' dispatchers exist
 *     )
 * )).pipe(Layer.provide(CacheStore.layerMemory()))
 * const main = Layer.launch(WorkerLive)
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: BrokerJob.WorkerLayer<Options> = BrokerJob.workerLayer(make)

/**
 * Options of `layerConfig`, each read from `Config`: the connection string of the
 * pg-boss client the layer starts (in `schema`), and the options of `make` but the client.
 *
 * @example
 * ```ts
 * import { Redacted } from "effect"
 * import type { PgBossWorker } from "@cachefx/pg-boss"
 *
 * const options: PgBossWorker.ConfigOptions = { url: Redacted.make("postgres://postgres@127.0.0.1:5432/app"), concurrency: 20 }
 * ```
 *
 * @since 0.3.0
 * @category models
 */
export interface ConfigOptions extends BrokerJob.ConfigOptions<Options, "boss"> {}

/**
 * The worker over a pg-boss client started when the layer is built and stopped with it;
 * its options are read from `Config` (`Config.Wrap`; a `concurrency` below 1 or a schema
 * that is not an SQL identifier is a `ConfigError`).
 *
 * @example
 * ```ts
 * import { Config, Layer } from "effect"
 * import { Cached, CacheStore, InvalidationEngine } from "@cachefx/core"
 * import { PgBossDispatcher, PgBossWorker } from "@cachefx/pg-boss"
 *
 * declare const getUser: Cached.Cached.Any
 *
 * const url = Config.redacted("PGBOSS_URL")
 * const WorkerLive = PgBossWorker.layerConfig({ url, concurrency: Config.integer("WORKER_CONCURRENCY") }).pipe(
 *   Layer.provide(InvalidationEngine.layer({ caches: [getUser] })),
 *   Layer.provide(PgBossDispatcher.layerConfig({ url })),
 *   Layer.provide(CacheStore.layerMemory())
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig: BrokerJob.WorkerLayerConfig<ConfigOptions> = internal.layerConfig
