import type { InvalidationEvent } from "@cachefx/core"
import * as Option from "effect/Option"
import type { TablePlan } from "./tables.js"

type Row = Record<string, unknown>

/**
 * Old and new rows of an update, in the order an `InvalidationEvent` pairs them.
 * `aligned` when every row found its old row by primary key; otherwise the rows stay as
 * read and the event carries the columns the update set instead of a per-row diff.
 *
 * @internal
 */
export interface Paired {
  readonly rows: ReadonlyArray<Row>
  readonly before: ReadonlyArray<Row>
  readonly aligned: boolean
}

const identity = (value: unknown): string => `${typeof value}:${String(value)}`

/** @internal */
export const pair = (plan: TablePlan, rows: ReadonlyArray<Row>, before: ReadonlyArray<Row>): Paired => {
  const key = plan.primaryKey?.name
  if (key === undefined || rows.length !== before.length) {
    return { rows, before, aligned: false }
  }
  const old = new Map(before.map((row) => [identity(row[key]), row]))
  const ordered = rows.flatMap((row) => {
    const prior = old.get(identity(row[key]))
    return prior === undefined ? [] : [prior]
  })
  return ordered.length === rows.length
    ? { rows, before: ordered, aligned: true }
    : { rows, before, aligned: false }
}

/**
 * Merges the events of one transaction that differ only in their rows, so a transaction
 * of many like writes is one event per table and kind of write.
 *
 * @internal
 */
export const coalesce = (
  events: ReadonlyArray<InvalidationEvent.InvalidationEvent>
): ReadonlyArray<InvalidationEvent.InvalidationEvent> => {
  const merged = new Map<string, InvalidationEvent.InvalidationEvent>()
  for (const event of events) {
    const id = JSON.stringify([event.table, event.operation, Option.isSome(event.before), Option.getOrNull(event.changed)])
    const seen = merged.get(id)
    merged.set(
      id,
      seen === undefined ? event : {
        ...seen,
        rows: [...seen.rows, ...event.rows],
        before: Option.zipWith(seen.before, event.before, (a, b) => [...a, ...b])
      }
    )
  }
  return [...merged.values()]
}
