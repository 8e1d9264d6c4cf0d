import type { CacheEntry, CacheKey } from "@cachefx/core"
import { CacheError, CacheSettings, CacheStore, CircuitBreaker } from "@cachefx/core"
import type * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import type { Cluster, Redis } from "ioredis"
import type * as RedisStore from "../RedisStore.js"
import { attempt, type Bounds, type Expiring } from "./attempt.js"
import { Deadlines } from "./deadlines.js"
import { fresh } from "./ids.js"
import * as keys from "./keys.js"
import { channel, type Leases, make as makeLeases, millis } from "./leases.js"
import * as scripts from "./scripts.js"

/** What a read saw: the guard a fill is checked against, and the token of the lease the read took. */
class Guard {
  constructor(
    /** What the key held at the read (the scripts' "hold"): `""` (absent), the entry's id, the tombstone, or `"?"` (foreign). */
    readonly keyHeld: string,
    readonly partitionStamp: string,
    readonly namespaceStamp: string,
    /** The Redis time of the read: the fill script checks the fill window against it. */
    readonly readAt: number | undefined,
    readonly lease: CacheStore.LeaseToken | undefined,
    /**
     * The client's time of a read that found an entry, which the script answers without
     * reading Redis's clock: the window is then checked on this clock before the fill is
     * sent. Safe for such a read alone: the key held an entry id, so any invalidation
     * since left the key or a stamp holding something else for good (ids and stamps are
     * never reused), whenever the fill arrives. A read that found no entry has the Redis
     * time: after an exact-key delete's tombstone expires the key holds nothing again, and
     * only the window on Redis's clock refuses a fill that read before that delete.
     */
    readonly clientReadAt?: number
  ) {}
}

const seal = (guard: Guard): CacheStore.FillGuard => guard as unknown as CacheStore.FillGuard

const held: CacheStore.LeaseOutcome = { _tag: "Held" }

const isTime = (u: unknown): u is number | null => u === null || typeof u === "number"

/** The entry of its stored JSON, `[cachedAt, expiresAt, staleUntil, value]`; undefined when it is not one. */
const decode = (json: string): CacheEntry.CacheEntry | undefined => {
  let parsed: unknown
  try {
    parsed = JSON.parse(json)
  } catch {
    return undefined
  }
  if (!Array.isArray(parsed) || parsed.length !== 4) {
    return undefined
  }
  const [cachedAt, expiresAt, staleUntil, value] = parsed
  return typeof cachedAt === "number" && isTime(expiresAt) && isTime(staleUntil)
    ? { value, cachedAt, expiresAt, staleUntil }
    : undefined
}

const encode = (entry: CacheEntry.CacheEntry): string =>
  JSON.stringify([entry.cachedAt, entry.expiresAt, entry.staleUntil, entry.value])

/** The base of a stamp, `<base>[.<soft id>]`: what a soft wipe keeps and a hard one replaces. */
const baseOf = (stamp: string): string => {
  const dot = stamp.indexOf(".")
  return dot === -1 ? stamp : stamp.slice(0, dot)
}

/** Keys each `SCAN` of `deleteVersions` looks at: bounded work per round trip. */
const scanCount = 100

/** Keys one script call of `getMany` reads at most: a bounded pause of Redis per call. */
const getManyBatch = 500

/** `indices` in runs of at most `getManyBatch`. */
const batches = (indices: ReadonlyArray<number>): Array<ReadonlyArray<number>> => {
  const runs: Array<ReadonlyArray<number>> = []
  for (let from = 0; from < indices.length; from += getManyBatch) {
    runs.push(indices.slice(from, from + getManyBatch))
  }
  return runs
}

/**
 * The store over one client. On a single Redis every operation is one command; on a
 * Cluster `get` and `set` also address the namespace stamp's slot, in parallel.
 */

class Store implements CacheStore.Service {
  private readonly commands: scripts.Commands
  private readonly cluster: boolean

  constructor(
    private readonly client: Redis | Cluster,
    private readonly window: number,
    private readonly bounds: Bounds,
    private readonly clock: Clock.Clock,
    readonly leases: Leases,
    private readonly maxTtl: number
  ) {
    this.commands = scripts.register(client)
    this.cluster = client.isCluster
  }

  /**
   * One script call on a single Redis; on a Cluster, where the namespace stamp lives in a
   * slot of its own, one beside it. With `options.lease`, the same call also takes the
   * key's lease when it holds no entry. A read that times out or fails may have taken it
   * on the server: the lease is given back in the background (the release follows the
   * read on its connection, or goes once the client is ready again).
   */
  get = (key: CacheKey.CacheKey, options?: CacheStore.GetOptions) =>
    attempt("get", this.bounds, (call) => this.read(call, keys.physical(key), options))

  private read(call: Expiring, at: keys.Physical, options: CacheStore.GetOptions | undefined): Promise<CacheStore.Lookup> {
    const stamp = fresh()
    const token = options?.lease === undefined ? undefined : fresh() as CacheStore.LeaseToken
    if (token !== undefined) {
      call.undo = () => this.leases.abandon(keys.leaseOf(at.entry), token)
    }
    // the lease key after the others, its PX and token after the arguments
    const read = (entryKeys: Array<string>) =>
      token === undefined
        ? this.commands.cachefxGet(entryKeys.length, [...entryKeys, stamp, this.window])
        : this.commands.cachefxGet(entryKeys.length + 1, [
          ...entryKeys,
          keys.leaseOf(at.entry),
          stamp,
          this.window,
          millis(options!.lease!),
          token
        ])
    if (!this.cluster) {
      return read([at.entry, at.partitionStamp, at.namespaceStamp]).then((reply) => {
        const found = scripts.readOf(reply)
        return this.lookup(found, found[2]!, token)
      })
    }
    return Promise.all([
      read([at.entry, at.partitionStamp]),
      this.commands.cachefxNamespace(at.namespaceStamp, stamp, this.window)
    ]).then(([reply, namespaceStamp]) => this.lookup(scripts.readOf(reply), namespaceStamp, token))
  }

  /**
   * One script call per `getManyBatch` keys on a single Redis; on a Cluster one per
   * partition (its keys share a slot) and one per namespace stamp. All are sent at
   * once: one round trip of latency.
   */
  getMany = (many: ReadonlyArray<CacheKey.CacheKey>) =>
    many.length === 0 ? Effect.succeed([]) : attempt("getMany", this.bounds, async () => {
      const stamp = fresh()
      const at = many.map(keys.physical)
      // on a single Redis the script reads the namespace stamps too; on a Cluster they are read beside it
      const stride = this.cluster ? 2 : 3
      const keysOf = (physical: keys.Physical) =>
        this.cluster
          ? [physical.entry, physical.partitionStamp]
          : [physical.entry, physical.partitionStamp, physical.namespaceStamp]
      const groups = this.cluster ? [...this.byPartition(many).values()].flatMap(batches) : batches(many.map((_, i) => i))
      const namespaces = this.cluster ? [...new Set(at.map((physical) => physical.namespaceStamp))] : []
      const [replies, namespaceStamps] = await Promise.all([
        Promise.all(groups.map((group) =>
          this.commands.cachefxGetMany(stride * group.length, [
            ...group.flatMap((i) => keysOf(at[i]!)),
            stamp,
            this.window,
            stride
          ])
        )),
        Promise.all(namespaces.map((namespace) => this.commands.cachefxNamespace(namespace, stamp, this.window)))
      ])
      const stampOf = new Map(namespaces.map((namespace, i) => [namespace, namespaceStamps[i]!]))
      const lookups = new Array<CacheStore.Lookup>(many.length)
      groups.forEach((group, g) =>
        group.forEach((i, j) => {
          const found = scripts.readOf(replies[g]![j]!)
          lookups[i] = this.lookup(found, this.cluster ? stampOf.get(at[i]!.namespaceStamp)! : found[2]!)
        })
      )
      return lookups
    })

  /** Gives back the lease the guard's read took, if any, in the same script call (or alone, with nothing to fill). */
  set = (key: CacheKey.CacheKey, entry: CacheEntry.CacheEntry, guard: CacheStore.FillGuard) =>
    Effect.suspend(() => {
      if (!(guard instanceof Guard)) {
        return Effect.succeed(false)
      }
      const lease = guard.lease
      const late = guard.clientReadAt !== undefined &&
        this.clock.unsafeCurrentTimeMillis() - guard.clientReadAt > this.window
      if (late || this.expired(entry)) {
        return lease === undefined ? Effect.succeed(false) : Effect.as(this.leases.release(key, lease), false)
      }
      return attempt("set", this.bounds, async () => {
        const at = keys.physical(key)
        const px = entry.staleUntil === null
          ? this.maxTtl
          : Math.min(this.maxTtl, Math.max(1, entry.staleUntil - this.clock.unsafeCurrentTimeMillis()))
        // a read by `MGET` has no Redis time (`""`): its window was checked above
        const readAt = guard.readAt ?? ""
        const args = [guard.keyHeld, guard.partitionStamp, guard.namespaceStamp, readAt, this.window, fresh(), px, encode(entry)]
        // the lease key after the others, the lease's token and channel after the arguments
        const fill = (entryKeys: Array<string>) =>
          lease === undefined
            ? this.commands.cachefxFill(entryKeys.length, [...entryKeys, ...args])
            : this.commands.cachefxFill(entryKeys.length + 1, [...entryKeys, keys.leaseOf(at.entry), ...args, lease, channel])
        if (!this.cluster) {
          return await fill([at.entry, at.partitionStamp, at.namespaceStamp]) === 1
        }
        const [stored, namespaceStamp] = await Promise.all([
          fill([at.entry, at.partitionStamp]),
          this.commands.cachefxNamespace(at.namespaceStamp, fresh(), this.window, px)
        ])
        return stored === 1 && namespaceStamp === guard.namespaceStamp
      })
    })

  /**
   * One command whatever the target reaches. A key: leaves a tombstone for the fill
   * window, so that a fill that read before it no longer matches the key; softly,
   * rewrites the entry as stale, under a new id (see `scripts.ts`). A partition or a
   * namespace: replaces its stamp (O(1)); softly, keeps the stamp's base and gives it a
   * new soft id.
   */
  invalidate = (target: CacheKey.Target, options?: CacheStore.InvalidateOptions) => {
    const soft = options?.soft === true
    switch (target._tag) {
      case "Key": {
        const entry = keys.physical(target).entry
        return soft ? this.soft(this.commands.cachefxSoftDelete, entry) : this.replace(entry, "~" + fresh())
      }
      case "Partition": {
        const stamp = keys.partitionStamp(target.partition)
        return soft ? this.soft(this.commands.cachefxSoften, stamp) : this.replace(stamp, fresh())
      }
      case "Namespace": {
        const stamp = keys.namespaceStamp(target.namespace)
        return soft ? this.soft(this.commands.cachefxSoften, stamp) : this.replace(stamp, fresh())
      }
    }
  }

  /**
   * SCANs every master for the namespace's keys, `scanCount` at a time, and unlinks the
   * previous versions'. Each round trip is an operation of the store, bounded by its
   * timeout and its breaker.
   */
  deleteVersions = (namespace: string, previous: (version: string) => boolean) =>
    Effect.suspend(() => {
      const nodes = this.cluster ? (this.client as Cluster).nodes("master") : [this.client as Redis]
      const pattern = keys.namespacePattern(namespace)
      const unlink = (node: Redis, stale: ReadonlyArray<string>) =>
        stale.length === 0 ? Effect.succeed(0) : Effect.map(
          // one key per UNLINK: keys of one batch may be in different Cluster slots
          attempt("deleteVersions", this.bounds, () => node.pipeline(stale.map((key) => ["unlink", key])).exec()),
          (replies) => (replies ?? []).reduce((sum, [, count]) => sum + (typeof count === "number" ? count : 0), 0)
        )
      const scan = (node: Redis, cursor: string, deleted: number): Effect.Effect<number, CacheError.CacheStoreError> =>
        Effect.flatMap(
          attempt("deleteVersions", this.bounds, () => node.scan(cursor, "MATCH", pattern, "COUNT", scanCount)),
          ([next, found]) =>
            Effect.flatMap(
              unlink(node, found.filter((key) => {
                const version = keys.versionOf(key, namespace)
                return version !== undefined && previous(version)
              })),
              (count) => next === "0" ? Effect.succeed(deleted + count) : scan(node, next, deleted + count)
            )
        )
      return Effect.reduce(nodes, 0, (deleted, node) => scan(node, "0", deleted))
    })

  /** The indices of keys, by partition. */
  private byPartition(many: ReadonlyArray<CacheKey.CacheKey>): Map<string, Array<number>> {
    const groups = new Map<string, Array<number>>()
    many.forEach((key, i) => {
      const group = groups.get(key.partition)
      if (group === undefined) {
        groups.set(key.partition, [i])
      } else {
        group.push(i)
      }
    })
    return groups
  }

  /** One `SET ... PX <fill window>`: whatever the key held, and whatever recorded it, is void. */
  private replace(key: string, value: string) {
    return Effect.asVoid(attempt("invalidate", this.bounds, () => this.client.set(key, value, "PX", this.window)))
  }

  /** One script over one key (an entry or a stamp) that invalidates it softly. */
  private soft(script: (...args: ReadonlyArray<string | number>) => Promise<number>, key: string) {
    return Effect.asVoid(attempt("invalidate", this.bounds, () => script(key, fresh(), this.window)))
  }

  /**
   * The answer of a read: the entry when it was filled under the current stamps (or
   * their bases: then it is stale, invalidated softly), the guard, and the lease when
   * the read asked for it (`token`) and the key held no entry.
   */
  private lookup(
    reply: scripts.Read,
    namespaceStamp: string,
    token?: CacheStore.LeaseToken | undefined
  ): CacheStore.Lookup {
    const [keyHeld, partitionStamp, , readAt, entryNamespace, json, softened, leased] = reply
    const taken = leased === 1 ? token : undefined
    const current = typeof json === "string" &&
      (entryNamespace === namespaceStamp || baseOf(entryNamespace!) === baseOf(namespaceStamp))
    const entry = current ? decode(json) : undefined
    return {
      entry: entry === undefined || this.expired(entry) ? Option.none() : Option.some(entry),
      stale: entry !== undefined && (softened === 1 || entryNamespace !== namespaceStamp),
      // a read that found an entry answers without Redis's time: its window is on this clock
      guard: seal(
        readAt === null
          ? new Guard(keyHeld, partitionStamp, namespaceStamp, undefined, taken, this.clock.unsafeCurrentTimeMillis())
          : new Guard(keyHeld, partitionStamp, namespaceStamp, readAt, taken)
      ),
      lease: leased === undefined ? undefined : taken === undefined ? held : { _tag: "Taken", token: taken },
      foreign: keyHeld === "?"
        ? "the key holds a value that is not a cachefx entry (another program's bytes, or another Redis type)"
        : current && entry === undefined
        ? "the entry's JSON is corrupt, or not of an entry's shape"
        : undefined
    }
  }

  private expired(entry: CacheEntry.CacheEntry): boolean {
    return entry.staleUntil !== null && entry.staleUntil <= this.clock.unsafeCurrentTimeMillis()
  }
}

/** The longest delay a timer takes (about 24.8 days); longer durations are capped to it. */
const longest = 2 ** 31 - 1

const cappedMillis = (duration: Duration.Duration): number => Math.min(Math.ceil(Duration.toMillis(duration)), longest)

/** How often a waiter checks a lease it has heard no release of, by default. */
const leasePollInterval = Duration.millis(100)

/** The longest an entry lives in Redis, by default. */
const maxTtl = Duration.days(30)

/** `options.maxTtl` in milliseconds, checked: a positive duration. */
const maxTtlOf = (options: RedisStore.Options): number => {
  const duration = options.maxTtl === undefined ? maxTtl : Duration.decode(options.maxTtl)
  const millis = Duration.toMillis(duration)
  if (!(millis >= 1 && Duration.isFinite(duration))) {
    throw new CacheError.CacheDefinitionError({
      subject: "RedisStore maxTtl",
      reason: `${Duration.format(duration)} is not a positive, finite duration (the longest an entry lives in Redis)`
    })
  }
  return Math.ceil(millis)
}

/** @internal */
export const make = (options: RedisStore.Options): Effect.Effect<CacheStore.Service, never, Scope.Scope> => {
  const ttlBound = maxTtlOf(options)
  return Effect.gen(function*() {
    const clock = yield* Effect.clock
    const settings = yield* CacheSettings.CacheSettings
    const deadlines = Duration.isFinite(settings.operationTimeout)
      ? new Deadlines(cappedMillis(settings.operationTimeout))
      : undefined
    // on a single Redis, an opening drops the connection (ioredis reconnects at once): the
    // commands that timed out on it, and their replies' callbacks, are let go
    const client = options.client
    const onOpen = client.isCluster ? undefined : () => (client as Redis).disconnect(true)
    const breaker = CircuitBreaker.unsafeMake({ store: "redis", onOpen, ...options.breaker }, clock, settings)
    const bounds: Bounds = { deadlines, breaker }
    const poll = options.leasePollInterval === undefined ? leasePollInterval : Duration.decode(options.leasePollInterval)
    const leases = yield* makeLeases(options.client, bounds, poll)
    return new Store(options.client, Math.max(1, cappedMillis(settings.fillWindow)), bounds, clock, leases, ttlBound)
  })
}
