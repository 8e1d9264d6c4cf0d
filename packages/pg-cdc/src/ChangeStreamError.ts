/**
 * The errors of the change stream, each with a message a user can act on.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"

/**
 * A statement the change stream runs against PostgreSQL failed (connecting, reading the
 * catalog, creating the publication or the slot), or the server cannot stream changes
 * (`wal_level` is not `logical`).
 *
 * @example
 * ```ts
 * import { ChangeStreamError } from "@cachefx/pg-cdc"
 *
 * const error = new ChangeStreamError.ChangeStreamError({ reason: "creating the slot failed: permission denied" })
 * console.log(error.message)
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class ChangeStreamError extends Data.TaggedError("ChangeStreamError")<{
  readonly reason: string
  readonly cause?: unknown
}> {
  override get message(): string {
    return `cachefx change stream: ${this.reason}`
  }
}

/**
 * A table's `REPLICA IDENTITY` does not give what its rules need: the old values of the
 * columns they map, so an update that moves a row invalidates where the row was. Raised
 * when the change stream starts; `statement` fixes it (or start with
 * `replicaIdentity: "apply"`, which runs it).
 *
 * @example
 * ```ts
 * import { ChangeStreamError } from "@cachefx/pg-cdc"
 *
 * const error = new ChangeStreamError.ReplicaIdentityError({
 *   table: "public.posts",
 *   reason: "its rules map author_id, which its replica identity (id) does not hold",
 *   statement: "ALTER TABLE \"public\".\"posts\" REPLICA IDENTITY FULL"
 * })
 * console.log(error.message)
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class ReplicaIdentityError extends Data.TaggedError("ReplicaIdentityError")<{
  readonly table: string
  readonly reason: string
  readonly statement: string
}> {
  override get message(): string {
    return `cachefx change stream: table ${this.table}: ${this.reason}; run \`${this.statement}\` ` +
      `(or start the change stream with replicaIdentity: "apply")`
  }
}

/**
 * The slot's confirmed position did not reach the awaited one in time: no consumer holds
 * the slot, or it lags by more than the timeout.
 *
 * @example
 * ```ts
 * import { ChangeStreamError } from "@cachefx/pg-cdc"
 *
 * const error = new ChangeStreamError.AppliedTimeoutError({ slot: "cachefx", lsn: "0/16B3748", confirmed: "0/16B3700", timeout: "2 seconds" })
 * console.log(error.message)
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class AppliedTimeoutError extends Data.TaggedError("AppliedTimeoutError")<{
  readonly slot: string
  readonly lsn: string
  /** The slot's confirmed position when the wait gave up; absent when there is no such slot. */
  readonly confirmed: string | undefined
  readonly timeout: string
}> {
  override get message(): string {
    return this.confirmed === undefined
      ? `cachefx change stream: there is no replication slot "${this.slot}" (create it: npx cachefx cdc create)`
      : `cachefx change stream: slot "${this.slot}" confirmed ${this.confirmed}, not yet ${this.lsn}, ` +
        `after ${this.timeout}: is a consumer running (npx cachefx cdc inspect)?`
  }
}
