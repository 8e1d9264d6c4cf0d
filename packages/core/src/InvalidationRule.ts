/**
 * An `InvalidationRule` says which entries of a cached value a write to a table makes
 * stale. Rules are given to `cached({ invalidatesOn: [...] })` and applied by the
 * `InvalidationEngine`. For each row an event carries, `fieldMapping` builds the cached
 * function's input from the row's columns, and then:
 * - every key field resolved: the exact key is deleted (or recomputed, with `rewarm`);
 * - the partition fields resolved: the partition is wiped;
 * - otherwise: the namespace is wiped.
 * Partitions and namespaces are the cached value's own (one named apart from its
 * constructor's namespace has a namespace of its own): a rule never wipes another
 * cached value's entries.
 *
 * A rule made with `soft: true` invalidates softly: the entries it reaches become stale
 * instead of gone, so a cached value whose TTL has a stale-while-revalidate window
 * serves each once more while one refresh runs.
 *
 * An update invalidates what the row addressed before and after it, so a row that moves
 * (a post given to another author) leaves no stale entry behind.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import type * as Effect from "effect/Effect"
import type * as Either from "effect/Either"
import type * as Option from "effect/Option"
import type { CacheDefinitionError, CacheError } from "./CacheError.js"
import * as internal from "./internal/invalidationRule.js"
import type * as InvalidationEvent from "./InvalidationEvent.js"

/**
 * @since 0.1.0
 * @category type ids
 */
export const TypeId: unique symbol = internal.TypeId

/**
 * @since 0.1.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * A column: its database name, its property name on a Drizzle table, or a Drizzle
 * column object.
 *
 * @example
 * ```ts
 * import { integer, pgTable } from "drizzle-orm/pg-core"
 * import type { InvalidationRule } from "@cachefx/core"
 *
 * const users = pgTable("users", { orgId: integer("org_id") })
 * const columns: ReadonlyArray<InvalidationRule.Column> = [users.orgId, "orgId", "org_id"] // one column, three ways
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type Column = string | { readonly name: string; readonly table: unknown }

/**
 * One row of an event, as `when` sees it. `row` is the row written (absent when the
 * event does not know its rows), `before` the row before an update where known, and
 * `changed` the columns the write changed where known (given by the event, or found by
 * comparing `before` and `row`).
 *
 * @example
 * ```ts
 * import { Effect, Option } from "effect"
 * import type { InvalidationRule } from "@cachefx/core"
 *
 * const wasOrIsPublic = (change: InvalidationRule.Change) =>
 *   Effect.succeed([change.row, change.before].some(Option.exists((row) => row.visibility === "public")))
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Change {
  readonly event: InvalidationEvent.InvalidationEvent
  readonly row: Option.Option<InvalidationEvent.Row>
  readonly before: Option.Option<InvalidationEvent.Row>
  readonly changed: Option.Option<ReadonlyArray<string>>
}

/**
 * Options of `make`.
 *
 * @example
 * ```ts
 * import type { InvalidationRule } from "@cachefx/core"
 *
 * const options: InvalidationRule.Options = { table: "users", fieldMapping: { userId: "id" }, on: ["update", "delete"] }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** A Drizzle table, or a table name. */
  readonly table: string | object
  /** The cached function's input names, each with the column it is read from. */
  readonly fieldMapping: Readonly<Record<string, Column>>
  /** An update that changes none of these columns does nothing. Default: any change counts. */
  readonly watchFields?: ReadonlyArray<Column> | undefined
  /** The operations the rule reacts to. Default: all. */
  readonly on?: ReadonlyArray<InvalidationEvent.Operation> | undefined
  /** A predicate over each changed row: when it gives false, the row is ignored. */
  readonly when?: ((change: Change) => Effect.Effect<boolean>) | undefined
  /** Recompute an exact key instead of deleting it (falls back to delete). Default false. */
  readonly rewarm?: boolean | undefined
  /**
   * Invalidate softly: the keys, partitions and namespaces the rule reaches keep their
   * entries as stale values, served (with a stale-while-revalidate TTL) while one
   * refresh runs; without such a window they are misses. A key the rule rewarms is
   * deleted and recomputed as without it. Default false.
   *
   * @since 0.2.0
   */
  readonly soft?: boolean | undefined
  /**
   * What a row that lacks a mapped column does: `"wipe"` invalidates the widest scope
   * the present columns still address (the partition, else the namespace), `"skip"`
   * ignores that row. Default `"wipe"`.
   */
  readonly requireInputs?: "wipe" | "skip" | undefined
  /** The name of the dispatcher that runs the rule's jobs. Default `"inline"`. */
  readonly dispatcher?: string | undefined
  /** Settings handed to the dispatcher with each job (a broker queue name, …). */
  readonly dispatcherConfig?: Readonly<Record<string, unknown>> | undefined
  /** The rule's name in jobs, logs and metrics. Default: `<table>(<input>=<column>,…)`. */
  readonly name?: string | undefined
}

/**
 * A rule. Its `name` is derived from what it does, not from where it is declared, so a
 * job made by one process names the same rule in every process that runs the same code.
 *
 * @example
 * ```ts
 * import { InvalidationRule } from "@cachefx/core"
 *
 * const rule = InvalidationRule.make({ table: "users", fieldMapping: { userId: "id" } })
 * console.log(rule.name) // "users(userId=id)"
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface InvalidationRule {
  readonly [TypeId]: TypeId
  readonly name: string
  /** The table's name. */
  readonly table: string
  readonly options: Options
  /** The invalidator of a rule made by `custom`, run for each changed row instead of `fieldMapping`. */
  readonly run: Option.Option<Invalidator>
}

/**
 * The cached value a custom invalidator works on, with the engine's services provided.
 * Inputs are the cached function's inputs; like a rule's own jobs, an input that does
 * not build the key (or partition) wipes the next wider scope instead, and each
 * operation is counted in the invalidation metrics.
 *
 * @example
 * ```ts
 * import type { InvalidationRule } from "@cachefx/core"
 *
 * const wipeAuthor = (cached: InvalidationRule.Handle, authorId: number) => cached.deletePartition({ authorId })
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Handle {
  /** The cached value's name. */
  readonly name: string
  readonly delete: (input: Readonly<Record<string, unknown>>) => Effect.Effect<void, CacheError>
  readonly deletePartition: (input: Readonly<Record<string, unknown>>) => Effect.Effect<void, CacheError>
  /** Wipes every entry of this cached value (its own namespace). */
  readonly invalidateAll: Effect.Effect<void, CacheError>
  /** Deletes a key, then recomputes and stores it; a failed recomputation leaves it deleted, and says so. */
  readonly refresh: (input: Readonly<Record<string, unknown>>) => Effect.Effect<void, CacheError>
}

/**
 * A custom invalidator: given one changed row and the cached value, it invalidates what
 * the change makes stale. A failure (the store's) fails the job, which is retried.
 *
 * @example
 * ```ts
 * import { Effect, Option } from "effect"
 * import type { InvalidationRule } from "@cachefx/core"
 *
 * const byTag: InvalidationRule.Invalidator = (change, cached) =>
 *   Effect.forEach(Option.toArray(change.row), (row) => cached.deletePartition({ tag: row.tag }), { discard: true })
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type Invalidator = (change: Change, cached: Handle) => Effect.Effect<void, CacheError>

/**
 * Options of `custom`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import type { InvalidationRule } from "@cachefx/core"
 *
 * const options: InvalidationRule.CustomOptions = { table: "tags", name: "tags(all)", run: (_, cached) => cached.invalidateAll }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface CustomOptions {
  /** A Drizzle table, or a table name. */
  readonly table: string | object
  /** Runs for each changed row of an event (once, without a row, for an event that does not know its rows). */
  readonly run: Invalidator
  /** The operations the rule reacts to. Default: all. */
  readonly on?: ReadonlyArray<InvalidationEvent.Operation> | undefined
  /** The rule's name in jobs, logs and metrics. Default: `<table>(custom)`. */
  readonly name?: string | undefined
  /** The name of the dispatcher that runs the rule's jobs. Default `"inline"`. */
  readonly dispatcher?: string | undefined
  /** Settings handed to the dispatcher with each job (a broker queue name, …). */
  readonly dispatcherConfig?: Readonly<Record<string, unknown>> | undefined
  /**
   * The handle's `delete`, `deletePartition` and `invalidateAll` invalidate softly, as
   * those of a rule made with `soft: true`. Default false.
   *
   * @since 0.2.0
   */
  readonly soft?: boolean | undefined
}

/**
 * A rule does not fit the cached value it is given to (an input its key does not read,
 * a column its table does not have, a dispatcher no layer provides), or a job names a
 * cached value or rule the engine does not know. Raised when the `InvalidationEngine`
 * layer is built, or by `InvalidationEngine.run` for an unknown job.
 *
 * @example
 * ```ts
 * import { InvalidationRule } from "@cachefx/core"
 *
 * const error = new InvalidationRule.InvalidationRuleError({
 *   cache: "users",
 *   rule: "users(userId=id)",
 *   reason: `"userId" is not an input of its key (the key reads: id)`
 * })
 * console.log(error.message)
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidationRuleError extends Data.TaggedError("InvalidationRuleError")<{
  readonly cache: string
  readonly rule: string
  readonly reason: string
}> {
  override get message(): string {
    return `Cached value "${this.cache}", invalidation rule "${this.rule}": ${this.reason}`
  }
}

/**
 * Makes a rule. Throws a `CacheDefinitionError` when `table` is neither a Drizzle table
 * nor a name; inputs and columns are checked when the engine is built.
 *
 * @example
 * ```ts
 * import { Effect, Option } from "effect"
 * import { integer, pgTable, text } from "drizzle-orm/pg-core"
 * import { InvalidationRule } from "@cachefx/core"
 *
 * const posts = pgTable("posts", {
 *   id: integer("id").primaryKey(),
 *   authorId: integer("author_id").notNull(),
 *   status: text("status").notNull()
 * })
 *
 * const byAuthor = InvalidationRule.make({
 *   table: posts,
 *   fieldMapping: { authorId: posts.authorId, postId: posts.id },
 *   watchFields: [posts.status],
 *   when: (change) => Effect.succeed(Option.isSome(change.row))
 * })
 *
 * // an author's listings may lag a write by one refresh: they turn stale instead of gone
 * const listings = InvalidationRule.make({ table: posts, fieldMapping: { authorId: posts.authorId }, soft: true })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (options: Options) => InvalidationRule = internal.make

/**
 * Makes a rule that runs an invalidator of its own for each changed row, for logic a
 * field mapping cannot express. It runs on the rule's dispatcher like any rule; a job
 * names the cached value and the rule, never the function, so a broker's worker finds
 * the invalidator by the rule's name in its own engine.
 *
 * @example
 * ```ts
 * import { Effect, Option } from "effect"
 * import { InvalidationRule } from "@cachefx/core"
 *
 * // a post that changes its tags invalidates the listing of every tag before and after
 * const byTags = InvalidationRule.custom({
 *   table: "posts",
 *   name: "posts(tags)",
 *   on: ["update"],
 *   dispatcher: "pool",
 *   run: (change, cached) =>
 *     Effect.forEach(
 *       [...Option.toArray(change.before), ...Option.toArray(change.row)].flatMap((row) => row.tags as Array<string>),
 *       (tag) => cached.deletePartition({ tag }),
 *       { discard: true }
 *     )
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const custom: (options: CustomOptions) => InvalidationRule = internal.custom

/**
 * The columns a rule reads, by their database names: what `fieldMapping` reads each
 * input from, and what `watchFields` watches.
 *
 * @example
 * ```ts
 * import type { InvalidationRule } from "@cachefx/core"
 *
 * const read = (columns: InvalidationRule.Columns) => new Set(columns.mapping.map(([, column]) => column))
 * ```
 *
 * @since 0.4.0
 * @category models
 */
export interface Columns {
  /** Each input of `fieldMapping` with the database name of the column it is read from. */
  readonly mapping: ReadonlyArray<readonly [input: string, column: string]>
  /** The database names of `watchFields`; undefined when the rule has none (every change counts). */
  readonly watch: ReadonlyArray<string> | undefined
}

/**
 * Resolves the columns a rule names (a database name, a Drizzle property name or a
 * column object) to database names, against its table, the way the engine reads event
 * rows; a `CacheDefinitionError` names the first column the table does not have. Write
 * hooks use it to know which columns a write must report.
 *
 * @example
 * ```ts
 * import { Either } from "effect"
 * import { integer, pgTable } from "drizzle-orm/pg-core"
 * import { InvalidationRule } from "@cachefx/core"
 *
 * const posts = pgTable("posts", { id: integer("id").primaryKey(), authorId: integer("author_id") })
 * const rule = InvalidationRule.make({ table: posts, fieldMapping: { authorId: "authorId" } })
 * console.log(Either.map(InvalidationRule.columns(rule), (columns) => columns.mapping)) // Right([["authorId", "author_id"]])
 * ```
 *
 * @since 0.4.0
 * @category introspection
 */
export const columns: (rule: InvalidationRule) => Either.Either<Columns, CacheDefinitionError> = internal.columns

/**
 * Whether a value is a rule.
 *
 * @example
 * ```ts
 * import { InvalidationRule } from "@cachefx/core"
 *
 * const rule = InvalidationRule.make({ table: "users", fieldMapping: { id: "id" } })
 * console.log(InvalidationRule.isInvalidationRule(rule)) // true
 * ```
 *
 * @since 0.1.0
 * @category guards
 */
export const isInvalidationRule: (u: unknown) => u is InvalidationRule = internal.isInvalidationRule
