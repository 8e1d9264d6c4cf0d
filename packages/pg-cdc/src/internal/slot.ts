import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { ChangeStreamError } from "../ChangeStreamError.js"
import type * as Slot from "../Slot.js"
import { ident, type Queryable, qualified, query, sqlState } from "./sql.js"

/** A statement that may race another instance doing the same: "already exists" is success. */
const racing = <A>(effect: Effect.Effect<A, ChangeStreamError>): Effect.Effect<void, ChangeStreamError> =>
  Effect.catchIf(Effect.asVoid(effect), (error) => sqlState(error.cause) === "42710", () => Effect.void)

const walLevel = (client: Queryable) =>
  Effect.map(query<{ wal_level: string }>(client, "reading wal_level", "show wal_level"), ([row]) => row?.wal_level ?? "")

/** @internal */
export const create = (client: Queryable, options: Slot.CreateOptions): Effect.Effect<void, ChangeStreamError> =>
  Effect.gen(function*() {
    const level = yield* walLevel(client)
    if (level !== "logical") {
      return yield* new ChangeStreamError({
        reason: `the server's wal_level is "${level}", not "logical", so it keeps no change stream; run ` +
          "`ALTER SYSTEM SET wal_level = logical` and restart PostgreSQL"
      })
    }
    const schema = options.schema ?? "public"
    const { publication, slot } = options
    const tables = options.tables.map((table) => qualified(schema, table))
    const exists = yield* query(client, "reading the publication", "select 1 from pg_publication where pubname = $1", [
      publication
    ])
    if (exists.length === 0) {
      yield* racing(query(
        client,
        `creating publication ${publication}`,
        `create publication ${ident(publication)} for table ${tables.join(", ")}`
      ))
    }
    const published = new Set(
      (yield* query<{ tablename: string }>(
        client,
        "reading the publication's tables",
        "select tablename from pg_publication_tables where pubname = $1 and schemaname = $2",
        [publication, schema]
      )).map((row) => row.tablename)
    )
    yield* Effect.forEach(
      options.tables.filter((table) => !published.has(table)),
      (table) =>
        racing(query(
          client,
          `adding ${schema}.${table} to publication ${publication}`,
          `alter publication ${ident(publication)} add table ${qualified(schema, table)}`
        )),
      { discard: true }
    )
    // after the publication: changes decoded before it existed could not be published
    const held = query<{ plugin: string | null; here: boolean }>(
      client,
      "reading the slot",
      "select plugin, database = current_database() as here from pg_replication_slots where slot_name = $1",
      [slot]
    )
    if ((yield* held).length === 0) {
      yield* racing(query(
        client,
        `creating replication slot ${slot}`,
        "select pg_create_logical_replication_slot($1, 'pgoutput')",
        [slot]
      ))
    }
    // slot names are the server's, not the database's: one of this name may be another's
    const [found] = yield* held
    if (found === undefined || !found.here || found.plugin !== "pgoutput") {
      return yield* new ChangeStreamError({
        reason: found === undefined
          ? `replication slot ${slot} was not created`
          : !found.here
          ? `replication slot ${slot} belongs to another database (slot names are unique per server); choose another slot name`
          : `replication slot ${slot} decodes with ${found.plugin}, not pgoutput; drop it or choose another slot name`
      })
    }
  })

interface SlotRow {
  readonly active: boolean
  readonly active_pid: number | null
  readonly confirmed_flush_lsn: string | null
  readonly restart_lsn: string | null
  readonly retained: string | null
  readonly wal_status: string | null
}

/** @internal */
export const inspect = (client: Queryable, options: Slot.Names): Effect.Effect<Slot.Info, ChangeStreamError> =>
  Effect.gen(function*() {
    const [slot] = yield* query<SlotRow>(
      client,
      "reading the slot",
      `select active, active_pid, confirmed_flush_lsn::text, restart_lsn::text, wal_status,
              pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint::text as retained
         from pg_replication_slots where slot_name = $1`,
      [options.slot]
    )
    const publication = yield* query(client, "reading the publication", "select 1 from pg_publication where pubname = $1", [
      options.publication
    ])
    const tables = yield* query<{ name: string }>(
      client,
      "reading the publication's tables",
      "select schemaname || '.' || tablename as name from pg_publication_tables where pubname = $1 order by 1",
      [options.publication]
    )
    const [settings] = yield* query<{ wal_level: string; keep: string }>(
      client,
      "reading the settings",
      "select current_setting('wal_level') as wal_level, current_setting('max_slot_wal_keep_size') as keep"
    )
    return {
      slot: slot === undefined ? Option.none() : Option.some({
        active: slot.active,
        activePid: Option.fromNullable(slot.active_pid),
        confirmedLsn: Option.fromNullable(slot.confirmed_flush_lsn),
        restartLsn: Option.fromNullable(slot.restart_lsn),
        retainedWalBytes: Number(slot.retained ?? 0),
        walStatus: Option.fromNullable(slot.wal_status)
      }),
      publication: publication.length === 0 ? Option.none() : Option.some(tables.map((row) => row.name)),
      walLevel: settings?.wal_level ?? "",
      maxSlotWalKeepSize: settings?.keep ?? ""
    }
  })

/** @internal */
export const drop = (client: Queryable, options: Slot.Names): Effect.Effect<void, ChangeStreamError> =>
  Effect.gen(function*() {
    const [slot] = yield* query<{ active_pid: number | null }>(
      client,
      "reading the slot",
      "select active_pid from pg_replication_slots where slot_name = $1",
      [options.slot]
    )
    if (slot !== undefined && slot.active_pid !== null) {
      return yield* new ChangeStreamError({
        reason: `replication slot ${options.slot} is held by the consumer of backend ${slot.active_pid}; ` +
          `stop that consumer first (or end its connection: select pg_terminate_backend(${slot.active_pid}))`
      })
    }
    if (slot !== undefined) {
      yield* query(client, `dropping replication slot ${options.slot}`, "select pg_drop_replication_slot($1)", [
        options.slot
      ]).pipe(
        // dropped meanwhile by another
        Effect.catchIf((error) => sqlState(error.cause) === "42704", () => Effect.succeed([]))
      )
    }
    yield* query(client, `dropping publication ${options.publication}`, `drop publication if exists ${ident(options.publication)}`)
  })
