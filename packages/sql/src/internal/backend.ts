import type { CacheKey } from "@cachefx/core"
import { CacheError } from "@cachefx/core"
import type * as Effect from "effect/Effect"

/**
 * What one read of a key found: the key's row (an entry, a tombstone, or nothing) and
 * the stamps of its partition and namespace. Absent rows read as 0.
 *
 * - `k`: the key's own stamp, in its row: a hard or soft invalidation of the key gives it
 *   a new number from the store's sequence; a fill keeps it.
 * - `p`, `n`: the soft stamps of the partition and namespace that the entry recorded
 *   when it was filled (the ones its read saw).
 * - `pHard`, `pSoft`, `nHard`, `nSoft`: the stamps now. A hard invalidation sets both to
 *   a new number, a soft one the soft stamp only, so `hard <= soft` always.
 *
 * @internal
 */
export interface Row extends Stored {
  /** The entry's value as JSON; null for a tombstone or no row. */
  readonly value: string | null
  /** Set by a soft invalidation of the key. */
  readonly stale: boolean
  readonly pHard: number
  readonly pSoft: number
  readonly nHard: number
  readonly nSoft: number
}

/** What an entry's row holds besides its value: its times, and the stamps it was filled under. @internal */
export interface Stored {
  readonly cachedAt: number
  readonly expiresAt: number | null
  readonly staleUntil: number | null
  /** When the row may be swept: an entry past it is absent. */
  readonly goneAt: number
  readonly k: number
  readonly p: number
  readonly n: number
}

/** A fill as a backend writes it: the row, and what its read saw of the stamps. @internal */
export interface Fill extends Stored {
  readonly key: CacheKey.CacheKey
  readonly value: string
}

/**
 * The statements of one dialect. Each is one round trip (one statement, or one
 * transaction on SQLite, which runs in process), bounded by the operation timeout by
 * the backend itself (it fails with `TimedOut`); other failures are left to
 * `sqlStore.ts` to turn into `CacheStoreError`s.
 *
 * @internal
 */
export interface Backend {
  /** The store's name in its metrics and spans. */
  readonly name: string
  /** Reads the rows and stamps of `keys`, in order (one statement). */
  readonly read: (keys: ReadonlyArray<CacheKey.CacheKey>) => Effect.Effect<ReadonlyArray<Row>, unknown>
  /**
   * Optional: reads one key and, in the same round trip, takes its lease for `token`
   * until `until` when the key holds no entry it can serve at `now`. `asked`: the key
   * held none (the lease was asked for); `taken`: this read holds it. A backend without
   * it has the lease taken by `CacheStore.make`, in a statement of its own.
   */
  readonly readLeasing?: (
    key: CacheKey.CacheKey,
    token: string,
    until: number,
    now: number
  ) => Effect.Effect<{ readonly row: Row; readonly asked: boolean; readonly taken: boolean }, unknown>
  /**
   * Writes a fill when the stamps and the key's row are still what its read saw; whether
   * it did. With `release`, gives back the lease that token holds, in the same round trip.
   */
  readonly fill: (fill: Fill, release: string | undefined) => Effect.Effect<boolean, unknown>
  /** Gives a key, a partition or a namespace a new stamp (softly: the soft stamp only); a key's entry goes when hard. */
  readonly invalidate: (
    target: CacheKey.Target,
    soft: boolean,
    now: number,
    tombstoneUntil: number
  ) => Effect.Effect<void, unknown>
  /** Takes the lease of a key unless a live one is held: whether it did. */
  readonly acquire: (key: string, token: string, until: number, now: number) => Effect.Effect<boolean, unknown>
  /** Deletes the lease of a key while `token` holds it. */
  readonly release: (key: string, token: string) => Effect.Effect<void, unknown>
  /** Whether a live lease of a key is held. */
  readonly held: (key: string, now: number) => Effect.Effect<boolean, unknown>
  /**
   * Deletes at most `batch` rows that may go: entries and tombstones past their
   * `goneAt`, expired leases, partition stamps unchanged since `stampsBefore`. Gives
   * how many it deleted.
   */
  readonly sweep: (now: number, stampsBefore: number, batch: number) => Effect.Effect<number, unknown>
}

/**
 * A statement that did not answer within the store's operation timeout: the backend
 * gave up on it by itself, without being interrupted (`cached()` reads with a lease in
 * an uninterruptible region, which a timeout by interruption would wait out).
 *
 * @internal
 */
export class TimedOut {
  readonly _tag = "TimedOut"
}

/** The longest name of a table or a schema: PostgreSQL's 63 bytes, less the store's suffixes. */
const longestName = 48

/**
 * A table or schema name, checked: letters, digits and underscores, not starting with a
 * digit, at most 48 characters, so that it needs no escaping and the store's own
 * suffixes (`_stamps`, `_leases`, `_seq`) fit.
 *
 * @internal
 */
export const identifier = (option: string, name: string): string => {
  if (!new RegExp(`^[A-Za-z_][A-Za-z0-9_]{0,${longestName - 1}}$`).test(name)) {
    throw new CacheError.CacheDefinitionError({
      subject: `SqlStore ${option}`,
      reason: `${JSON.stringify(name)} is not a name of letters, digits and underscores ` +
        `(not starting with a digit, at most ${longestName} characters)`
    })
  }
  return name
}
