/**
 * The replication slot and the publication the change stream reads, as operations: create
 * them, inspect them, drop them (`npx cachefx cdc create | inspect | drop` runs these).
 *
 * A slot keeps every byte of WAL written since the position it last confirmed. A slot
 * nobody reads any more (an application retired, a consumer that never came back) keeps
 * WAL until the server's disk is full and PostgreSQL stops: drop slots you no longer use,
 * alert on `ChangeStreamMetrics.retainedWalBytes`, and set `max_slot_wal_keep_size` so
 * the server invalidates such a slot instead of filling the disk.
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type { ChangeStreamError } from "./ChangeStreamError.js"
import * as internal from "./internal/slot.js"
import type { Queryable } from "./internal/sql.js"

/**
 * A client to run the statements on: a node-postgres `Pool` or `Client` (or anything with
 * the same `query`). It needs the `REPLICATION` attribute (or to be a superuser) to make
 * and drop slots, and to own the tables to publish them.
 *
 * @example
 * ```ts
 * import pg from "pg"
 * import type { Slot } from "@cachefx/pg-cdc"
 *
 * const client: Slot.Client = new pg.Pool({ connectionString: "postgres://postgres@127.0.0.1/app" })
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type Client = Queryable

/**
 * The names of a slot and its publication.
 *
 * @example
 * ```ts
 * import type { Slot } from "@cachefx/pg-cdc"
 *
 * const names: Slot.Names = { slot: "cachefx", publication: "cachefx" }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Names {
  readonly slot: string
  readonly publication: string
}

/**
 * What `create` makes: the publication over `tables` (in `schema`, default `public`) and
 * a permanent `pgoutput` slot.
 *
 * @example
 * ```ts
 * import type { Slot } from "@cachefx/pg-cdc"
 *
 * const options: Slot.CreateOptions = { slot: "cachefx", publication: "cachefx", tables: ["users", "posts"] }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface CreateOptions extends Names {
  readonly tables: ReadonlyArray<string>
  readonly schema?: string | undefined
}

/**
 * What `inspect` reads.
 *
 * @example
 * ```ts
 * import { Option } from "effect"
 * import type { Slot } from "@cachefx/pg-cdc"
 *
 * const held = (info: Slot.Info) => Option.exists(info.slot, (slot) => slot.active)
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Info {
  readonly slot: Option.Option<{
    /** Whether a consumer holds the slot now. */
    readonly active: boolean
    /** The server process of the consumer that holds it. */
    readonly activePid: Option.Option<number>
    /** Everything before this position is applied: the consumer confirmed it. */
    readonly confirmedLsn: Option.Option<string>
    /** The oldest WAL the slot keeps. */
    readonly restartLsn: Option.Option<string>
    /** WAL the slot keeps on the server's disk, in bytes. */
    readonly retainedWalBytes: number
    /** `reserved`, `extended`, `unreserved` or `lost` (past `max_slot_wal_keep_size`: the slot is gone). */
    readonly walStatus: Option.Option<string>
  }>
  /** The tables the publication holds (`schema.table`), when it exists. */
  readonly publication: Option.Option<ReadonlyArray<string>>
  readonly walLevel: string
  /** `-1` when unlimited: an abandoned slot then keeps WAL until the disk is full. */
  readonly maxSlotWalKeepSize: string
}

/**
 * Creates the publication (or adds the tables it lacks) and then the permanent slot, each
 * when missing; another instance doing the same at the same time is no error. Fails with a
 * `ChangeStreamError` when `wal_level` is not `logical`.
 *
 * @example
 * ```ts
 * import pg from "pg"
 * import { Slot } from "@cachefx/pg-cdc"
 *
 * const pool = new pg.Pool({ connectionString: "postgres://postgres@127.0.0.1/app" })
 * const program = Slot.create(pool, { slot: "cachefx", publication: "cachefx", tables: ["users"] })
 * ```
 *
 * @since 0.1.0
 * @category operations
 */
export const create: (client: Client, options: CreateOptions) => Effect.Effect<void, ChangeStreamError> =
  internal.create

/**
 * Reads the slot (held or not, by which process, confirmed position, WAL kept), the
 * publication's tables and the settings that matter.
 *
 * @example
 * ```ts
 * import pg from "pg"
 * import { Slot } from "@cachefx/pg-cdc"
 *
 * const pool = new pg.Pool({ connectionString: "postgres://postgres@127.0.0.1/app" })
 * const program = Slot.inspect(pool, { slot: "cachefx", publication: "cachefx" })
 * ```
 *
 * @since 0.1.0
 * @category operations
 */
export const inspect: (client: Client, options: Names) => Effect.Effect<Info, ChangeStreamError> = internal.inspect

/**
 * Drops the slot (the server frees the WAL it kept) and the publication. Fails, dropping
 * nothing, while a consumer holds the slot.
 *
 * @example
 * ```ts
 * import pg from "pg"
 * import { Slot } from "@cachefx/pg-cdc"
 *
 * const pool = new pg.Pool({ connectionString: "postgres://postgres@127.0.0.1/app" })
 * const program = Slot.drop(pool, { slot: "cachefx", publication: "cachefx" })
 * ```
 *
 * @since 0.1.0
 * @category operations
 */
export const drop: (client: Client, options: Names) => Effect.Effect<void, ChangeStreamError> = internal.drop
