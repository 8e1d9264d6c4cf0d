/**
 * An `InvalidationEvent` says that a write touched rows of a table. It is a Schema, so a
 * broker can carry it between processes: rows are keyed by database column name and
 * their values should be JSON values when the event crosses a wire.
 *
 * @since 0.1.0
 */
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { tableName } from "./internal/table.js"

/**
 * The kind of write.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { InvalidationEvent } from "@cachefx/core"
 *
 * const operation = Schema.decodeUnknownSync(InvalidationEvent.Operation)("update")
 * ```
 *
 * @since 0.1.0
 * @category schemas
 */
export const Operation = Schema.Literal("insert", "update", "delete")

/**
 * @example
 * ```ts
 * import type { InvalidationEvent } from "@cachefx/core"
 *
 * const operation: InvalidationEvent.Operation = "delete"
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type Operation = typeof Operation.Type

/**
 * One row, keyed by database column name.
 *
 * @example
 * ```ts
 * import { InvalidationEvent } from "@cachefx/core"
 *
 * const row: InvalidationEvent.Row = { id: 1, org_id: 7 }
 * ```
 *
 * @since 0.1.0
 * @category schemas
 */
export const Row = Schema.Record({ key: Schema.String, value: Schema.Unknown })

/**
 * @example
 * ```ts
 * import type { InvalidationEvent } from "@cachefx/core"
 *
 * const row: InvalidationEvent.Row = { id: 1 }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type Row = typeof Row.Type

/**
 * The event.
 * - `rows`: the rows written: after the write for inserts and updates, the deleted rows
 *   for deletes. Empty when the writer does not know them (a bulk update without
 *   `RETURNING`): rules then wipe their namespace.
 * - `before`: where known, the rows before the write, in the order of `rows`.
 * - `changed`: where known, the columns an update set.
 * - `transactionId`: the transaction the write committed in, where known.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { InvalidationEvent } from "@cachefx/core"
 *
 * const wire = Schema.encodeSync(InvalidationEvent.InvalidationEvent)(
 *   InvalidationEvent.make({ table: "users", operation: "delete", rows: [{ id: 1 }] })
 * )
 * ```
 *
 * @since 0.1.0
 * @category schemas
 */
export const InvalidationEvent = Schema.Struct({
  table: Schema.String,
  operation: Operation,
  rows: Schema.Array(Row),
  before: Schema.optionalWith(Schema.Array(Row), { as: "Option" }),
  changed: Schema.optionalWith(Schema.Array(Schema.String), { as: "Option" }),
  transactionId: Schema.optionalWith(Schema.String, { as: "Option" })
})

/**
 * @example
 * ```ts
 * import type { InvalidationEvent } from "@cachefx/core"
 *
 * const tableOf = (event: InvalidationEvent.InvalidationEvent) => event.table
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface InvalidationEvent extends Schema.Schema.Type<typeof InvalidationEvent> {}

/**
 * Makes an event. `table` is a table name or a Drizzle table.
 *
 * @example
 * ```ts
 * import { InvalidationEvent } from "@cachefx/core"
 *
 * const moved = InvalidationEvent.make({
 *   table: "posts",
 *   operation: "update",
 *   rows: [{ id: 3, author_id: 2 }],
 *   before: [{ id: 3, author_id: 1 }],
 *   changed: ["author_id"]
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (input: {
  readonly table: string | object
  readonly operation: Operation
  readonly rows: ReadonlyArray<Row>
  readonly before?: ReadonlyArray<Row> | undefined
  readonly changed?: ReadonlyArray<string> | undefined
  readonly transactionId?: string | undefined
}): InvalidationEvent => ({
  table: tableName(input.table),
  operation: input.operation,
  rows: input.rows,
  before: Option.fromNullable(input.before),
  changed: Option.fromNullable(input.changed),
  transactionId: Option.fromNullable(input.transactionId)
})
