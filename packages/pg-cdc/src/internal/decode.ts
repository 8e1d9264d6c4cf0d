import { InvalidationEvent } from "@cachefx/core"
import type { Pgoutput } from "pg-logical-replication"

type Row = InvalidationEvent.Row

/** One changed row, or a truncated table (no rows). */
interface Change {
  readonly table: string
  readonly operation: InvalidationEvent.Operation
  readonly row: Row | undefined
  readonly before: Row | undefined
  readonly changed: ReadonlyArray<string> | undefined
}

/** A decoded tuple as a plain row: a column the tuple did not carry (unchanged TOAST) is left out. */
const plain = (tuple: Record<string, unknown>): Row => {
  const row: Record<string, unknown> = {}
  for (const column in tuple) {
    if (tuple[column] !== undefined) {
      row[column] = tuple[column]
    }
  }
  return row
}

const same = (a: unknown, b: unknown): boolean =>
  a === b || (a instanceof Date && b instanceof Date && a.getTime() === b.getTime()) ||
  (typeof a === "object" && a !== null && JSON.stringify(a) === JSON.stringify(b))

/**
 * An update under a `DEFAULT` or `USING INDEX` replica identity: PostgreSQL sends the old
 * identity columns only when one of them changed, and never says which other columns the
 * update set. So every column outside the identity may have changed, an identity column
 * changed when its old value differs, and the old row is the old identity (or, when it
 * was not sent, the new row's identity, which is the same).
 */
const keyedUpdate = (table: string, message: Pgoutput.MessageUpdate): Change => {
  const row = plain(message.new)
  const identity = message.relation.keyColumns
  const old = message.key === null ? undefined : plain(message.key)
  const changed = message.relation.columns.map((column) => column.name).filter((column) =>
    !identity.includes(column) || (old !== undefined && !same(old[column], row[column]))
  )
  return { table, operation: "update", row, before: old, changed }
}

/** The change a row message makes, for a table a rule names. @internal */
export const change = (
  table: string,
  message: Pgoutput.MessageInsert | Pgoutput.MessageUpdate | Pgoutput.MessageDelete
): Change => {
  switch (message.tag) {
    case "insert":
      return { table, operation: "insert", row: plain(message.new), before: undefined, changed: undefined }
    case "update":
      return message.old === null
        ? keyedUpdate(table, message)
        : { table, operation: "update", row: plain(message.new), before: plain(message.old), changed: undefined }
    case "delete":
      return {
        table,
        operation: "delete",
        row: plain(message.old ?? message.key ?? {}),
        before: undefined,
        changed: undefined
      }
  }
}

/** A truncated table: a delete of rows nobody listed, which wipes the namespace of each rule on deletes. @internal */
export const truncated = (table: string): Change => ({
  table,
  operation: "delete",
  row: undefined,
  before: undefined,
  changed: undefined
})

const sameColumns = (a: ReadonlyArray<string> | undefined, b: ReadonlyArray<string> | undefined) =>
  a === b || (a !== undefined && b !== undefined && a.length === b.length && a.every((column, i) => column === b[i]))

/** Whether `next` can join an event made of `last`'s kind of change. */
const joins = (last: Change, next: Change): boolean =>
  last.table === next.table && last.operation === next.operation &&
  last.row !== undefined && next.row !== undefined &&
  (last.before === undefined) === (next.before === undefined) && sameColumns(last.changed, next.changed)

/**
 * A committed transaction's changes as events, in their order: consecutive changes of one
 * kind (table, operation, whether the old row is known, columns changed) share one event.
 *
 * @internal
 */
export const events = (
  xid: string,
  changes: ReadonlyArray<Change>
): Array<InvalidationEvent.InvalidationEvent> => {
  const out: Array<InvalidationEvent.InvalidationEvent> = []
  let rows: Array<Row> = []
  let before: Array<Row> | undefined
  let last: Change | undefined
  const flush = () => {
    if (last !== undefined) {
      out.push(InvalidationEvent.make({
        table: last.table,
        operation: last.operation,
        rows,
        before,
        changed: last.changed,
        transactionId: xid
      }))
    }
  }
  for (const next of changes) {
    if (last === undefined || !joins(last, next)) {
      flush()
      rows = []
      before = next.before === undefined ? undefined : []
      last = next
    }
    if (next.row !== undefined) {
      rows.push(next.row)
    }
    if (next.before !== undefined) {
      before?.push(next.before)
    }
  }
  flush()
  return out
}
