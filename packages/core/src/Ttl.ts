/**
 * How long a cached value lives: a fixed duration, forever, with jitter, or with a
 * stale-while-revalidate window in which a stale value is served while it is refreshed
 * in the background. Time is read from Effect's `Clock`, so `TestClock.adjust` drives
 * expiry in tests.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import { dual } from "effect/Function"
import { hasProperty } from "effect/Predicate"
import { CacheDefinitionError } from "./CacheError.js"
import { checkedDuration } from "./internal/duration.js"

/**
 * @since 0.1.0
 * @category type ids
 */
export const TypeId: unique symbol = Symbol.for("@cachefx/core/Ttl")

/**
 * @since 0.1.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * A TTL policy.
 * - `Expiring`: fresh for `fresh`, then served stale (and refreshed) for `stale`. With
 *   `jitter` f, each entry's fresh time is shortened by a random fraction of up to f, so
 *   entries filled together do not expire together. With `refreshAhead` r (0: off), a
 *   hit past the fraction r of the entry's fresh time refreshes it in the background.
 * - `Forever`: never expires.
 * - `None`: the value is not stored (useful as a per-value TTL).
 *
 * @example
 * ```ts
 * import { Ttl } from "@cachefx/core"
 *
 * const policy: Ttl.Ttl = Ttl.staleWhileRevalidate({ fresh: "1 minute", stale: "1 hour" })
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type Ttl = Expiring | Forever | None

/**
 * @example
 * ```ts
 * import { Ttl } from "@cachefx/core"
 *
 * const fresh = (ttl: Ttl.Ttl) => ttl._tag === "Expiring" ? ttl.fresh : undefined
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Expiring {
  readonly [TypeId]: TypeId
  readonly _tag: "Expiring"
  readonly fresh: Duration.Duration
  readonly stale: Duration.Duration
  readonly jitter: number
  /** The fraction of an entry's fresh time after which a hit refreshes it in the background; 0: never. */
  readonly refreshAhead: number
}

/**
 * @example
 * ```ts
 * import { Ttl } from "@cachefx/core"
 *
 * const never: Ttl.Forever = Ttl.forever
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Forever {
  readonly [TypeId]: TypeId
  readonly _tag: "Forever"
}

/**
 * @example
 * ```ts
 * import { Ttl } from "@cachefx/core"
 *
 * const skip: Ttl.None = Ttl.none
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface None {
  readonly [TypeId]: TypeId
  readonly _tag: "None"
}

/**
 * What a TTL can be given as: a policy or any `Duration` input (`300`, meaning
 * milliseconds, `"5 minutes"`, `Duration.seconds(5)`).
 *
 * @example
 * ```ts
 * import { Duration } from "effect"
 * import type { Ttl } from "@cachefx/core"
 *
 * const inputs: ReadonlyArray<Ttl.TtlInput> = ["5 minutes", 1500, Duration.seconds(30)]
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type TtlInput = Ttl | Duration.DurationInput

/**
 * Never expires.
 *
 * @example
 * ```ts
 * import { Ttl } from "@cachefx/core"
 *
 * const policy = Ttl.forever
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const forever: Forever = { [TypeId]: TypeId, _tag: "Forever" }

/**
 * Not stored at all.
 *
 * @example
 * ```ts
 * import { Ttl } from "@cachefx/core"
 *
 * // do not cache empty results
 * const ttl = (items: ReadonlyArray<unknown>) => items.length === 0 ? Ttl.none : Ttl.minutes(5)
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const none: None = { [TypeId]: TypeId, _tag: "None" }

const expiring = (fresh: Duration.Duration, stale: Duration.Duration, jitter: number): Ttl => {
  if (!Duration.isFinite(fresh)) {
    return forever
  }
  const total = Duration.sum(fresh, stale)
  return Duration.isZero(total) ? none : { [TypeId]: TypeId, _tag: "Expiring", fresh, stale, jitter, refreshAhead: 0 }
}

/**
 * Fresh for the given duration. A zero duration means `none`.
 *
 * @example
 * ```ts
 * import { Ttl } from "@cachefx/core"
 *
 * const a = Ttl.duration("10 minutes")
 * const b = Ttl.duration(1500) // milliseconds
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const duration = (input: Duration.DurationInput): Ttl =>
  expiring(checkedDuration("Ttl.duration", input), Duration.zero, 0)

/**
 * Fresh for `n` seconds. Throws a `CacheDefinitionError` for a negative or non-finite
 * number.
 *
 * @example
 * ```ts
 * import { Ttl } from "@cachefx/core"
 *
 * const policy = Ttl.seconds(300)
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const seconds = (n: number): Ttl => {
  if (!Number.isFinite(n) || n < 0) {
    throw new CacheDefinitionError({ subject: "Ttl.seconds", reason: `${n} is not a non-negative number of seconds` })
  }
  return expiring(Duration.seconds(n), Duration.zero, 0)
}

/**
 * Fresh for `n` minutes.
 *
 * @example
 * ```ts
 * import { Ttl } from "@cachefx/core"
 *
 * const policy = Ttl.minutes(5)
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const minutes = (n: number): Ttl => seconds(n * 60)

/**
 * Fresh for `fresh`, then served stale for `stale` while one background refresh runs.
 *
 * @example
 * ```ts
 * import { Ttl } from "@cachefx/core"
 *
 * const policy = Ttl.staleWhileRevalidate({ fresh: "1 minute", stale: "10 minutes" })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const staleWhileRevalidate = (options: {
  readonly fresh: Duration.DurationInput
  readonly stale: Duration.DurationInput
}): Ttl =>
  expiring(
    checkedDuration("Ttl.staleWhileRevalidate fresh", options.fresh),
    checkedDuration("Ttl.staleWhileRevalidate stale", options.stale),
    0
  )

/**
 * Shortens each entry's fresh time by a random fraction of up to `fraction` (between 0
 * and 1), so that entries filled together expire apart. No effect on `forever` and
 * `none`.
 *
 * @example
 * ```ts
 * import { Ttl } from "@cachefx/core"
 *
 * const policy = Ttl.jitter(Ttl.minutes(10), 0.1) // expires after 9 to 10 minutes
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const jitter = (ttl: TtlInput, fraction: number): Ttl => {
  if (!(fraction >= 0 && fraction < 1)) {
    throw new CacheDefinitionError({ subject: "Ttl.jitter", reason: `fraction ${fraction} is not in [0, 1)` })
  }
  const policy = decode(ttl)
  return policy._tag === "Expiring" ? { ...policy, jitter: fraction } : policy
}

/**
 * Refreshes a hot entry before it expires: a fresh hit after `fraction` (between 0 and 1,
 * both excluded) of the entry's fresh time, that is after
 * `cachedAt + fraction × (expiresAt − cachedAt)`, is answered at once and starts one
 * background refresh of the key: once per key in a process, and once across processes
 * when the store has leases. A key read steadily then never misses. Throws a
 * `CacheDefinitionError` for a fraction outside (0, 1). No effect on `forever` and `none`.
 *
 * @example
 * ```ts
 * import { pipe } from "effect"
 * import { Ttl } from "@cachefx/core"
 *
 * // fresh for 10 minutes; the first hit after 8 minutes refreshes it in the background
 * const policy = Ttl.refreshAhead(Ttl.minutes(10), 0.8)
 * const same = pipe(Ttl.minutes(10), Ttl.refreshAhead(0.8))
 * ```
 *
 * @since 0.2.0
 * @category combinators
 */
export const refreshAhead: {
  (fraction: number): (ttl: TtlInput) => Ttl
  (ttl: TtlInput, fraction: number): Ttl
} = dual(2, (ttl: TtlInput, fraction: number): Ttl => {
  if (!(fraction > 0 && fraction < 1)) {
    throw new CacheDefinitionError({ subject: "Ttl.refreshAhead", reason: `fraction ${fraction} is not in (0, 1)` })
  }
  const policy = decode(ttl)
  return policy._tag === "Expiring" ? { ...policy, refreshAhead: fraction } : policy
})

/**
 * The time (epoch milliseconds) after which a hit on an entry filled at `cachedAt`, fresh
 * until `expiresAt`, refreshes it ahead under a policy; `undefined` when it never does.
 *
 * @example
 * ```ts
 * import { Ttl } from "@cachefx/core"
 *
 * console.log(Ttl.refreshAt(Ttl.refreshAhead(Ttl.seconds(10), 0.5), 1_000, 11_000)) // 6000
 * ```
 *
 * @since 0.2.0
 * @category utils
 */
export const refreshAt = (ttl: Ttl, cachedAt: number, expiresAt: number | null): number | undefined =>
  ttl._tag === "Expiring" && ttl.refreshAhead > 0 && expiresAt !== null
    ? cachedAt + ttl.refreshAhead * (expiresAt - cachedAt)
    : undefined

/**
 * Whether a value is a TTL policy.
 *
 * @example
 * ```ts
 * import { Ttl } from "@cachefx/core"
 *
 * console.log(Ttl.isTtl(Ttl.forever)) // true
 * ```
 *
 * @since 0.1.0
 * @category guards
 */
export const isTtl = (u: unknown): u is Ttl => hasProperty(u, TypeId)

/**
 * Turns any TTL input into a policy.
 *
 * @example
 * ```ts
 * import { Ttl } from "@cachefx/core"
 *
 * const policy = Ttl.decode("30 seconds")
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const decode = (input: TtlInput): Ttl => (isTtl(input) ? input : duration(input))

/**
 * When an entry filled at `now` under a policy stops being fresh (`expiresAt`) and stops
 * being served at all (`staleUntil`), in epoch milliseconds; `null` means never. `random`
 * is a number in [0, 1) that picks the jitter. Returns `undefined` for `none`.
 *
 * @example
 * ```ts
 * import { Ttl } from "@cachefx/core"
 *
 * const deadlines = Ttl.deadlines(Ttl.seconds(10), 1_000, 0)
 * console.log(deadlines) // { expiresAt: 11000, staleUntil: 11000 }
 * ```
 *
 * @since 0.1.0
 * @category utils
 */
export const deadlines = (
  ttl: Ttl,
  now: number,
  random: number
): { readonly expiresAt: number | null; readonly staleUntil: number | null } | undefined => {
  switch (ttl._tag) {
    case "None":
      return undefined
    case "Forever":
      return { expiresAt: null, staleUntil: null }
    case "Expiring": {
      const fresh = Duration.toMillis(ttl.fresh) * (1 - ttl.jitter * random)
      const expiresAt = now + Math.floor(fresh)
      return { expiresAt, staleUntil: expiresAt + Duration.toMillis(ttl.stale) }
    }
  }
}
