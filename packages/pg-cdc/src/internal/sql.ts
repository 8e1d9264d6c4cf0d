import * as Effect from "effect/Effect"
import { ChangeStreamError } from "../ChangeStreamError.js"

/**
 * What this package asks of a client the application passes in: a node-postgres `Pool`
 * or `Client` fits, and so does any client with the same `query`.
 *
 * @internal
 */
export interface Queryable {
  readonly query: (text: string, values?: Array<unknown>) => Promise<{ readonly rows: ReadonlyArray<unknown> }>
}

/** A quoted SQL identifier. @internal */
export const ident = (name: string): string => `"${name.replaceAll("\"", "\"\"")}"`

/** `schema.table`, quoted. @internal */
export const qualified = (schema: string, table: string): string => `${ident(schema)}.${ident(table)}`

/** One query, its failure a `ChangeStreamError` that says what was being done. @internal */
export const query = <Row = Record<string, unknown>>(
  client: Queryable,
  doing: string,
  text: string,
  values: Array<unknown> = []
): Effect.Effect<ReadonlyArray<Row>, ChangeStreamError> =>
  Effect.tryPromise({
    try: () => client.query(text, values).then((result) => result.rows as Array<Row>),
    catch: (cause) => new ChangeStreamError({ reason: `${doing} failed: ${describe(cause)}`, cause })
  })

/** The SQLSTATE of a PostgreSQL error, when it is one. @internal */
export const sqlState = (cause: unknown): string | undefined =>
  typeof cause === "object" && cause !== null && "code" in cause && typeof cause.code === "string"
    ? cause.code
    : undefined

/** @internal */
export const describe = (cause: unknown): string => cause instanceof Error ? cause.message : String(cause)
