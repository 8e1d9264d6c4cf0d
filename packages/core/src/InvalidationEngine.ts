/**
 * The `InvalidationEngine` turns invalidation events into work. Built from the list of
 * cached values, it checks every rule (inputs, columns, dispatcher) when its layer is
 * built, indexes the rules by table, consumes the `InvalidationBus`, makes one job per
 * event and matching rule, and hands each job to its rule's dispatcher. A job deletes
 * keys, wipes partitions or namespaces through the cached value's own `delete`,
 * `deletePartition`, `invalidateAll` and `refresh`, so a read after it never joins a
 * computation that began before it.
 *
 * A job that fails is retried on a `Schedule`, then logged and counted
 * (`CacheMetrics.invalidationFailures`); it never fails the write that caused it. A job
 * that failed because the store did not answer is then remembered and applied once the
 * store answers again (past a bound, its namespace is wiped instead): see `replay`.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import type * as Cached from "./Cached.js"
import type { CacheError } from "./CacheError.js"
import type { CacheStore } from "./CacheStore.js"
import type * as Dispatcher from "./Dispatcher.js"
import * as description from "./internal/engineDescription.js"
import * as internal from "./internal/invalidationEngine.js"
import type { InvalidationBus } from "./InvalidationBus.js"
import type * as InvalidationEvent from "./InvalidationEvent.js"
import type { InvalidationRuleError } from "./InvalidationRule.js"

/**
 * @example
 * ```ts
 * import type { Dispatcher, InvalidationEngine } from "@cachefx/core"
 *
 * const worker = (engine: InvalidationEngine.Service, job: Dispatcher.Job) => engine.run(job)
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /**
   * Runs one job once, in this process, without retrying: what a broker dispatcher's
   * worker calls. Fails with an `InvalidationRuleError` when the job names a cached
   * value or rule this engine does not have.
   */
  readonly run: (job: Dispatcher.Job) => Effect.Effect<void, InvalidationRuleError | CacheError>
  /**
   * The cached values the engine serves, each once: the application's one declaration of
   * them, which `DrizzleHooks.instrument` reads when it is given none (since 0.2.0). A
   * cached value with rules that runs where the engine does not serve it logs a warning
   * and counts `CacheMetrics.unregisteredCaches`.
   */
  readonly caches: ReadonlyArray<Cached.Cached.Any>
}

/**
 * The engine service.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Dispatcher, InvalidationEngine } from "@cachefx/core"
 *
 * // in a broker worker
 * const onMessage = (job: Dispatcher.Job) => Effect.flatMap(InvalidationEngine.InvalidationEngine, (engine) => engine.run(job))
 * ```
 *
 * @since 0.1.0
 * @category tags
 */
export class InvalidationEngine extends Context.Tag("@cachefx/core/InvalidationEngine")<
  InvalidationEngine,
  Service
>() {}

/**
 * Options of the engine.
 *
 * @example
 * ```ts
 * import { Schedule } from "effect"
 * import type { Cached, InvalidationEngine } from "@cachefx/core"
 *
 * declare const getUser: Cached.Cached.Any
 *
 * const options: InvalidationEngine.Options = { caches: [getUser], retry: Schedule.spaced("1 second").pipe(Schedule.upTo("10 seconds")) }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The cached values whose `invalidatesOn` rules the engine applies. */
  readonly caches: ReadonlyArray<Cached.Cached.Any>
  /** How a failed job is retried. Default: 4 retries, 100 ms doubling. */
  readonly retry?: Schedule.Schedule<unknown, unknown> | undefined
  /**
   * What becomes of a job that ran out of retries because the store did not answer: the
   * engine remembers it (up to `capacity` jobs, default 10,000) and tries it again every
   * `interval` (default 500 ms, doubled while the store does not answer, up to
   * `maxInterval`, default 5 seconds) until it is applied. Past `capacity`, it wipes the
   * namespace of each cached value whose job it could not remember instead. Kept in this
   * process only (since 0.2.0).
   */
  readonly replay?: {
    readonly capacity?: number | undefined
    readonly interval?: Duration.DurationInput | undefined
    readonly maxInterval?: Duration.DurationInput | undefined
  } | undefined
  /**
   * The dispatcher of every rule that names none (Restflow's default dispatcher
   * setting): `"inline"` by default; any name a provided layer serves
   * (`Dispatcher.layerPool`, `Dispatcher.layerBackground`, a broker's), checked when the
   * engine is built (since 0.4.0).
   */
  readonly dispatcher?: string | undefined
  /**
   * One dispatch for all of a write's rules (Restflow's batch): the rules one event
   * matches that share a dispatcher and its config go to it as one job, which applies
   * them one after the other (a broker carries one message instead of one per rule). Off
   * by default: each rule is a job of its own, retried and counted alone (since 0.4.0).
   */
  readonly batch?: boolean | undefined
}

/**
 * Two different cached values given to the engine share a name. Jobs, logs and metrics
 * name a cached value by its name (given with `cached({ name })`, else its key's
 * namespace), so each must be unique to the engine; raised when the engine is built.
 *
 * @example
 * ```ts
 * import { InvalidationEngine } from "@cachefx/core"
 *
 * const error = new InvalidationEngine.CacheNameError({ name: "posts", namespaces: ["posts", "posts"] })
 * console.log(error.message)
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class CacheNameError extends Data.TaggedError("CacheNameError")<{
  readonly name: string
  /** The key namespaces of the two cached values. */
  readonly namespaces: readonly [string, string]
}> {
  override get message(): string {
    const [first, second] = this.namespaces
    return `Two cached values given to the engine are named "${this.name}" (one on key namespace "${first}", ` +
      `the other on "${second}"); give each its own name (cached({ name }))`
  }
}

/**
 * Makes the engine in a scope and starts consuming the bus. When the scope closes it
 * handles the events still on the bus and waits for the events it is handling.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Cached, InvalidationEngine } from "@cachefx/core"
 *
 * declare const getUser: Cached.Cached.Any
 *
 * const program = Effect.scoped(InvalidationEngine.make({ caches: [getUser] }))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (
  options: Options
) => Effect.Effect<Service, InvalidationRuleError | CacheNameError, CacheStore | InvalidationBus | Scope.Scope> =
  internal.make

/**
 * The engine and its bus as a layer. Provide the dispatchers its rules name (and the
 * services their keys read) to it.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { Cached, CacheStore, Dispatcher, InvalidationEngine, InvalidationRule, KeyConstructor, KeyField } from "@cachefx/core"
 *
 * const getUser = Cached.cached({
 *   key: KeyConstructor.make({ namespace: "users", fields: [KeyField.arg("id")] }),
 *   invalidatesOn: [InvalidationRule.make({ table: "users", fieldMapping: { id: "id" }, dispatcher: "pool" })]
 * })((input: { readonly id: number }) => Effect.succeed({ id: input.id }))
 *
 * const Live = InvalidationEngine.layer({ caches: [getUser] }).pipe(
 *   Layer.provide(Dispatcher.layerPool({ concurrency: 4 })),
 *   Layer.provideMerge(CacheStore.layerMemory())
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: (
  options: Options
) => Layer.Layer<InvalidationEngine | InvalidationBus, InvalidationRuleError | CacheNameError, CacheStore> =
  internal.layer

/**
 * Runs one job once with the engine in context (see `Service.run`).
 *
 * @example
 * ```ts
 * import { Dispatcher, InvalidationEngine, InvalidationEvent } from "@cachefx/core"
 *
 * const job: Dispatcher.Job = {
 *   cache: "users",
 *   rule: "users(id=id)",
 *   event: InvalidationEvent.make({ table: "users", operation: "delete", rows: [{ id: 1 }] })
 * }
 * const program = InvalidationEngine.run(job)
 * ```
 *
 * @since 0.1.0
 * @category running
 */
export const run = (
  job: Dispatcher.Job
): Effect.Effect<void, InvalidationRuleError | CacheError, InvalidationEngine> =>
  Effect.flatMap(InvalidationEngine, (engine) => engine.run(job))

/**
 * One rule in a `Description`: the rule, the cached value it belongs to, what it reads
 * and the dispatcher that runs its jobs.
 *
 * @example
 * ```ts
 * import type { InvalidationEngine } from "@cachefx/core"
 *
 * const line = (rule: InvalidationEngine.RuleDescription) => `${rule.rule} → ${rule.cache} on ${rule.dispatcher}`
 * ```
 *
 * @since 0.1.0
 * @category introspection
 */
export interface RuleDescription {
  readonly rule: string
  /** The cached value's name. */
  readonly cache: string
  /** The namespace of its key. */
  readonly namespace: string
  readonly kind: "fieldMapping" | "custom"
  /** Input name → the database name of its column (a Drizzle property name resolved); empty for a custom rule. */
  readonly fieldMapping: Readonly<Record<string, string>>
  readonly on: ReadonlyArray<InvalidationEvent.Operation>
  readonly rewarm: boolean
  /** Whether the rule invalidates softly, its entries stale instead of gone (since 0.2.0). */
  readonly soft: boolean
  readonly dispatcher: string
}

/**
 * What an engine would do, as data: each table (by name) with the rules that react to
 * it, their cached values and their dispatchers.
 *
 * @example
 * ```ts
 * import type { InvalidationEngine } from "@cachefx/core"
 *
 * const tables = (description: InvalidationEngine.Description) => description.tables.map((table) => table.table)
 * ```
 *
 * @since 0.1.0
 * @category introspection
 */
export interface Description {
  readonly tables: ReadonlyArray<{ readonly table: string; readonly rules: ReadonlyArray<RuleDescription> }>
}

/**
 * Describes the engine that `options` would build: tables → rules → cached values →
 * dispatchers, tables sorted by name. Pure: it builds nothing and checks nothing (the
 * engine's layer does), so it runs without a store, e.g. in `npx cachefx rules`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Cached, InvalidationEngine, InvalidationRule, KeyConstructor, KeyField } from "@cachefx/core"
 *
 * const getUser = Cached.cached({
 *   key: KeyConstructor.make({ namespace: "users", fields: [KeyField.arg("id")] }),
 *   invalidatesOn: [InvalidationRule.make({ table: "users", fieldMapping: { id: "id" } })]
 * })((input: { readonly id: number }) => Effect.succeed(input.id))
 *
 * console.log(InvalidationEngine.describe({ caches: [getUser] }).tables[0]?.rules[0]?.dispatcher) // "inline"
 * ```
 *
 * @since 0.1.0
 * @category introspection
 */
export const describe: (options: Options) => Description = description.describe
