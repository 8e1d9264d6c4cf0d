import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import type * as CacheKey from "../CacheKey.js"

interface Flight<A, E> {
  readonly key: CacheKey.CacheKey
  /** Completed with the computation's exit, or `undefined` when its leader was interrupted. */
  readonly result: Deferred.Deferred<Exit.Exit<A, E> | undefined>
  /** A refresh of a value that may still be served stale: `wait` does not give it. */
  readonly refresh: boolean
  /** The copies of its value for the callers that joined it, made for the first of them. */
  copies: (() => A) | undefined
}

/**
 * Concurrent callers of one key share one computation. The caller that finds no flight
 * leads: it runs `compute` and then `store`; the others wait for the computation only.
 *
 * - A failure is handed to the callers that were waiting for it and is never kept: the
 *   next caller computes again.
 * - When the leader is interrupted, the waiters do not inherit the interruption: one of
 *   them leads a new computation.
 * - `detach` forgets flights that an invalidation made stale, so that a caller arriving
 *   after the invalidation never joins a computation that began before it.
 * - Each caller that joins a flight is handed a value of its own (`share`), so callers
 *   never share a mutable value. The copies are made once per flight, so that the work
 *   common to all of them (encoding the value) is not done again for each caller.
 * - A flight run as a `refresh` (of a value still served stale) is joined by `run`, but
 *   not given by `wait`: a caller reads the store first, and is served the stale value
 *   rather than wait for the refresh.
 *
 * @internal
 */
export class SingleFlight<A, E> {
  private readonly flights = new Map<string, Flight<A, E>>()

  /**
   * `share` makes the copies of a computed value that the callers who join its flight
   * get, one each (the leader keeps the computed value).
   */
  constructor(private readonly share: (value: A) => () => A = (value) => () => value) {}

  /** The exit a caller that joined `flight` gets: a failure as it is, a value of its own. */
  private shared(flight: Flight<A, E>, exit: Exit.Exit<A, E>): Exit.Exit<A, E> {
    if (Exit.isFailure(exit)) {
      return exit
    }
    const copies = flight.copies ??= this.share(exit.value)
    return Exit.succeed(copies())
  }

  /** `joining`, when given, runs before a caller that finds a flight under way waits for it. */
  run<R, R2>(
    key: CacheKey.CacheKey,
    compute: Effect.Effect<A, E, R>,
    store: (value: A) => Effect.Effect<void, never, R2>,
    refresh = false,
    joining?: Effect.Effect<void>
  ): Effect.Effect<A, E, R | R2> {
    return Effect.suspend(() => {
      const under = this.flights.get(key.key)
      if (under !== undefined) {
        const waiting = Effect.flatMap(Deferred.await(under.result), (exit): Effect.Effect<A, E, R | R2> =>
          exit === undefined ? this.run(key, compute, store, refresh, joining) : this.shared(under, exit))
        return joining === undefined ? waiting : Effect.zipRight(joining, waiting)
      }
      const flight: Flight<A, E> = { key, result: Deferred.unsafeMake(FiberId.none), refresh, copies: undefined }
      this.flights.set(key.key, flight)
      return compute.pipe(
        Effect.onExit((exit) =>
          Deferred.succeed(
            flight.result,
            Exit.isFailure(exit) && Cause.isInterruptedOnly(exit.cause) ? undefined : exit
          )
        ),
        Effect.tap(store),
        Effect.ensuring(Effect.sync(() => this.forget(flight)))
      )
    })
  }

  /**
   * Waits for the computation of a key under way: its exit, or `undefined` when its
   * leader was interrupted. Gives `undefined` at once when no computation is under way,
   * or only a refresh.
   */
  wait(key: string): Effect.Effect<Exit.Exit<A, E> | undefined> | undefined {
    const flight = this.flights.get(key)
    return flight === undefined || flight.refresh
      ? undefined
      : Effect.map(Deferred.await(flight.result), (exit) => exit === undefined ? undefined : this.shared(flight, exit))
  }

  /** Whether a computation of the key is under way. */
  has(key: string): boolean {
    return this.flights.has(key)
  }

  /** Forgets every flight whose key matches. */
  detach(matches: (key: CacheKey.CacheKey) => boolean): void {
    for (const flight of this.flights.values()) {
      if (matches(flight.key)) {
        this.flights.delete(flight.key.key)
      }
    }
  }

  private forget(flight: Flight<A, E>): void {
    if (this.flights.get(flight.key.key) === flight) {
      this.flights.delete(flight.key.key)
    }
  }
}
