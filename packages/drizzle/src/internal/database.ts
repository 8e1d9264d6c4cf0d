import { begin, type Destination, emit, type Transaction } from "./delivery.js"
import type { Dialect } from "./dialect.js"
import { andThen, isThenable } from "./maybe.js"
import { coalesce } from "./rows.js"
import type { Planner } from "./tables.js"
import { instrumentWrite, type WriteContext } from "./writes.js"

/**
 * What an instrumented database needs: its dialect's adapter, the plans of the tables,
 * and where the events of its writes go.
 *
 * @internal
 */
export interface Hooks {
  readonly dialect: Dialect
  readonly planner: Planner
  readonly destination: Destination
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
 * transaction, `transaction` collects them until the outermost commit.
 *
 * @internal
 */
export const wrap = <DB extends object>(db: DB, hooks: Hooks, transaction: Transaction | undefined): DB => {
  const { destination, dialect } = hooks
  const { outbox } = destination
  const context: WriteContext = { source: db, dialect, destination, transaction }
  const own = writers(db, hooks, context)
  const openTransaction = method(db, "transaction")
  const withCtes = method(db, "with")
  const overrides: Record<PropertyKey, unknown> = {
    ...own,
    ...(openTransaction === undefined ? {} : {
      transaction: (callback: (tx: object) => unknown, ...config: ReadonlyArray<unknown>) => {
        const inner = begin(transaction)
        let persisted: unknown
        const result = openTransaction((tx: object) => {
          const value = callback(wrap(tx, hooks, inner))
          // The outermost transaction stores its events in the outbox before it commits.
          return transaction !== undefined || outbox === undefined ? value : andThen(value, (committed) =>
            andThen(outbox.write(tx, coalesce(inner.events)), (ids) => {
              persisted = ids
              return committed
            }))
        }, ...config)
        // Reached only when the transaction (or savepoint) committed: a rollback throws or rejects.
        return andThen(result, (value) =>
          andThen(emit(context, coalesce(inner.events), !isThenable(result), persisted), () => value))
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
