import { CacheError, type CircuitBreaker } from "@cachefx/core"
import * as Effect from "effect/Effect"
import type { Deadlines, Pending } from "./deadlines.js"

/**
 * What bounds the calls of one store: its deadlines (none without a timeout) and its
 * circuit breaker.
 *
 * @internal
 */
export interface Bounds {
  readonly deadlines: Deadlines | undefined
  readonly breaker: CircuitBreaker.CircuitBreaker
}

/**
 * Runs one Redis call as an operation of the store: an ioredis error is a
 * `CacheStoreError` of reason `"Unavailable"`, and a call still pending at its deadline
 * (when there is a timeout) one of reason `"Timeout"`; while the breaker is open the call
 * is not sent, and fails at once with reason `"CircuitOpen"`. The deadline is watched by
 * the store's `Deadlines`, not `CacheStore.withTimeout`: the same bound, without its two
 * fibers per operation (which halve hit throughput) or a timer per call. `run` may set
 * the call's `undo`, run when the call fails or its deadline ends it: what Redis may
 * still have done of it (take a lease) is undone in the background.
 *
 * @internal
 */
export const attempt = <A>(operation: string, bounds: Bounds, run: (call: Expiring) => Promise<A>) =>
  Effect.async<A, CacheError.CacheStoreError>((resume) => {
    if (!bounds.breaker.unsafeAllow()) {
      resume(Effect.fail(new CacheError.CacheStoreError({ operation, reason: "CircuitOpen" })))
      return
    }
    const call = new Call(operation, resume, bounds)
    bounds.deadlines?.watch(call)
    run(call).then((value) => call.answer(value), (cause) => call.reject(cause))
    // No canceler: it would wrap every call in `onInterrupt`. An interrupted call is
    // still watched until it settles or expires, into a fiber that is gone.
  })

/**
 * What a call's `run` may set: what to undo should the call fail or time out.
 *
 * @internal
 */
export interface Expiring {
  undo: (() => void) | undefined
}

/**
 * One pending call of `attempt`: resumed once, by its answer or by its deadline. Once
 * settled it lets go of its caller (the fiber) and of `undo`: a call that timed
 * out on a connection that never answers stays in the client's queue until the socket
 * dies, and keeps only itself there.
 */
class Call<A> implements Pending, Expiring {
  settled = false
  undo: (() => void) | undefined = undefined
  readonly deadline: number

  constructor(
    private readonly operation: string,
    private resume: ((effect: Effect.Effect<A, CacheError.CacheStoreError>) => void) | undefined,
    private readonly bounds: Bounds
  ) {
    this.deadline = bounds.deadlines === undefined ? Infinity : bounds.deadlines.deadline()
  }

  answer(value: A): void {
    if (this.settle(Effect.succeed(value))) {
      this.bounds.breaker.unsafeAnswered()
    }
  }

  reject(cause: unknown): void {
    const undo = this.undo
    if (this.fail("Unavailable", cause)) {
      this.bounds.breaker.unsafeFailed()
      undo?.()
    }
  }

  expire(): void {
    const undo = this.undo
    if (this.fail("Timeout")) {
      this.bounds.breaker.unsafeTimedOut()
      undo?.()
    }
  }

  private fail(reason: "Timeout" | "Unavailable", cause?: unknown): boolean {
    return this.settle(Effect.fail(new CacheError.CacheStoreError({ operation: this.operation, reason, cause })))
  }

  /** Resumes the caller unless the call has settled already; true when it did. */
  private settle(effect: Effect.Effect<A, CacheError.CacheStoreError>): boolean {
    const resume = this.resume
    if (this.settled || resume === undefined) {
      return false
    }
    this.settled = true
    this.resume = undefined
    this.undo = undefined
    this.bounds.deadlines?.settle()
    resume(effect)
    return true
  }
}
