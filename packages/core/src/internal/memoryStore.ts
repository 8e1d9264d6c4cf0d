import type * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { CacheDefinitionError } from "../CacheError.js"
import type * as CacheEntry from "../CacheEntry.js"
import type * as CacheKey from "../CacheKey.js"
import { CacheSettings } from "../CacheSettings.js"
import * as CacheStore from "../CacheStore.js"
import { copyJson, isImmutableJson } from "./codec.js"

interface Slot {
  /**
   * The entry, with a copy of its own of the value it was given (each read gets a copy of
   * that), or, when its value can never change, the entry itself, frozen.
   */
  readonly entry: CacheEntry.CacheEntry
  /** Whether the value is an object that can change, which each read copies. */
  readonly copied: boolean
  readonly partition: string
  readonly namespace: string
  /** The sequence number of the read this entry was filled after. */
  readonly filledAt: number
  /** Set by a soft delete of its key or soft wipe of its partition. */
  readonly stale: boolean
  /** Set by a read since eviction last passed over the entry: it is then spared once (second chance). */
  used: boolean
}

/** The segment of a key that starts at `start`: up to the next `:`, or the end. */
const segmentAt = (key: string, start: number): string => {
  const end = key.indexOf(":", start)
  return end === -1 ? key.slice(start) : key.slice(start, end)
}

/** Keys `deleteVersions` looks at before it yields. */
const versionBatch = 1000

interface Guard {
  /** The last invalidation sequence number when the reader read. */
  readonly seq: number
  /** The clock when the reader read. */
  readonly at: number
}

interface Invalidation {
  readonly seq: number
  readonly at: number
}

/**
 * The in-memory store: it implements every operation of a `CacheStore.Service` itself.
 *
 * - `entries` is a Map in insertion order with a second chance (CLOCK): a read marks
 *   its entry used, and eviction moves a used entry to the end instead of evicting it,
 *   clearing the mark. A read is a lookup and a flag, not a delete and an insertion of
 *   the Map, and the order approximates least-recently-used (bench/core.ts).
 * - `partitions` indexes the keys of each partition, so a wipe is O(partition).
 * - `namespaces` holds the sequence number of each namespace's last wipe: an entry
 *   filled before it is dead (a namespace wipe is O(1); dead entries go when read or
 *   evicted). Namespaces are few, so this map stays small.
 * - `softened` holds the sequence number of each namespace's last soft wipe: an entry
 *   filled before it is stale (O(1) too).
 * - `recent` remembers key deletions and partition wipes, hard or soft, for
 *   `fillWindow`, so that a fill which read before one of them is refused; fills older
 *   than the window are refused anyway. It holds at most `remembered` of them: past
 *   that, the oldest is forgotten and `forgotten` rises to its sequence number, and a
 *   fill that read before it is refused whatever its key (a wider answer, never a
 *   stale one: the cost is a fill skipped, when more than `remembered` invalidations
 *   land while one value computes).
 *
 * - A value that is an object (JSON, as the codec encodes it) is kept as a copy of its
 *   own, and every read gets a copy of that, as every read of the Redis store parses
 *   one: no two callers share a mutable value, and a caller that changes the value it
 *   computed does not change the stored one. A value that can never change (deeply
 *   frozen: `isImmutableJson`) is kept and handed out as it is, in a frozen entry: no
 *   caller can change it for another, so a copy would protect nothing.
 *
 * A soft delete or partition wipe marks the entries it reaches stale (O(partition), as a
 * hard wipe is). A fill that read before a soft invalidation is refused, as after a hard
 * one: its value was computed from the data the invalidation replaced, and the entry it
 * would have replaced (now stale) stays to be served while a refresh that read after
 * the invalidation runs.
 */
class MemoryStore implements CacheStore.Service {
  private readonly entries = new Map<string, Slot>()
  private readonly partitions = new Map<string, Set<string>>()
  private readonly namespaces = new Map<string, number>()
  private readonly softened = new Map<string, number>()
  private readonly recent = new Map<string, Invalidation>()
  /** The sequence number of the newest invalidation forgotten for the count bound. */
  private forgotten = -1
  private seq = 0
  /** Entries evicted to stay within capacity so far: read by the store's metrics. */
  evictions = 0

  constructor(
    private readonly capacity: number,
    private readonly remembered: number,
    private readonly fillWindow: number,
    private readonly clock: Clock.Clock
  ) {}

  get = (key: CacheKey.CacheKey) => Effect.sync(() => this.read(key, this.clock.unsafeCurrentTimeMillis()))

  /** A method, not a field: `observed` hands it on as a property that a spread of the store does not copy. */
  getSync(key: CacheKey.CacheKey, now?: number): CacheEntry.CacheEntry | undefined {
    const slot = this.entries.get(key.key)
    if (slot === undefined || this.isStale(slot) || !this.isLive(slot, now ?? this.clock.unsafeCurrentTimeMillis())) {
      return undefined
    }
    slot.used = true
    return this.copyOf(slot)
  }

  getMany = (keys: ReadonlyArray<CacheKey.CacheKey>) =>
    Effect.sync(() => {
      const now = this.clock.unsafeCurrentTimeMillis()
      return keys.map((key) => this.read(key, now))
    })

  set = (key: CacheKey.CacheKey, entry: CacheEntry.CacheEntry, fillGuard: CacheStore.FillGuard) =>
    Effect.sync(() => {
      const guard = fillGuard as unknown as Guard
      const now = this.clock.unsafeCurrentTimeMillis()
      this.prune(now)
      if (
        now - guard.at > this.fillWindow ||
        this.invalidatedSince(key.key, guard) ||
        this.invalidatedSince(key.partition, guard) ||
        (this.namespaces.get(key.namespace) ?? -1) > guard.seq ||
        (this.softened.get(key.namespace) ?? -1) > guard.seq
      ) {
        return false
      }
      const previous = this.entries.get(key.key)
      if (previous !== undefined) {
        this.remove(key.key, previous)
      }
      const copied = !isImmutableJson(entry.value)
      this.entries.set(key.key, {
        entry: copied ? { ...entry, value: copyJson(entry.value) } : Object.freeze({ ...entry }),
        copied,
        partition: key.partition,
        namespace: key.namespace,
        filledAt: guard.seq,
        stale: false,
        used: false
      })
      let keys = this.partitions.get(key.partition)
      if (keys === undefined) {
        keys = new Set()
        this.partitions.set(key.partition, keys)
      }
      keys.add(key.key)
      this.evict()
      return true
    })

  invalidate = (target: CacheKey.Target, options?: CacheStore.InvalidateOptions) =>
    Effect.sync(() => {
      const soft = options?.soft === true
      switch (target._tag) {
        case "Key":
          return this.invalidateKey(target.key, soft)
        case "Partition":
          return this.invalidatePartition(target.partition, soft)
        case "Namespace":
          // O(1): entries filled before it are dead (or stale) when read
          return void (soft ? this.softened : this.namespaces).set(target.namespace, ++this.seq)
      }
    })

  deleteVersions = (namespace: string, previous: (version: string) => boolean) =>
    Effect.suspend(() => {
      const start = namespace.length + 1
      const keys = [...this.entries.keys()].filter((key) => key.startsWith(namespace + ":"))
      let deleted = 0
      const batch = (from: number): Effect.Effect<number> =>
        from >= keys.length ? Effect.succeed(deleted) : Effect.suspend(() => {
          for (const key of keys.slice(from, from + versionBatch)) {
            const slot = this.entries.get(key)
            if (slot !== undefined && slot.namespace === namespace && previous(segmentAt(key, start))) {
              this.remove(key, slot)
              deleted++
            }
          }
          return Effect.zipRight(Effect.yieldNow(), batch(from + versionBatch))
        })
      return batch(0)
    })

  private invalidateKey(key: string, soft: boolean): void {
    const slot = this.entries.get(key)
    if (slot !== undefined) {
      if (soft) {
        this.soften(key, slot)
      } else {
        this.remove(key, slot)
      }
    }
    this.remember(key)
  }

  private invalidatePartition(partition: string, soft: boolean): void {
    const keys = this.partitions.get(partition)
    if (keys !== undefined) {
      if (soft) {
        for (const key of keys) {
          this.soften(key, this.entries.get(key)!)
        }
      } else {
        for (const key of keys) {
          this.entries.delete(key)
        }
        this.partitions.delete(partition)
      }
    }
    this.remember(partition)
  }

  private read(key: CacheKey.CacheKey, now: number): CacheStore.Lookup {
    const guard = { seq: this.seq, at: now } as Guard as unknown as CacheStore.FillGuard
    const slot = this.entries.get(key.key)
    if (slot === undefined) {
      return { entry: Option.none(), guard }
    }
    if (!this.isLive(slot, now)) {
      this.remove(key.key, slot)
      return { entry: Option.none(), guard }
    }
    slot.used = true
    const entry = Option.some(this.copyOf(slot))
    return this.isStale(slot) ? { entry, guard, stale: true } : { entry, guard }
  }

  /** The entry of a slot as a read gives it: with a copy of its own of a value that can change. */
  private copyOf(slot: Slot): CacheEntry.CacheEntry {
    const entry = slot.entry
    return slot.copied
      ? { value: copyJson(entry.value), cachedAt: entry.cachedAt, expiresAt: entry.expiresAt, staleUntil: entry.staleUntil }
      : entry
  }

  private isLive(slot: Slot, now: number): boolean {
    return slot.filledAt >= (this.namespaces.get(slot.namespace) ?? -1) &&
      (slot.entry.staleUntil === null || now < slot.entry.staleUntil)
  }

  private isStale(slot: Slot): boolean {
    return slot.stale || slot.filledAt < (this.softened.get(slot.namespace) ?? -1)
  }

  /** Marks an entry stale in place: it keeps its position in the eviction order. */
  private soften(key: string, slot: Slot): void {
    if (!slot.stale) {
      this.entries.set(key, { ...slot, stale: true })
    }
  }

  private invalidatedSince(scope: string, guard: Guard): boolean {
    if (this.forgotten > guard.seq) {
      return true
    }
    const invalidation = this.recent.get(scope)
    return invalidation !== undefined && invalidation.seq > guard.seq
  }

  private remember(scope: string): void {
    const now = this.clock.unsafeCurrentTimeMillis()
    this.recent.delete(scope)
    this.recent.set(scope, { seq: ++this.seq, at: now })
    this.prune(now)
    if (this.recent.size > this.remembered) {
      const [oldest, invalidation] = this.recent.entries().next().value!
      this.recent.delete(oldest)
      this.forgotten = invalidation.seq
    }
  }

  private prune(now: number): void {
    for (const [scope, invalidation] of this.recent) {
      if (now - invalidation.at <= this.fillWindow) {
        return
      }
      this.recent.delete(scope)
    }
  }

  private remove(key: string, slot: Slot): void {
    this.entries.delete(key)
    const keys = this.partitions.get(slot.partition)
    if (keys !== undefined) {
      keys.delete(key)
      if (keys.size === 0) {
        this.partitions.delete(slot.partition)
      }
    }
  }

  /** Evicts the oldest entries not read since eviction last passed them, to stay within capacity. */
  private evict(): void {
    while (this.entries.size > this.capacity) {
      const oldest = this.entries.entries().next()
      if (oldest.done === true) {
        return
      }
      const [key, slot] = oldest.value
      if (slot.used) {
        slot.used = false
        this.entries.delete(key)
        this.entries.set(key, slot)
      } else {
        this.remove(key, slot)
        this.evictions++
      }
    }
  }

  /** Entries held (dead ones included until dropped): read by the store's metrics. */
  get size(): number {
    return this.entries.size
  }
}

/** What the memory store's metrics read. @internal */
export interface Counts {
  readonly size: number
  readonly evictions: number
}

/** A bound of the store's options, checked: a positive whole number of `what`. */
const positive = (option: string, value: number, what: string): number => {
  if (!(Number.isInteger(value) && value > 0)) {
    throw new CacheDefinitionError({
      subject: `CacheStore memory ${option}`,
      reason: `${value} is not a positive whole number of ${what}`
    })
  }
  return value
}

/** @internal */
export const make = (options?: CacheStore.MemoryOptions): Effect.Effect<CacheStore.Service & Counts> => {
  const capacity = positive("capacity", options?.capacity ?? 10_000, "entries")
  const remembered = positive("rememberedInvalidations", options?.rememberedInvalidations ?? 10_000, "invalidations")
  return Effect.zipWith(
    Effect.clock,
    CacheSettings,
    (clock, settings) => new MemoryStore(capacity, remembered, Duration.toMillis(settings.fillWindow), clock)
  )
}
