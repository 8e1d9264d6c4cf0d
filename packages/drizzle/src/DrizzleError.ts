/**
 * The error of a Drizzle database the hooks cannot instrument.
 *
 * @since 0.2.0
 */
import * as Data from "effect/Data"
import { testedRange } from "./internal/version.js"

/**
 * A database the hooks cannot instrument: it is neither a Drizzle PostgreSQL nor a
 * SQLite database, or one of the builder members the hooks rely on (members drizzle-orm
 * does not declare, such as `_prepare` or `config.returning`) is missing or behaves
 * otherwise. `DrizzleHooks.instrument` checks them once, when it is given the database,
 * so a drizzle-orm release that changed them fails there instead of leaving writes
 * uninstrumented. `subject` is what was probed (`database`, a builder such as
 * `db.update(table).set(…).where(…).returning()`, `prepared query`), `member` what
 * changed, `version` drizzle-orm's version when it can be read.
 *
 * @example
 * ```ts
 * import { DrizzleError } from "@cachefx/drizzle"
 *
 * const error = new DrizzleError.UnsupportedDrizzleError({
 *   dialect: "PostgreSQL",
 *   subject: "db.update(table).set(…).where(…)",
 *   member: "_prepare",
 *   reason: "is not a function",
 *   version: "0.46.0"
 * })
 * console.log(error.message)
 * ```
 *
 * @since 0.2.0
 * @category errors
 */
export class UnsupportedDrizzleError extends Data.TaggedError("UnsupportedDrizzleError")<{
  /** `PostgreSQL` or `SQLite`; undefined when the database is of neither. */
  readonly dialect: string | undefined
  readonly subject: string
  readonly member: string
  readonly reason: string
  readonly version: string | undefined
}> {
  override get message(): string {
    if (this.dialect === undefined) {
      return `cachefx: ${this.subject}: \`${this.member}\` ${this.reason}. The Drizzle hooks instrument PostgreSQL ` +
        `and SQLite databases (node-postgres, PGlite, better-sqlite3)`
    }
    const found = this.version === undefined ? "a drizzle-orm whose version could not be read" : `drizzle-orm ${this.version}`
    return `cachefx: ${this.dialect} ${this.subject}: \`${this.member}\` ${this.reason}. The Drizzle hooks rely on it ` +
      `and are tested on drizzle-orm ${testedRange}; this is ${found}: install a drizzle-orm in that range, or a ` +
      `@cachefx/drizzle that supports yours`
  }
}
