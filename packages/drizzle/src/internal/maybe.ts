import { hasProperty } from "effect/Predicate"

/**
 * A value that synchronous drivers (better-sqlite3) give at once and asynchronous ones
 * as a promise: the hooks keep a synchronous call synchronous.
 *
 * @internal
 */
export type Maybe<A> = A | PromiseLike<A>

/** @internal */
export const isThenable = <A>(u: Maybe<A>): u is PromiseLike<A> => hasProperty(u, "then") && typeof u.then === "function"

/** @internal */
export const andThen = <A, B>(self: Maybe<A>, f: (a: A) => Maybe<B>): Maybe<B> =>
  isThenable(self) ? self.then(f) : f(self)
