/**
 * A `Dispatcher` runs invalidation jobs. Each rule names one (`inline` by default); the
 * application provides the others as layers at startup, and the `InvalidationEngine`
 * fails to build when a rule names one that no layer provides.
 *
 * - `inline` (always present): runs the job before `Invalidation.publish` returns.
 * - `pool` (`layerPool`): a queue served by a bounded number of worker fibers; when its
 *   layer closes, it runs every queued job before closing.
 * - `background` (`layerBackground`): forks each job; when its layer closes, it waits
 *   for the jobs still running.
 *
 * Broker packages implement `Dispatcher` over a queue: a `Job` is a Schema (the cached
 * value's name, the rule's name and the event), so it crosses a wire, and a worker runs
 * it with `InvalidationEngine.run`.
 *
 * @since 0.1.0
 */
import type * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as config from "./internal/config.js"
import * as internal from "./internal/dispatcher.js"
import { InvalidationEvent } from "./InvalidationEvent.js"

/**
 * One rule's work for one event: the cached value's `name`, the rule's `name` and the
 * event (and, batched, the other rules it matched). No closures, so any broker can carry it.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Dispatcher, InvalidationEvent } from "@cachefx/core"
 *
 * const job: Dispatcher.Job = {
 *   cache: "users",
 *   rule: "users(id=id)",
 *   event: InvalidationEvent.make({ table: "users", operation: "delete", rows: [{ id: 1 }] })
 * }
 * const json = JSON.stringify(Schema.encodeSync(Dispatcher.Job)(job))
 * ```
 *
 * @since 0.1.0
 * @category schemas
 */
export const Job = Schema.Struct({
  cache: Schema.String,
  rule: Schema.String,
  event: InvalidationEvent,
  /**
   * With `InvalidationEngine`'s `batch`: the other rules the event matched that share
   * this job's dispatcher, applied after this one by the same job (since 0.4.0).
   */
  batch: Schema.optional(Schema.Array(Schema.Struct({ cache: Schema.String, rule: Schema.String })))
})

/**
 * @example
 * ```ts
 * import type { Dispatcher } from "@cachefx/core"
 *
 * const describe = (job: Dispatcher.Job) => `${job.cache} / ${job.rule} on ${job.event.table}`
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Job extends Schema.Schema.Type<typeof Job> {}

/**
 * What a dispatcher receives: the job, the rule's `dispatcherConfig`, and `run`, which
 * runs the job in this process (with retries; it never fails). In-process dispatchers
 * run `run`; broker dispatchers enqueue `job` and ignore it.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import type { Dispatcher } from "@cachefx/core"
 *
 * const timed = (dispatch: Dispatcher.Dispatch) => Effect.timed(dispatch.run)
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Dispatch {
  readonly job: Job
  readonly config: Readonly<Record<string, unknown>>
  readonly run: Effect.Effect<void>
}

/**
 * A dispatcher. `dispatch` returns once the job is done (inline) or handed over; it
 * must not fail: a broker that cannot take a job should run it in place.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import type { Dispatcher } from "@cachefx/core"
 *
 * const logging: Dispatcher.Dispatcher = {
 *   name: "logging",
 *   dispatch: ({ job, run }) => Effect.zipRight(Effect.log(`invalidating ${job.cache}`), run)
 * }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Dispatcher {
  readonly name: string
  readonly dispatch: (dispatch: Dispatch) => Effect.Effect<void>
  /**
   * Whether `dispatch` hands jobs to a durable queue (a broker, whose workers retry
   * them): a job then counts as applied once `dispatch` returns, and the outbox row of
   * its event may go. Otherwise a job counts as applied once its `run` has applied it
   * (since 0.2.0). Default false.
   */
  readonly durable?: boolean | undefined
}

/**
 * The service identifier of the dispatcher named `N`.
 *
 * @example
 * ```ts
 * import type { Layer } from "effect"
 * import type { Dispatcher } from "@cachefx/core"
 *
 * type PoolLayer = Layer.Layer<Dispatcher.Named<"pool">>
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Named<N extends string> {
  readonly _tag: "Dispatcher"
  readonly name: N
}

/**
 * The tag of the dispatcher with a given name. Tags of one name are equal, so a layer
 * built with `Layer.succeed(Dispatcher.tag("bullmq"), …)` is found by rules naming
 * `"bullmq"`.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { Dispatcher } from "@cachefx/core"
 *
 * const layerLogging = Layer.succeed(Dispatcher.tag("logging"), {
 *   name: "logging",
 *   dispatch: ({ job, run }) => Effect.zipRight(Effect.log(`job ${job.rule}`), run)
 * })
 * ```
 *
 * @since 0.1.0
 * @category tags
 */
export const tag = <const N extends string>(name: N): Context.Tag<Named<N>, Dispatcher> =>
  Context.GenericTag<Named<N>, Dispatcher>(`@cachefx/core/Dispatcher/${name}`)

/**
 * The `inline` dispatcher: runs each job in place.
 *
 * @example
 * ```ts
 * import { Dispatcher } from "@cachefx/core"
 *
 * console.log(Dispatcher.inline.name) // "inline"
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const inline: Dispatcher = internal.inline

/**
 * Options of the pool dispatcher.
 *
 * @example
 * ```ts
 * import type { Dispatcher } from "@cachefx/core"
 *
 * const options: Dispatcher.PoolOptions<"slow"> = { concurrency: 2, name: "slow" }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface PoolOptions<N extends string> {
  /** How many jobs run at once. */
  readonly concurrency: number
  /** The name rules use. Default `"pool"`. */
  readonly name?: N | undefined
}

/**
 * Makes a pool dispatcher in a scope: jobs wait in an unbounded queue and `concurrency`
 * worker fibers run them. When the scope closes, the queued jobs run before it closes;
 * jobs dispatched while it closes run in place.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Dispatcher } from "@cachefx/core"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const pool = yield* Dispatcher.makePool({ concurrency: 4 })
 *   console.log(pool.name) // "pool"
 * }))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const makePool: <const N extends string = "pool">(
  options: PoolOptions<N>
) => Effect.Effect<Dispatcher, never, Scope.Scope> = internal.makePool

/**
 * The pool dispatcher as a layer.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { Cached, Dispatcher, InvalidationEngine } from "@cachefx/core"
 *
 * declare const getUser: Cached.Cached.Any
 *
 * const Invalidation = InvalidationEngine.layer({ caches: [getUser] }).pipe(
 *   Layer.provide(Dispatcher.layerPool({ concurrency: 8 }))
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerPool = <const N extends string = "pool">(options: PoolOptions<N>): Layer.Layer<Named<N>> =>
  Layer.scoped(tag<N>(options.name ?? ("pool" as N)), internal.makePool(options))

/**
 * The pool dispatcher as a layer, its options read from `Config` (`Config.Wrap`), its
 * name given in code (rules name it).
 *
 * @example
 * ```ts
 * import { Config, Layer } from "effect"
 * import { Cached, Dispatcher, InvalidationEngine } from "@cachefx/core"
 *
 * declare const getUser: Cached.Cached.Any
 *
 * const Invalidation = InvalidationEngine.layer({ caches: [getUser] }).pipe(
 *   Layer.provide(Dispatcher.layerPoolConfig({ concurrency: Config.withDefault(Config.integer("INVALIDATION_CONCURRENCY"), 8) }))
 * )
 * ```
 *
 * @since 0.3.0
 * @category layers
 */
export const layerPoolConfig = <const N extends string = "pool">(
  options: Config.Config.Wrap<Omit<PoolOptions<N>, "name">>,
  name?: N
): Layer.Layer<Named<N>, ConfigError.ConfigError> =>
  Layer.unwrapEffect(config.unwrapWith(options, (options) => layerPool<N>({ ...options, name })))

/**
 * Makes a background dispatcher in a scope: each job is forked; when the scope closes,
 * it waits for the jobs still running.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Dispatcher } from "@cachefx/core"
 *
 * const program = Effect.scoped(Effect.map(Dispatcher.makeBackground, (dispatcher) => dispatcher.name))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeBackground: Effect.Effect<Dispatcher, never, Scope.Scope> = internal.makeBackground

/**
 * The background dispatcher as a layer, named `"background"`.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { Cached, Dispatcher, InvalidationEngine } from "@cachefx/core"
 *
 * declare const getUser: Cached.Cached.Any
 *
 * const Invalidation = InvalidationEngine.layer({ caches: [getUser] }).pipe(
 *   Layer.provide(Dispatcher.layerBackground)
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerBackground: Layer.Layer<Named<"background">> = Layer.scoped(tag("background"), makeBackground)
