import type * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import { CacheDefinitionError, CacheStoreError } from "../CacheError.js"
import type * as CacheEntry from "../CacheEntry.js"
import * as CacheKey from "../CacheKey.js"
import type * as CacheStore from "../CacheStore.js"
import type * as CacheSync from "../CacheSync.js"
import { withGetSync } from "./getSync.js"

/**
 * What a read saw, on both tiers: the L1 it read (none while the channel was
 * disconnected) and that L1's guard; the L2 guard when L2 was read, or else the entry
 * L1 served.
 */
class Guard {
  constructor(
    readonly l1: CacheStore.Service | undefined,
    readonly l1Guard: CacheStore.FillGuard | undefined,
    readonly l2Guard: CacheStore.FillGuard | undefined,
    readonly served: CacheEntry.CacheEntry | undefined
  ) {}
}

const seal = (guard: Guard): CacheStore.FillGuard => guard as unknown as CacheStore.FillGuard

/** Whether two entries are one: same times, same encoded value. */
const same = (a: CacheEntry.CacheEntry, b: CacheEntry.CacheEntry): boolean =>
  a.cachedAt === b.cachedAt && a.expiresAt === b.expiresAt && a.staleUntil === b.staleUntil &&
  JSON.stringify(a.value) === JSON.stringify(b.value)

/**
 * L2 behind a per-instance L1 that other instances' invalidations reach through a
 * `CacheSync` channel.
 *
 * - L1 holds copies of fresh L2 entries only, each wrapped in an entry of its own whose
 *   lifetime ends when the copy stops being fresh (or after `ttl`): a stale entry is
 *   always read from L2, so a refresh fills under a guard of L2's.
 * - `l1` is replaced by an empty store on every `Connected` and dropped on every
 *   `Disconnected`: while the channel may lose messages, nothing is served from or
 *   filled into L1, and a fill whose read saw an older L1 is never copied into the new one.
 * - A fill into L1 uses the guard of the L1 read made before the L2 read, so an
 *   invalidation received between the two refuses it (L1's own guarded fill).
 */
class TieredStore {
  private l1: CacheStore.Service | undefined = undefined
  /** This instance's id on the channel: its own messages are skipped. */
  private readonly origin = crypto.randomUUID()

  constructor(
    private readonly makeL1: Effect.Effect<CacheStore.Service>,
    private readonly l2: CacheStore.Service,
    private readonly sync: CacheSync.Service,
    private readonly ttl: number,
    private readonly clock: Clock.Clock
  ) {}

  /**
   * An L1 hit takes no lease (it needs no computation); a read of L2 asks L2 for one when
   * `options` does. A `shared` read goes to L2 whatever L1 holds, and replaces L1's copy.
   */
  get = (key: CacheKey.CacheKey, options?: CacheStore.GetOptions): Effect.Effect<CacheStore.Lookup, CacheStoreError> => {
    const l1 = this.l1
    if (l1 === undefined) {
      return Effect.map(this.l2.get(key, options), (lookup) => this.bypassed(lookup))
    }
    return Effect.flatMap(l1.get(key), (first) => {
      // a read of the shared tier still reads L1 first: its guard covers the copy
      const hit = options?.shared === true ? undefined : this.hit(l1, first)
      return hit === undefined
        ? Effect.flatMap(this.l2.get(key, options), (lookup) => this.through(l1, first.guard, key, lookup))
        : Effect.succeed(hit)
    })
  }

  /** An L1 hit, read at once: the entry the L1 copy holds. */
  getSync = (key: CacheKey.CacheKey, now?: number): CacheEntry.CacheEntry | undefined => {
    const copy = this.l1?.getSync?.(key, now)
    return copy === undefined ? undefined : copy.value as CacheEntry.CacheEntry
  }

  getMany = (keys: ReadonlyArray<CacheKey.CacheKey>): Effect.Effect<ReadonlyArray<CacheStore.Lookup>, CacheStoreError> => {
    const getMany = this.l2.getMany
    const l1 = this.l1
    if (l1 === undefined) {
      return Effect.map(getMany(keys), (lookups) => lookups.map((lookup) => this.bypassed(lookup)))
    }
    return Effect.flatMap(Effect.forEach(keys, (key) => l1.get(key)), (firsts) => {
      const answers = firsts.map((first) => this.hit(l1, first))
      const missing = answers.flatMap((answer, i) => answer === undefined ? [i] : [])
      if (missing.length === 0) {
        return Effect.succeed(answers as Array<CacheStore.Lookup>)
      }
      return Effect.flatMap(getMany(missing.map((i) => keys[i]!)), (lookups) =>
        Effect.as(
          Effect.forEach(missing, (i, j) =>
            Effect.map(this.through(l1, firsts[i]!.guard, keys[i]!, lookups[j]!), (lookup) => {
              answers[i] = lookup
            }), { discard: true }),
          answers as Array<CacheStore.Lookup>
        ))
    })
  }

  set = (key: CacheKey.CacheKey, entry: CacheEntry.CacheEntry, guard: CacheStore.FillGuard) => {
    if (!(guard instanceof Guard)) {
      return Effect.succeed(false)
    }
    const l2 = guard.l2Guard !== undefined
      ? this.l2.set(key, entry, guard.l2Guard)
      : guard.served !== undefined
      ? this.confirm(key, guard.served, entry)
      : Effect.succeed(false)
    return Effect.flatMap(l2, (stored) => {
      const { l1, l1Guard } = guard
      if (l1 === undefined || l1Guard === undefined || l1 !== this.l1) {
        return Effect.succeed(stored)
      }
      if (!stored) {
        // L2 no longer holds the entry L1 served (another instance refreshed or invalidated
        // it): the copy goes, so the next read finds what L2 holds instead of refreshing again
        return guard.served === undefined ? Effect.succeed(false) : Effect.as(this.forgetKey(l1, key), false)
      }
      const copy = this.copyOf(entry)
      return copy === undefined ? Effect.succeed(stored) : Effect.as(l1.set(key, copy, l1Guard), stored)
    })
  }

  invalidate = (target: CacheKey.Target, options?: CacheStore.InvalidateOptions) =>
    this.spread(this.l2.invalidate(target, options), { ...target, origin: this.origin })

  deleteVersions = (deleteVersions: NonNullable<CacheStore.Service["deleteVersions"]>) =>
  (namespace: string, previous: (version: string) => boolean) =>
    Effect.tap(deleteVersions(namespace, previous), () => {
      const l1 = this.l1
      return l1?.deleteVersions === undefined ? Effect.void : l1.deleteVersions(namespace, previous)
    })

  /** Drops one key's copy from L1; an L1 that fails to starts over empty. */
  private forgetKey(l1: CacheStore.Service, key: CacheKey.CacheKey): Effect.Effect<void> {
    return Effect.catchAllCause(l1.invalidate(CacheKey.key(key)), () => this.reset)
  }

  /** Applies an event of the channel. */
  handle = (event: CacheSync.Event): Effect.Effect<void> => {
    switch (event._tag) {
      case "Received":
        return event.message.origin === this.origin ? Effect.void : this.forget(event.message)
      case "Connected":
        return this.reset
      case "Disconnected":
        return Effect.sync(() => {
          this.l1 = undefined
        })
    }
  }

  /** Starts from an empty L1: whatever the previous one held is never served again. */
  private readonly reset = Effect.map(Effect.suspend(() => this.makeL1), (l1) => {
    this.l1 = l1
  })

  /** Drops from L1 what a message invalidated; an L1 that fails to starts over empty. */
  private forget(message: CacheSync.Message): Effect.Effect<void> {
    const l1 = this.l1
    if (l1 === undefined) {
      return Effect.void
    }
    // a message is a target: its tag says what it reaches
    return Effect.catchAllCause(l1.invalidate(message), () => this.reset)
  }

  /**
   * L2 first (so that no read of this instance can copy the old value into L1 after L1
   * is cleaned), then L1, even when L2 failed, then the message, once L2 is done.
   */
  private spread(l2: Effect.Effect<void, CacheStoreError>, message: CacheSync.Message) {
    return Effect.flatMap(Effect.exit(l2), (exit) =>
      Effect.zipRight(
        this.forget(message),
        Exit.isFailure(exit) ? exit : Effect.mapError(
          this.sync.publish(message),
          (cause) => new CacheStoreError({ operation: "invalidate", reason: "Unavailable", cause })
        )
      ))
  }

  /** A lookup of L2 read while the channel was disconnected: filled into L2 only. */
  private bypassed(lookup: CacheStore.Lookup): CacheStore.Lookup {
    return { ...lookup, guard: seal(new Guard(undefined, undefined, lookup.guard, undefined)) }
  }

  /** The answer of an L1 read when it is a hit: the entry the L1 copy holds. */
  private hit(l1: CacheStore.Service, first: CacheStore.Lookup): CacheStore.Lookup | undefined {
    if (Option.isNone(first.entry)) {
      return undefined
    }
    const entry = first.entry.value.value as CacheEntry.CacheEntry
    return { entry: Option.some(entry), guard: seal(new Guard(l1, first.guard, undefined, entry)) }
  }

  /** The answer of an L1 miss read from L2: a fresh entry is copied into L1, under the L1 read's guard. */
  private through(
    l1: CacheStore.Service,
    l1Guard: CacheStore.FillGuard,
    key: CacheKey.CacheKey,
    lookup: CacheStore.Lookup
  ): Effect.Effect<CacheStore.Lookup, CacheStoreError> {
    const answer = { ...lookup, guard: seal(new Guard(l1, l1Guard, lookup.guard, undefined)) }
    const copy = Option.isSome(lookup.entry) && lookup.stale !== true && lookup.foreign === undefined && l1 === this.l1
      ? this.copyOf(lookup.entry.value)
      : undefined
    return copy === undefined ? Effect.succeed(answer) : Effect.as(l1.set(key, copy, l1Guard), answer)
  }

  /**
   * A fill after an L1 hit (an explicit refresh): it has no guard of L2's from before
   * its computation, so it reads L2 again and fills under that read's guard only when
   * L2 still holds the entry L1 served, which proves that nothing invalidated it between.
   */
  private confirm(key: CacheKey.CacheKey, served: CacheEntry.CacheEntry, entry: CacheEntry.CacheEntry) {
    return Effect.flatMap(this.l2.get(key), (lookup) =>
      Option.isSome(lookup.entry) && lookup.stale !== true && same(lookup.entry.value, served)
        ? this.l2.set(key, entry, lookup.guard)
        : Effect.succeed(false))
  }

  /** The L1 copy of an entry: alive while the entry is fresh and for `ttl` at most; none when that is over. */
  private copyOf(entry: CacheEntry.CacheEntry): CacheEntry.CacheEntry | undefined {
    const now = this.clock.unsafeCurrentTimeMillis()
    const until = Math.min(entry.expiresAt ?? Infinity, now + this.ttl)
    if (until <= now) {
      return undefined
    }
    const end = until === Infinity ? null : until
    return { value: entry, cachedAt: entry.cachedAt, expiresAt: end, staleUntil: end }
  }
}

/** @internal */
export const make = (options: CacheStore.TieredOptions): Effect.Effect<CacheStore.Service, never, Scope.Scope> => {
  const ttl = options.ttl === undefined ? Infinity : Duration.toMillis(Duration.decode(options.ttl))
  if (!(ttl > 0)) {
    throw new CacheDefinitionError({
      subject: "CacheStore tiered ttl",
      reason: `${ttl} ms is not a positive duration for an L1 entry to live`
    })
  }
  const { l2 } = options
  return Effect.gen(function*() {
    const store = new TieredStore(options.l1, l2, options.sync, ttl, yield* Effect.clock)
    const events = yield* options.sync.subscribe
    yield* Effect.flatMap(Queue.take(events), store.handle)
    yield* Effect.forkScoped(Effect.forever(Effect.flatMap(Queue.take(events), store.handle)))
    return withGetSync({
      get: store.get,
      getMany: store.getMany,
      set: store.set,
      invalidate: store.invalidate,
      ...(l2.leases === undefined ? {} : { leases: l2.leases }),
      ...(l2.deleteVersions === undefined ? {} : { deleteVersions: store.deleteVersions(l2.deleteVersions) })
    }, store.getSync)
  })
}
