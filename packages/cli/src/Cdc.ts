/**
 * `cachefx cdc create | inspect | drop`: the replication slot and publication of
 * `@cachefx/pg-cdc`'s change stream, from the command line. Connects to `--url` (default:
 * the `DATABASE_URL` environment variable).
 *
 * - `create <module>`: the publication over the tables the module's rules name, then the
 *   permanent slot (each when missing).
 * - `inspect`: who holds the slot, its confirmed position, the WAL it keeps, the
 *   publication's tables, `wal_level` and `max_slot_wal_keep_size`.
 * - `drop`: the slot (the server frees its WAL) and the publication.
 *
 * @since 0.1.0
 */
import { InvalidationEngine } from "@cachefx/core"
import type { Slot } from "@cachefx/pg-cdc"
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Config from "effect/Config"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type pg from "pg"
import * as Discovery from "./Discovery.js"

const url = Options.text("url").pipe(
  Options.withFallbackConfig(Config.string("DATABASE_URL")),
  Options.withDescription("the database (default: DATABASE_URL)")
)
const slot = Options.text("slot").pipe(Options.withDefault("cachefx"))
const publication = Options.text("publication").pipe(Options.withDefault("cachefx"))
const schema = Options.text("schema").pipe(Options.withDefault("public"))
const json = Options.boolean("json")

/**
 * `@cachefx/pg-cdc` and `pg` are optional peers of the cli, needed by `cachefx cdc` alone:
 * they are loaded when a `cdc` command runs, so `cachefx rules` works without them.
 */
const peers = Effect.tryPromise({
  try: () => Promise.all([import("@cachefx/pg-cdc"), import("pg")]),
  catch: (cause) =>
    new Discovery.ModuleError({
      module: "@cachefx/pg-cdc",
      reason: "cachefx cdc needs the optional peers @cachefx/pg-cdc and pg: npm i -D @cachefx/pg-cdc pg",
      cause
    })
})

/** The change stream's slot operations, and a pool for one command, closed after it. */
const withPool = <A, E>(
  connectionString: string,
  use: (slots: typeof Slot, pool: pg.Pool) => Effect.Effect<A, E>
) =>
  Effect.flatMap(peers, ([{ Slot }, { default: pg }]) =>
    Effect.acquireUseRelease(
      Effect.sync(() => new pg.Pool({ connectionString, max: 1 })),
      (pool) => use(Slot, pool),
      (pool) => Effect.promise(() => pool.end())
    ))

const megabytes = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`

/**
 * What `inspect` read, as text.
 *
 * @example
 * ```ts
 * import { Option } from "effect"
 * import { Cdc } from "@cachefx/cli"
 *
 * console.log(Cdc.format({ slot: "cachefx", publication: "cachefx" }, {
 *   slot: Option.none(), publication: Option.none(), walLevel: "logical", maxSlotWalKeepSize: "-1"
 * }))
 * ```
 *
 * @since 0.1.0
 * @category formatting
 */
export const format = (names: Slot.Names, info: Slot.Info): string =>
  [
    Option.match(info.slot, {
      onNone: () => `slot ${names.slot}: none`,
      onSome: (held) =>
        [
          `slot ${names.slot}: ` + Option.match(held.activePid, {
            onNone: () => "not held: no consumer reads it, and it keeps WAL until one does or it is dropped",
            onSome: (pid) => `held by backend ${pid}`
          }),
          `  confirmed ${Option.getOrElse(held.confirmedLsn, () => "-")}, ` +
          `restart ${Option.getOrElse(held.restartLsn, () => "-")}, ` +
          `WAL kept ${megabytes(held.retainedWalBytes)} (${Option.getOrElse(held.walStatus, () => "-")})`
        ].join("\n")
    }),
    Option.match(info.publication, {
      onNone: () => `publication ${names.publication}: none`,
      onSome: (tables) => `publication ${names.publication}: ${tables.length === 0 ? "no tables" : tables.join(", ")}`
    }),
    `wal_level ${info.walLevel}; max_slot_wal_keep_size ${info.maxSlotWalKeepSize}` +
    (info.maxSlotWalKeepSize === "-1" ? " (unlimited: a slot nobody reads fills the disk)" : "")
  ].join("\n")

const create = Command.make(
  "create",
  { module: Args.text({ name: "module" }), url, slot, publication, schema },
  (options) =>
    Effect.gen(function*() {
      const tables = InvalidationEngine.describe(Discovery.engineOptions(yield* Discovery.load(options.module))).tables.map((table) => table.table)
      yield* withPool(options.url, (slots, pool) => slots.create(pool, { ...options, tables }))
      yield* Console.log(
        `publication ${options.publication} over ${tables.map((table) => `${options.schema}.${table}`).join(", ")}; ` +
          `slot ${options.slot}`
      )
    })
).pipe(Command.withDescription("create the publication over the tables a module's rules name, and the slot"))

const inspect = Command.make("inspect", { url, slot, publication, json }, (options) =>
  withPool(options.url, (slots, pool) => slots.inspect(pool, options)).pipe(
    Effect.flatMap((info) => Console.log(options.json ? JSON.stringify(info, null, 2) : format(options, info)))
  )).pipe(Command.withDescription("show who holds the slot, how far it is confirmed, the WAL it keeps"))

const drop = Command.make("drop", { url, slot, publication }, (options) =>
  withPool(options.url, (slots, pool) => slots.drop(pool, options)).pipe(
    Effect.zipRight(Console.log(`dropped slot ${options.slot} and publication ${options.publication}`))
  )).pipe(Command.withDescription("drop the slot (freeing the WAL it keeps) and the publication"))

/**
 * `cachefx cdc create | inspect | drop`.
 *
 * @example
 * ```ts
 * import { Command } from "@effect/cli"
 * import { Cdc } from "@cachefx/cli"
 *
 * const main = Command.run(Cdc.cdc, { name: "cdc", version: "0.1.0" })
 * ```
 *
 * @since 0.1.0
 * @category commands
 */
export const cdc = Command.make("cdc").pipe(
  Command.withSubcommands([create, inspect, drop]),
  Command.withDescription("the replication slot and publication of @cachefx/pg-cdc")
)
