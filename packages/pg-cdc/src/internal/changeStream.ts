import { Invalidation, InvalidationBus, InvalidationEngine, type InvalidationEvent } from "@cachefx/core"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Schedule from "effect/Schedule"
import pg from "pg"
import { LogicalReplicationService, type Pgoutput, PgoutputPlugin } from "pg-logical-replication"
import type * as ChangeStream from "../ChangeStream.js"
import { AppliedTimeoutError, ChangeStreamError } from "../ChangeStreamError.js"
import * as ChangeStreamMetrics from "../ChangeStreamMetrics.js"
import * as decode from "./decode.js"
import * as lsn from "./lsn.js"
import * as replicaIdentity from "./replicaIdentity.js"
import * as slots from "./slot.js"
import { describe, type Queryable, query, sqlState } from "./sql.js"

/** @internal */
export const skipPrefix = "cachefx.skip"

/** @internal */
export const markHandled = `select pg_logical_emit_message(true, '${skipPrefix}', '')`

/** What the stream delivers, in the order the server sent it. */
type Item =
  | { readonly _tag: "Data"; readonly message: Pgoutput.Message }
  | { readonly _tag: "Keepalive"; readonly lsn: bigint }

/** The transaction being received: its changes to tables some rule names. */
interface Open {
  readonly xid: string
  readonly changes: Array<ReturnType<typeof decode.change>>
  skip: boolean
}

interface State {
  holding: boolean
  confirmed: bigint | undefined
}

/** The pause before an event whose jobs were not all applied is published again: 100 ms, doubling, at most 5 s. */
const republish = Schedule.exponential("100 millis").pipe(Schedule.union(Schedule.spaced("5 seconds")))

const connect = (config: pg.ClientConfig) =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: async () => {
        const client = new pg.Client(config)
        // a connection that fails later fails the statement that uses it, not the process
        client.on("error", () => {})
        await client.connect()
        return client
      },
      catch: (cause) => new ChangeStreamError({ reason: `connecting to PostgreSQL failed: ${describe(cause)}`, cause })
    }),
    (client) => Effect.promise(() => client.end().catch(() => undefined))
  )

/**
 * One session on the slot: starts replication (failing at once while another consumer
 * holds the slot), then applies each committed transaction in order and confirms its end
 * once its events are published and handled. Ends with a failure when the connection does.
 */
const session = (options: ChangeStream.Options, tables: ReadonlySet<string>, state: State) =>
  Effect.gen(function*() {
    const bus = yield* InvalidationBus.InvalidationBus
    const schema = options.schema ?? "public"
    const slot = options.slot ?? "cachefx"
    const items = yield* Queue.unbounded<Item>()
    const ended = yield* Deferred.make<never, ChangeStreamError>()
    const service = yield* Effect.acquireRelease(
      Effect.sync(() =>
        new LogicalReplicationService(options.connection, {
          // nothing is confirmed but what this consumer applied
          acknowledge: { auto: false, timeoutSeconds: 0 }
        })
      ),
      (service) =>
        Effect.promise(() => service.destroy().catch(() => undefined)).pipe(
          Effect.timeout("5 seconds"),
          Effect.ignore,
          Effect.zipRight(Effect.sync(() => {
            state.holding = false
          }))
        )
    )
    // What this session decided to confirm (everything before it is applied), and what it
    // sent: another consumer may have confirmed more since an earlier session of this
    // one, and PostgreSQL before 17 lets the position move back.
    let confirmed: bigint | undefined
    let sent: bigint | undefined
    let pingWanted = false
    // The library reports the position it is given plus one; PostgreSQL takes the
    // reported position as the first byte not yet applied.
    const send = (position: bigint, ping: boolean) => {
      sent = position
      state.confirmed = position
      return service.acknowledge(lsn.format(position - 1n), ping)
    }
    // One standby status update per `confirmInterval` at most, carrying the latest position:
    // the server sends a keepalive after every transaction, of any table, that finds the
    // slot unconfirmed, and answering each with a socket write of its own was most of the
    // consumer's CPU per write (bench/cdc.ts). The first after a pause goes at once.
    const wanted = yield* Queue.sliding<void>(1)
    const unsent = () => confirmed !== undefined && confirmed !== sent
    yield* Queue.take(wanted).pipe(
      Effect.zipRight(Effect.suspend(() => {
        const ping = pingWanted
        pingWanted = false
        // a connection that failed ends the session through the service's error event
        return unsent() ? Effect.ignore(Effect.tryPromise(() => send(confirmed!, ping))) : Effect.void
      })),
      Effect.zipRight(Effect.sleep(options.confirmInterval ?? "10 millis")),
      Effect.forever,
      Effect.forkScoped
    )
    // a position decided and not sent yet goes before the connection closes
    yield* Effect.addFinalizer(() =>
      unsent()
        ? Effect.tryPromise(() => send(confirmed!, false)).pipe(Effect.timeout("1 second"), Effect.ignore)
        : Effect.void
    )
    service.on("data", (_at: string, message: Pgoutput.Message) => {
      Queue.unsafeOffer(items, { _tag: "Data", message })
    })
    service.on("heartbeat", (at: string, _time: number, reply: boolean) => {
      // the server needs an answer within wal_sender_timeout, even behind a long backlog
      if (reply && confirmed !== undefined) {
        void send(confirmed, false)
      }
      Queue.unsafeOffer(items, { _tag: "Keepalive", lsn: lsn.parse(at) })
    })
    service.on("start", () => {
      state.holding = true
    })
    service.on("error", (cause: unknown) => {
      Deferred.unsafeDone(
        ended,
        Effect.fail(new ChangeStreamError({ reason: `the replication connection failed: ${describe(cause)}`, cause }))
      )
    })
    // `messages`: the transactional message of `markHandled` arrives inside its transaction
    const plugin = new PgoutputPlugin({
      protoVersion: 1,
      publicationNames: [options.publication ?? "cachefx"],
      messages: true
    })
    const streaming = Effect.tryPromise({
      try: () => service.subscribe(plugin, slot),
      catch: (cause) =>
        new ChangeStreamError({ reason: `reading replication slot ${slot} failed: ${describe(cause)}`, cause })
    }).pipe(
      Effect.zipRight(Effect.fail(new ChangeStreamError({ reason: "the replication stream ended" })))
    )

    /**
     * Publishes an event and waits until every job it caused was applied (a `pool` or
     * `background` job once it ran, a broker's once the broker holds it). A job that ran
     * out of the engine's retries has the event published again, with a pause that
     * doubles up to `republishCap`: nothing is confirmed past an event not applied.
     */
    const applyEvent = (event: InvalidationEvent.InvalidationEvent) =>
      Effect.repeat(
        Effect.flatMap(
          Effect.provideService(Invalidation.publishTracked(event), InvalidationBus.InvalidationBus, bus),
          (receipt) => receipt.applied
        ),
        { until: (applied) => applied, schedule: republish }
      )
    let open: Open | undefined
    const confirm = (position: bigint, ping: boolean) =>
      Effect.sync(() => {
        confirmed = position
        pingWanted ||= ping
        Queue.unsafeOffer(wanted, void 0)
      })
    const commit = (message: Pgoutput.MessageCommit) =>
      Effect.gen(function*() {
        const done = open
        open = undefined
        if (done === undefined || message.commitEndLsn === null) {
          return
        }
        const events = done.skip ? [] : decode.events(done.xid, done.changes)
        for (const event of events) {
          yield* applyEvent(event)
        }
        if (events.length > 0) {
          ChangeStreamMetrics.events.unsafeUpdate(events.length, [])
          ChangeStreamMetrics.lag.unsafeUpdate(Date.now() - Number(message.commitTime) / 1000, [])
        }
        ChangeStreamMetrics.transactions.unsafeUpdate(1, [])
        // once caught up, ask the server where it is, so a position past this commit is confirmed too
        yield* confirm(lsn.parse(message.commitEndLsn), (yield* Queue.size(items)) === 0)
      })
    const handle = (item: Item): Effect.Effect<void> => {
      if (item._tag === "Keepalive") {
        // between transactions, and with every earlier one applied: everything before it is applied
        return open === undefined && (confirmed === undefined || item.lsn > confirmed)
          ? confirm(item.lsn, false)
          : Effect.void
      }
      const message = item.message
      switch (message.tag) {
        case "begin":
          open = { xid: String(message.xid), changes: [], skip: false }
          return Effect.void
        case "insert":
        case "update":
        case "delete":
          if (open !== undefined && message.relation.schema === schema && tables.has(message.relation.name)) {
            open.changes.push(decode.change(message.relation.name, message))
          }
          return Effect.void
        case "truncate":
          for (const relation of message.relations) {
            if (open !== undefined && relation.schema === schema && tables.has(relation.name)) {
              open.changes.push(decode.truncated(relation.name))
            }
          }
          return Effect.void
        case "message":
          if (open !== undefined && message.transactional && message.prefix === skipPrefix) {
            open.skip = true
          }
          return Effect.void
        case "commit":
          return commit(message)
        default:
          return Effect.void
      }
    }
    const applying = Effect.forever(Effect.flatMap(Queue.take(items), handle))
    return yield* streaming.pipe(Effect.raceFirst(applying), Effect.raceFirst(Deferred.await(ended)))
  }).pipe(Effect.scoped)

/** Polls the WAL the slot keeps into `retainedWalBytes`. */
const watchRetained = (client: Queryable, slot: string, every: Duration.DurationInput) =>
  query<{ retained: string | null }>(
    client,
    "reading the WAL the slot keeps",
    `select pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint::text as retained
       from pg_replication_slots where slot_name = $1`,
    [slot]
  ).pipe(
    Effect.tap(([row]) => Metric.set(ChangeStreamMetrics.retainedWalBytes, Number(row?.retained ?? 0))),
    Effect.catchAll((error) => Effect.logDebug(error.message)),
    Effect.repeat(Schedule.spaced(every))
  )

/** @internal */
export const make = (options: ChangeStream.Options) =>
  Effect.gen(function*() {
    const schema = options.schema ?? "public"
    const slot = options.slot ?? "cachefx"
    const publication = options.publication ?? "cachefx"
    const description = InvalidationEngine.describe({ caches: options.caches })
    const needs = replicaIdentity.needs(description)
    const tables = new Set(needs.map((need) => need.table))
    const admin = yield* connect(options.connection)
    yield* replicaIdentity.check(admin, schema, needs, options.replicaIdentity ?? "check")
    if (options.create !== false) {
      yield* slots.create(admin, { slot, publication, schema, tables: [...tables] })
    }
    const state: State = { holding: false, confirmed: undefined }
    const retry = Duration.decode(options.retryInterval ?? "1 second")
    // Sessions one after the other: while another consumer holds the slot, each fails at
    // once and the next starts a retry interval later, so this one takes over when it dies.
    yield* session(options, tables, state).pipe(
      Effect.catchAll((error) =>
        sqlState(error.cause) === "55006"
          ? Effect.logDebug(`cachefx change stream: slot ${slot} is held by another consumer; waiting`)
          : Effect.logWarning(`cachefx change stream: ${error.reason}; starting again`)
      ),
      Effect.zipRight(Effect.sleep(retry)),
      Effect.forever,
      Effect.forkScoped
    )
    yield* Effect.forkScoped(watchRetained(admin, slot, options.metricsInterval ?? "5 seconds"))
    const service: ChangeStream.Service = {
      holding: Effect.sync(() => state.holding),
      confirmed: Effect.sync(() => Option.map(Option.fromNullable(state.confirmed), lsn.format))
    }
    return service
  })

/** @internal */
export const currentLsn = (client: Queryable): Effect.Effect<string, ChangeStreamError> =>
  Effect.map(
    query<{ lsn: string }>(client, "reading the WAL position", "select pg_current_wal_insert_lsn()::text as lsn"),
    ([row]) => lsn.format(lsn.endOfInserted(lsn.parse(row?.lsn ?? "0/0")))
  )

/** @internal */
export const awaitApplied = (
  client: Queryable,
  options: ChangeStream.AwaitOptions
): Effect.Effect<void, AppliedTimeoutError | ChangeStreamError> =>
  Effect.gen(function*() {
    const slot = options.slot ?? "cachefx"
    const target = options.lsn ?? (yield* currentLsn(client))
    let confirmed: string | undefined
    const reached = Effect.map(
      query<{ confirmed: string | null; done: boolean | null }>(
        client,
        "reading the slot's confirmed position",
        "select confirmed_flush_lsn::text as confirmed, confirmed_flush_lsn >= $2::pg_lsn as done from pg_replication_slots where slot_name = $1",
        [slot, target]
      ),
      ([row]) => {
        confirmed = row?.confirmed ?? undefined
        return row?.done === true
      }
    )
    const timeout = options.timeout ?? "5 seconds"
    yield* reached.pipe(
      Effect.repeat({
        until: (done) => done,
        schedule: Schedule.exponential("2 millis", 1.5).pipe(Schedule.either(Schedule.spaced("50 millis")))
      }),
      Effect.timeoutFail({
        duration: timeout,
        onTimeout: () => new AppliedTimeoutError({ slot, lsn: target, confirmed, timeout: Duration.format(Duration.decode(timeout)) })
      })
    )
  })
