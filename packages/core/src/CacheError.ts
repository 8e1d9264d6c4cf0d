/**
 * The errors of cachefx. Each one names what went wrong and what to do about it.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"

/**
 * A cache definition (key constructor, TTL, cached value) is invalid. Raised when the
 * definition is made, so a bad definition never reaches a running program.
 *
 * @example
 * ```ts
 * import { CacheError, Ttl } from "@cachefx/core"
 *
 * try {
 *   Ttl.seconds(-1)
 * } catch (error) {
 *   console.log(error instanceof CacheError.CacheDefinitionError) // true
 * }
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class CacheDefinitionError extends Data.TaggedError("CacheDefinitionError")<{
  readonly subject: string
  readonly reason: string
}> {
  override get message(): string {
    return `${this.subject}: ${this.reason}`
  }
}

/**
 * A key could not be built from the given input: a field read a value that has no
 * canonical form (a function, a symbol, a cycle, a class instance, a `Proxy`, state
 * that enumeration misses) or an input the constructor needs is missing.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { CacheError, KeyConstructor, KeyField } from "@cachefx/core"
 *
 * const key = KeyConstructor.make({ namespace: "users", fields: [KeyField.arg("id")] })
 * const program = KeyConstructor.keyFor(key, { id: () => 1 }).pipe(
 *   Effect.catchTag("KeyError", (error) => Effect.succeed(error.message))
 * )
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class KeyError extends Data.TaggedError("KeyError")<{
  readonly namespace: string
  readonly field: string
  readonly reason: string
}> {
  override get message(): string {
    return `Cannot build a key of namespace "${this.namespace}": field "${this.field}" ${this.reason}`
  }
}

/**
 * A value could not be written to or read from the store in its encoded form.
 *
 * @example
 * ```ts
 * import { CacheError } from "@cachefx/core"
 *
 * const error = new CacheError.CacheValueError({
 *   key: "cachefx:users:1:#1",
 *   direction: "encode",
 *   reason: "a Date is not a JSON value; give the cached value a Schema"
 * })
 * console.log(error.message)
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class CacheValueError extends Data.TaggedError("CacheValueError")<{
  readonly key: string
  readonly direction: "encode" | "decode"
  readonly reason: string
}> {
  override get message(): string {
    return this.direction === "encode"
      ? `The value for "${this.key}" cannot be stored: ${this.reason}`
      : `The stored value for "${this.key}" does not decode (it is treated as a miss): ${this.reason}`
  }
}

/**
 * A store operation failed or took longer than the operation timeout.
 *
 * @example
 * ```ts
 * import { CacheError } from "@cachefx/core"
 *
 * const error = new CacheError.CacheStoreError({ operation: "get", reason: "Timeout" })
 * console.log(error.message)
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class CacheStoreError extends Data.TaggedError("CacheStoreError")<{
  readonly operation: string
  readonly reason: "Timeout" | "Unavailable" | "Injected" | "CircuitOpen"
  readonly cause?: unknown
}> {
  override get message(): string {
    switch (this.reason) {
      case "Timeout":
        return `Cache store "${this.operation}" exceeded the operation timeout (setting operationTimeout)`
      case "Injected":
        return `Cache store "${this.operation}" failed by fault injection (TestCache)`
      case "Unavailable":
        return `Cache store "${this.operation}" failed: ${describeCause(this.cause)}`
      case "CircuitOpen":
        return `Cache store "${this.operation}" skipped: its operations kept timing out, and it is probed ` +
          `until it answers (settings breakerThreshold, breakerProbeInterval)`
    }
  }
}

/**
 * A caller waited longer than the hard timeout of a cached value (`timeout.hard`) for
 * its computation. The computation is not interrupted: it goes on in the background and
 * fills the key, so a later call hits.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Cached, KeyConstructor, KeyField } from "@cachefx/core"
 *
 * const getUser = Cached.cached({
 *   key: KeyConstructor.make({ namespace: "users", fields: [KeyField.arg("id")] }),
 *   timeout: { hard: "2 seconds" }
 * })((input: { readonly id: number }) => Effect.succeed({ id: input.id }))
 *
 * const orNone = getUser({ id: 1 }).pipe(
 *   Effect.map((user) => user.id),
 *   Effect.catchTag("CacheTimeoutError", () => Effect.succeed(-1))
 * )
 * ```
 *
 * @since 0.2.0
 * @category errors
 */
export class CacheTimeoutError extends Data.TaggedError("CacheTimeoutError")<{
  readonly cache: string
  readonly key: string
  readonly timeout: Duration.Duration
}> {
  override get message(): string {
    return `Cache "${this.cache}": the computation of "${this.key}" took longer than the hard timeout ` +
      `(timeout.hard, ${Duration.format(this.timeout)}); it goes on in the background and fills the key. ` +
      `Raise timeout.hard, or make the computation faster`
  }
}

/**
 * The errors a cache management call (delete, partition wipe, key lookup) can fail with.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { CacheError } from "@cachefx/core"
 *
 * const describe = (error: CacheError.CacheError) => error._tag === "KeyError" ? error.field : error.operation
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export type CacheError = KeyError | CacheStoreError

const describeCause = (cause: unknown): string =>
  cause instanceof Error ? cause.message : cause === undefined ? "no cause given" : String(cause)
