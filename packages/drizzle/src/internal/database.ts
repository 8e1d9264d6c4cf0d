import type { InvalidationEvent } from "@cachefx/core"
import { randomUUID } from "node:crypto"
import type { Dialect } from "./dialect.js"
import { andThen, isThenable, type Maybe } from "./maybe.js"
import type { Outbox } from "./outbox.js"
import { coalesce } from "./rows.js"
import type { Planner } from "./tables.js"
import { instrumentWrite, type WriteContext } from "./writes.js"

/**
 * What an instrumented database needs: its dialect's adapter, the plans of the tables,
 * and how to publish the events of a write that is not inside a transaction.
 *
 * @internal
 */
export interface Hooks {
  readonly dialect: Dialect
  readonly planner: Planner
  /** Publishes events after their commit, then runs `after`; waits unless `sync`. */
  readonly publish: (
    events: ReadonlyArray<InvalidationEvent.InvalidationEvent>,
    sync: boolean,
    after: (() => unknown) | undefined
  ) => Maybe<void>
  /** When set, events are written to this outbox in the transaction of their write. */
  readonly outbox: Outbox | undefined
}

/** The events of one transaction or savepoint, published (or handed to its parent) when it commits. */
interface Buffer {
  readonly id: string
  readonly events: Array<InvalidationEvent.InvalidationEvent>
}

type Entry = "insert" | "update" | "delete"

const entries: ReadonlyArray<Entry> = ["insert", "update", "delete"]

/** The methods of an entry builder that give the write builder. */
const finishers: Record<Entry, ReadonlyArray<string>> = { insert: ["values", "select"], update: ["set"], delete: [] }

const method = (target: object, name: string): ((...args: ReadonlyArray<unknown>) => unknown) | undefined => {
  const f: unknown = Reflect.get(target, name)
  return typeof f === "function" ? (...args) => Reflect.apply(f, target, args) : undefined
}

/** `insert`, `update` and `delete` of `target`, instrumented for the tables that have rules. */
const writers = (target: object, hooks: Hooks, context: WriteContext) =>
  Object.fromEntries(entries.flatMap((entry) => {
    const original = method(target, entry)
    if (original === undefined) {
      return []
    }
    return [[entry, (table: unknown, ...rest: ReadonlyArray<unknown>) => {
      const builder = original(table, ...rest)
      const plan = hooks.planner(table)
      if (plan === undefined || typeof builder !== "object" || builder === null) {
        return builder
      }
      if (finishers[entry].length === 0) {
        return instrumentWrite(builder, entry, plan, context)
      }
      for (const name of finishers[entry]) {
        const finish = method(builder, name)
        if (finish !== undefined) {
          Reflect.set(builder, name, (...args: ReadonlyArray<unknown>) => instrumentWrite(finish(...args), entry, plan, context))
        }
      }
      return builder
    }]]
  }))

/**
 * Wraps a Drizzle database (or transaction) so that its writes publish events; inside a
 * transaction, `buffer` collects them instead.
 *
 * @internal
 */
export const wrap = <DB extends object>(db: DB, hooks: Hooks, buffer: Buffer | undefined): DB => {
  const { dialect, outbox } = hooks
  /** After the outermost commit: publish, then delete what the outbox kept for a crash. */
  const deliver = (events: ReadonlyArray<InvalidationEvent.InvalidationEvent>, sync: boolean, persisted: unknown) =>
    hooks.publish(events, sync, outbox === undefined ? undefined : () => outbox.remove(db, persisted))
  const context: WriteContext = buffer === undefined
    ? { source: db, dialect, transactionId: undefined, persist: outbox?.write, emit: deliver }
    : {
      source: db,
      dialect,
      transactionId: buffer.id,
      persist: undefined,
      emit: (events) => {
        buffer.events.push(...events)
      }
    }
  const own = writers(db, hooks, context)
  const transaction = method(db, "transaction")
  const withCtes = method(db, "with")
  const overrides: Record<PropertyKey, unknown> = {
    ...own,
    ...(transaction === undefined ? {} : {
      transaction: (callback: (tx: object) => unknown, ...config: ReadonlyArray<unknown>) => {
        const inner: Buffer = { id: buffer?.id ?? randomUUID(), events: [] }
        let persisted: unknown
        const result = transaction((tx: object) => {
          const value = callback(wrap(tx, hooks, inner))
          // The outermost transaction stores its events in the outbox before it commits.
          return buffer !== undefined || outbox === undefined ? value : andThen(value, (committed) =>
            andThen(outbox.write(tx, coalesce(inner.events)), (ids) => {
              persisted = ids
              return committed
            }))
        }, ...config)
        // Reached only when the transaction (or savepoint) committed: a rollback throws or rejects.
        return andThen(result, (value) => {
          if (buffer !== undefined) {
            buffer.events.push(...inner.events)
            return value
          }
          return andThen(deliver(coalesce(inner.events), !isThenable(result), persisted), () => value)
        })
      }
    }),
    ...(withCtes === undefined ? {} : {
      with: (...ctes: ReadonlyArray<unknown>) => {
        const builder = withCtes(...ctes)
        return typeof builder === "object" && builder !== null
          ? Object.assign(builder, writers(builder, hooks, context))
          : builder
      }
    })
  }
  return new Proxy(db, {
    get: (target, property, receiver) =>
      Object.hasOwn(overrides, property) ? overrides[property] : Reflect.get(target, property, receiver)
  })
}
