import * as Effect from "effect/Effect"

/**
 * `effect`, then `after()` in the step where it succeeds or fails. Unlike `Effect.ensuring`
 * it adds no uninterruptible region of its own (a mask, a `matchCauseEffect` and two
 * runtime-flag steps, on every invalidation's path several times): inside an
 * uninterruptible region, or around an effect that cannot stop part-way (a synchronous
 * one), `after` always runs; an interruptible effect that is interrupted skips it.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { afterExit } from "./afterExit.js"
 *
 * let running = 1
 * const job = Effect.uninterruptible(afterExit(Effect.log("job"), () => running--))
 * ```
 *
 * @internal
 */
export const afterExit = <A, E, R>(effect: Effect.Effect<A, E, R>, after: () => void): Effect.Effect<A, E, R> =>
  Effect.matchCauseEffect(effect, {
    onFailure: (cause) => {
      after()
      return Effect.failCause(cause)
    },
    onSuccess: (value) => {
      after()
      return Effect.succeed(value)
    }
  })
