import { CacheError } from "@cachefx/core"
import * as Effect from "effect/Effect"
import type { Deadlines, Pending } from "./deadlines.js"

/**
 * Runs one Redis call as an operation of the store: an ioredis error is a
 * `CacheStoreError` of reason `"Unavailable"`, and a call still pending at its deadline
 * (when there is a timeout) one of reason `"Timeout"`. The deadline is watched by the
 * store's `Deadlines`, not `CacheStore.withTimeout`: the same bound, without its two
 * fibers per operation (which halve hit throughput) or a timer per call. `onExpire`
 * runs when the deadline ends the call: what Redis may still do of it (take a lease)
 * is undone in the background.
 *
 * @internal
 */
export const attempt = <A>(
  operation: string,
  deadlines: Deadlines | undefined,
  run: () => Promise<A>,
  onExpire?: () => void
) =>
  Effect.async<A, CacheError.CacheStoreError>((resume) => {
    const call = new Call(operation, resume, deadlines, onExpire)
    if (deadlines !== undefined) {
      deadlines.watch(call)
    }
    run().then((value) => call.settle(Effect.succeed(value)), (cause) => call.fail("Unavailable", cause))
    // No canceler: it would wrap every call in `onInterrupt`. An interrupted call is
    // still watched until it settles or expires, into a fiber that is gone.
  })

/** One pending call of `attempt`: resumed once, by its answer or by its deadline. */
class Call<A> implements Pending {
  settled = false
  readonly deadline: number

  constructor(
    private readonly operation: string,
    private readonly resume: (effect: Effect.Effect<A, CacheError.CacheStoreError>) => void,
    private readonly deadlines: Deadlines | undefined,
    private readonly onExpire: (() => void) | undefined
  ) {
    this.deadline = deadlines === undefined ? Infinity : deadlines.deadline()
  }

  settle(effect: Effect.Effect<A, CacheError.CacheStoreError>): void {
    if (!this.settled) {
      this.settled = true
      this.deadlines?.settle()
      this.resume(effect)
    }
  }

  fail(reason: "Timeout" | "Unavailable", cause?: unknown): void {
    this.settle(Effect.fail(new CacheError.CacheStoreError({ operation: this.operation, reason, cause })))
  }

  expire(): void {
    this.fail("Timeout")
    this.onExpire?.()
  }
}
