/**
 * A stored entry: the encoded value and the times that govern it.
 *
 * @since 0.1.0
 */

/**
 * An entry as stores hold it. Times are epoch milliseconds; `null` means never.
 *
 * @example
 * ```ts
 * import type { CacheEntry } from "@cachefx/core"
 *
 * const entry: CacheEntry.CacheEntry = {
 *   value: { name: "Ada" },
 *   cachedAt: 1_700_000_000_000,
 *   expiresAt: 1_700_000_300_000,
 *   staleUntil: 1_700_000_300_000
 * }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface CacheEntry {
  /** The value in its encoded (JSON) form. */
  readonly value: unknown
  /** When the value was computed. */
  readonly cachedAt: number
  /** When the value stops being fresh. */
  readonly expiresAt: number | null
  /** When the value stops being served at all (equals `expiresAt` without a stale window). */
  readonly staleUntil: number | null
}

/**
 * The state of an entry at a given time.
 *
 * @example
 * ```ts
 * import { CacheEntry } from "@cachefx/core"
 *
 * const state: CacheEntry.State = CacheEntry.stateAt({ value: 1, cachedAt: 0, expiresAt: null, staleUntil: null }, 5)
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type State = "Fresh" | "Stale" | "Expired"

/**
 * The state of an entry at `now`.
 *
 * @example
 * ```ts
 * import { CacheEntry } from "@cachefx/core"
 *
 * const entry = { value: 1, cachedAt: 0, expiresAt: 10, staleUntil: 20 }
 * console.log(CacheEntry.stateAt(entry, 15)) // "Stale"
 * ```
 *
 * @since 0.1.0
 * @category utils
 */
export const stateAt = (entry: CacheEntry, now: number): State =>
  entry.expiresAt === null || now < entry.expiresAt
    ? "Fresh"
    : entry.staleUntil !== null && now < entry.staleUntil
    ? "Stale"
    : "Expired"
