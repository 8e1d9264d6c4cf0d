import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as CacheEntry from "../../CacheEntry.js"
import type { Settings } from "../../CacheSettings.js"
import type { Lookup } from "../../CacheStore.js"
import * as Ttl from "../../Ttl.js"
import { type Definition, ttlOf } from "./definition.js"

/**
 * A live entry, decoded: fresh, or stale (past its freshness, or invalidated softly) and
 * within its stale-while-revalidate window.
 *
 * @internal
 */
export interface Hit<A> {
  readonly value: A
  readonly entry: CacheEntry.CacheEntry
  readonly fresh: boolean
}

/**
 * Why a stored entry could not be served: it does not decode.
 *
 * @internal
 */
export interface Undecodable {
  readonly _tag: "Undecodable"
  readonly reason: string
}

/** Whether an entry's TTL has a stale-while-revalidate window. */
const hasStaleWindow = (entry: CacheEntry.CacheEntry): boolean =>
  entry.expiresAt !== null && entry.staleUntil !== null && entry.staleUntil > entry.expiresAt

/**
 * The live entry of a lookup at `now`, decoded; `undefined` when there is none. An
 * entry invalidated softly is stale, and live only while its TTL's stale-while-revalidate
 * window lasts (without one, it is a miss).
 *
 * @internal
 */
export const live = <A>(
  def: Definition<any, A, any, any>,
  lookup: Lookup | undefined,
  now: number
): Hit<A> | Undecodable | undefined => {
  if (lookup === undefined || Option.isNone(lookup.entry)) {
    return undefined
  }
  const entry = lookup.entry.value
  const state = CacheEntry.stateAt(entry, now)
  const softened = lookup.stale === true
  if (state === "Expired" || (softened && !hasStaleWindow(entry))) {
    return undefined
  }
  const decoded = def.codec.decode(entry.value)
  return Either.isRight(decoded)
    ? { value: decoded.right, entry, fresh: state === "Fresh" && !softened }
    : { _tag: "Undecodable", reason: decoded.left }
}

/**
 * Whether a fresh entry is past the refresh-ahead point of its value's policy at `now`.
 *
 * @internal
 */
export const due = <A>(def: Definition<any, A, any, any>, settings: Settings, hit: Hit<A>, now: number): boolean => {
  const at = Ttl.refreshAt(ttlOf(def, hit.value, settings), hit.entry.cachedAt, hit.entry.expiresAt)
  return at !== undefined && now >= at
}

/**
 * The entry of a lookup when it needs no computation: fresh, and not due for a refresh
 * ahead. An entry that does not decode is not reported here: this is a read again of
 * the key, and the read that missed reported it.
 *
 * @internal
 */
export const freshHit = <A>(
  def: Definition<any, A, any, any>,
  settings: Settings,
  lookup: Lookup,
  now: number
): Hit<A> | undefined => {
  const hit = live(def, lookup, now)
  return hit === undefined || "_tag" in hit || !hit.fresh || due(def, settings, hit, now) ? undefined : hit
}
