import { InvalidationEvent } from "@cachefx/core"
import { hasProperty } from "effect/Predicate"
import { UnsupportedDrizzleError } from "../DrizzleError.js"
import { emit, type Route } from "./delivery.js"
import type { Dialect } from "./dialect.js"
import { andThen, isThenable, type Maybe } from "./maybe.js"
import { pair } from "./rows.js"
import { isWriteBuilder, type Method, type Outcome, prepareMarked, type Row, type WriteBuilder } from "./statement.js"
import type { TablePlan } from "./tables.js"
import { drizzleVersion } from "./version.js"

/**
 * Where a write runs (its `Route`: the database or transaction it came from, not
 * instrumented) and how: the dialect's adapter, picked when the database was
 * instrumented. Outside a transaction, with an outbox, every write runs in a transaction
 * of its own that stores its events there before the commit.
 *
 * @internal
 */
export interface WriteContext extends Route {
  readonly dialect: Dialect
}

const sessionOf = (tx: unknown): unknown => hasProperty(tx, "session") ? tx.session : undefined

/** Database names of the columns an update (or an upsert's update) sets. */
const setColumns = (plan: TablePlan, set: Readonly<Record<string, unknown>> | undefined): Array<string> =>
  Object.keys(set ?? {}).flatMap((property) => {
    const column = plan.columns[property]
    return column === undefined ? [] : [column.name]
  })

/** One write being instrumented: its builder, what its rules need, and where its events go. */
interface Write {
  readonly builder: WriteBuilder
  readonly prepare: (...args: ReadonlyArray<unknown>) => unknown
  readonly operation: InvalidationEvent.Operation
  readonly plan: TablePlan
  readonly context: WriteContext
  /** The columns an `onConflictDoUpdate` sets, once called. */
  upsert: ReadonlyArray<string> | undefined
}

/**
 * What running a write involves, from its builder: the columns an update sets, whether
 * it sets a tracked one (its old rows are then read), and whether the statement reads
 * them itself (PostgreSQL, a single-column primary key, no `from` of the caller's).
 */
interface Shape {
  readonly changed: ReadonlyArray<string>
  readonly tracked: boolean
  readonly readsOld: boolean
}

const shapeOf = (write: Write): Shape => {
  const { builder, context, operation, plan } = write
  const changed = operation === "update" ? setColumns(plan, builder.config.set) : []
  const tracked = builder.config.from === undefined && changed.some((column) => plan.tracked.has(column))
  return { changed, tracked, readsOld: tracked && context.dialect.readsOldInStatement && plan.old !== undefined }
}

/**
 * The events of a write that gave `rows` (and read `before`, row by row with `rows` when
 * the statement read them itself); `changed` is what an update sets.
 */
const eventsOf = (
  write: Write,
  changed: ReadonlyArray<string>,
  outcome: Outcome,
  read: ReadonlyArray<Row> | undefined
): ReadonlyArray<InvalidationEvent.InvalidationEvent> => {
  const { context, operation, plan, upsert } = write
  const rows = outcome.rows
  const make = (op: InvalidationEvent.Operation, extra: Partial<Parameters<typeof InvalidationEvent.make>[0]>) =>
    InvalidationEvent.make({ table: plan.name, operation: op, rows, transactionId: context.transaction?.id, ...extra })
  if (operation === "update") {
    const before = read ?? outcome.before
    if (before === undefined) {
      return rows.length === 0 ? [] : [make("update", { changed })]
    }
    const paired = read === undefined ? { rows, before, aligned: true } : pair(plan, rows, before)
    return paired.rows.length + paired.before.length === 0 ? [] : [
      make("update", { rows: paired.rows, before: paired.before, changed: paired.aligned ? undefined : changed })
    ]
  }
  if (rows.length === 0) {
    return []
  }
  // An upsert may have updated some rows: the update event covers rules on updates.
  return upsert === undefined ? [make(operation, {})] : [make("insert", {}), make("update", { changed: upsert })]
}

interface Done {
  readonly result: unknown
  readonly events: ReadonlyArray<InvalidationEvent.InvalidationEvent>
  readonly persisted?: unknown
}

/**
 * Runs a write for `shape`: reads the old rows first when the update sets a tracked
 * column and cannot read them itself, in a transaction of its own when outside one (or
 * when the outbox needs one), then emits. `base` prepares the statement on the write's
 * own source; a transaction of its own prepares it on the transaction instead, so it is
 * built once either way. Outside such a transaction the statement's rows become events
 * and are emitted in the one step after it, so the caller resumes a promise hop after
 * the driver answers.
 */
const run = (
  write: Write,
  shape: Shape,
  base: () => unknown,
  args: ReadonlyArray<unknown>,
  method: Method,
  async: boolean
) => {
  const { builder, context, plan } = write
  const { dialect } = context
  const { changed, readsOld } = shape
  const callerReturns = builder.config.returning !== undefined
  const reads = shape.tracked && !readsOld
  const before = (source: unknown) => reads ? dialect.readRows(source, plan, builder.config.where, args[0]) : undefined
  const done = (outcome: Outcome, old: ReadonlyArray<Row> | undefined): Done => ({
    result: outcome.result,
    events: eventsOf(write, changed, outcome, old)
  })
  const { source, transaction } = context
  const deliver = (outcome: Done, sync: boolean) =>
    andThen(emit(context, outcome.events, sync, outcome.persisted), () => outcome.result)
  const outbox = transaction === undefined ? context.destination.outbox : undefined
  if (transaction !== undefined || (!reads && outbox === undefined)) {
    const read = before(source)
    return andThen(read, (old) => {
      const ran = dialect.runMarked(plan, source, base(), method, args, callerReturns, readsOld)
      const sync = !async && !isThenable(read) && !isThenable(ran)
      return andThen(ran, (outcome) => deliver(done(outcome, old), sync))
    })
  }
  const committed: Maybe<Done> = dialect.transaction(source, (tx) =>
    andThen(before(tx), (old) => {
      const prepared = prepareMarked(builder, write.prepare, plan, [], sessionOf(tx), readsOld)
      return andThen(dialect.runMarked(plan, tx, prepared, method, args, callerReturns, readsOld), (outcome) => {
        const ran = done(outcome, old)
        return andThen(outbox?.write(tx, ran.events), (persisted) => ({ ...ran, persisted }))
      })
    }))
  return andThen(committed, (outcome) => deliver(outcome, !async && !isThenable(committed)))
}

/** The prepared query the caller gets: the driver's, whose run methods go through `run`. */
const instrumentedPrepared = (write: Write, args: ReadonlyArray<unknown>): unknown => {
  const shape = shapeOf(write)
  const base = prepareMarked(write.builder, write.prepare, write.plan, args, undefined, shape.readsOld)
  const { dialect } = write.context
  const prepared = Object.create(base as object)
  for (const method of dialect.runners) {
    prepared[method] = (...call: ReadonlyArray<unknown>) => run(write, shape, () => base, call, method, false)
  }
  dialect.completePrepared(prepared, write.builder.config.returning !== undefined)
  return prepared
}

/**
 * Instruments a write builder (what `insert(t).values(…)`, `update(t).set(…)` and
 * `delete(t)` give) so that running it publishes its events. Returns the same builder.
 *
 * @internal
 */
export const instrumentWrite = <B>(
  builder: B,
  operation: InvalidationEvent.Operation,
  plan: TablePlan,
  context: WriteContext
): B => {
  if (!isWriteBuilder(builder)) {
    // `instrument` checked the builders of this database: one that still differs is a builder it did not probe.
    throw new UnsupportedDrizzleError({
      dialect: context.dialect.name,
      subject: `a ${operation} builder`,
      member: "_prepare",
      reason: "is not a function, or `config` not an object",
      version: drizzleVersion()
    })
  }
  const write: Write = { builder, prepare: builder._prepare, operation, plan, context, upsert: undefined }
  const onConflictDoUpdate: unknown = hasProperty(builder, "onConflictDoUpdate") ? builder.onConflictDoUpdate : undefined
  if (operation === "insert" && typeof onConflictDoUpdate === "function") {
    Reflect.set(builder, "onConflictDoUpdate", (config: { readonly set?: Readonly<Record<string, unknown>> }) => {
      write.upsert = setColumns(plan, config.set)
      return Reflect.apply(onConflictDoUpdate, builder, [config])
    })
  }
  Reflect.set(builder, "_prepare", (...args: ReadonlyArray<unknown>) => instrumentedPrepared(write, args))
  // `await` and `execute()` run the marked statement themselves, without the prepared query
  // `_prepare` gives a caller: one object fewer per write. The dialect says how `execute` is called.
  const runNow = (args: ReadonlyArray<unknown>, method: Method, async: boolean) => {
    const shape = shapeOf(write)
    return run(write, shape, () => prepareMarked(builder, write.prepare, plan, [], undefined, shape.readsOld), args, method, async)
  }
  Reflect.set(builder, "execute", context.dialect.execute(builder, runNow))
  return builder
}
