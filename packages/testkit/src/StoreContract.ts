/**
 * The contract every `CacheStore` keeps, as a suite any store's tests run against the
 * real store: `contract("memory", CacheStore.layerMemory(), { soft: true })`. It checks
 * the protocol `CacheStore` documents: reads and fills, expiry, invalidation of a key, a
 * partition and a namespace, the guarded fill (a fill that read before an invalidation
 * of anything it covers is refused; a fill later than the fill window is refused), soft
 * invalidation (capability `soft`), `getMany`, and leases (capability `leases`).
 *
 * The suite provides `CacheSettings` to the store's layer (a fill window of
 * `contractFillWindow`, an operation timeout of 2 seconds): a store layer that reads its
 * settings when it is built, as every layer of cachefx does, runs under them.
 */
import { describe, expect, it } from "@effect/vitest"
import type { CacheEntry } from "@cachefx/core"
import { CacheKey, CacheSettings, CacheStore } from "@cachefx/core"
import { Duration, Effect, Fiber, Layer, Option } from "effect"

/** What a store has beyond the essential operations; each turns on the tests of it. */
export interface Capabilities {
  /**
   * Soft invalidation keeps entries, stale. Without it the suite checks only what a
   * store that invalidates hard keeps: a softly invalidated entry never reads fresh.
   */
  readonly soft?: boolean | undefined
  /** The store has `leases`, and a read asked for one takes it (itself or through `CacheStore.make`). */
  readonly leases?: boolean | undefined
  /**
   * A marker in the namespaces of this run (`contract-<prefix>-<pid>-…`, default
   * `"run"`): a store on a shared server cleans up what its tests wrote by it.
   */
  readonly prefix?: string | undefined
}

/** The fill window the suite runs the store under. */
export const contractFillWindow = Duration.seconds(2)

let counter = 0

/** A key in a namespace of its own (`contract-<run>`), so suites never collide on a shared server. */
export const keyIn = (run: string, partition: string, suffix: string): CacheKey.CacheKey => {
  const namespace = `contract-${run}`
  const scope = `${namespace}:1:${partition}`
  return { namespace, partition: scope, key: `${scope}:${suffix}` }
}

/** An entry of `value`, fresh and stale for `ttlMillis` from `now` (none: forever). */
export const entryFor = (value: unknown, now: number, ttlMillis: number | null): CacheEntry.CacheEntry => ({
  value,
  cachedAt: now,
  expiresAt: ttlMillis === null ? null : now + ttlMillis,
  staleUntil: ttlMillis === null ? null : now + ttlMillis
})

type Invalidation = (store: CacheStore.Service, key: CacheKey.CacheKey) => Effect.Effect<void, unknown>

/** Each scope of a key, invalidated hard. */
const hard: Record<string, Invalidation> = {
  "its key": (store, key) => store.invalidate(CacheKey.key(key)),
  "its partition": (store, key) => store.invalidate(CacheKey.partition(key)),
  "its namespace": (store, key) => store.invalidate(CacheKey.namespace(key.namespace))
}

/** Each scope of a key, invalidated softly. */
const softly: Record<string, Invalidation> = {
  "its key": (store, key) => store.invalidate(CacheKey.key(key), { soft: true }),
  "its partition": (store, key) => store.invalidate(CacheKey.partition(key), { soft: true }),
  "its namespace": (store, key) => store.invalidate(CacheKey.namespace(key.namespace), { soft: true })
}

/** Runs the contract against the store `layer` builds, a store of its own for each test. */
export const contract = (
  name: string,
  layer: Layer.Layer<CacheStore.CacheStore, unknown>,
  capabilities: Capabilities = {}
) =>
  describe(`CacheStore contract: ${name}`, () => {
    const prefix = capabilities.prefix ?? "run"
    const run = () => `${prefix}-${process.pid}-${Date.now()}-${counter++}`
    const settings = CacheSettings.layer({ fillWindow: contractFillWindow, operationTimeout: "2 seconds" })
    const built = Layer.provide(layer, settings)
    const withStore = <A, E>(f: (store: CacheStore.Service, id: string) => Effect.Effect<A, E>) =>
      Effect.flatMap(CacheStore.CacheStore, (store) => f(store, run())).pipe(Effect.provide(built), Effect.scoped)

    /** `withStore`, with the key `keyIn(<run>, partition, suffix)`. */
    const withKey = <A, E>(
      partition: string,
      suffix: string,
      f: (store: CacheStore.Service, key: CacheKey.CacheKey, id: string) => Effect.Effect<A, E>
    ) => withStore((store, id) => f(store, keyIn(id, partition, suffix), id))

    const fill = (store: CacheStore.Service, key: CacheKey.CacheKey, value: unknown, ttl: number | null = 60_000) =>
      Effect.flatMap(store.get(key), (lookup) => store.set(key, entryFor(value, Date.now(), ttl), lookup.guard))

    const read = (store: CacheStore.Service, key: CacheKey.CacheKey) =>
      Effect.map(store.get(key), (lookup) => Option.map(lookup.entry, (entry) => entry.value))

    /** What a read gives: the value and whether it is marked stale. */
    const look = (store: CacheStore.Service, key: CacheKey.CacheKey) =>
      Effect.map(store.get(key), (lookup) => ({
        value: Option.map(lookup.entry, (entry) => entry.value),
        stale: lookup.stale === true
      }))
    const fresh = (value: unknown) => ({ value: Option.some(value), stale: false })
    const stale = (value: unknown) => ({ value: Option.some(value), stale: true })
    const gone = { value: Option.none(), stale: false }

    /**
     * The scopes wider than a key, each with what it reaches once filled: two keys in
     * it (filled with 1 and 2) and one beside it (3). Beside a partition "#1": partition
     * "#12", which its name prefixes. In a namespace: the same key under version 2; beside
     * it: another namespace.
     */
    const wide = {
      partition: {
        target: (key: CacheKey.CacheKey) => CacheKey.partition(key),
        keys: (id: string) => ({ reached: [keyIn(id, "#1", "a"), keyIn(id, "#1", "b")], beside: keyIn(id, "#12", "a") })
      },
      namespace: {
        target: (key: CacheKey.CacheKey) => CacheKey.namespace(key.namespace),
        keys: (id: string) => {
          const a = keyIn(id, "p", "a")
          const v2: CacheKey.CacheKey = { namespace: a.namespace, partition: `${a.namespace}:2:p`, key: `${a.namespace}:2:p:a` }
          return { reached: [a, v2], beside: keyIn(`${id}-other`, "p", "a") }
        }
      }
    }

    /** The keys of a wide scope, filled with 1, 2 (reached) and 3 (beside). */
    const filled = (store: CacheStore.Service, id: string, scope: keyof typeof wide) =>
      Effect.gen(function*() {
        const { beside, reached } = wide[scope].keys(id)
        yield* Effect.forEach([...reached, beside], (key, i) => fill(store, key, i + 1), { discard: true })
        return { reached, beside }
      })

    describe("reads and fills", () => {
      it.live("a filled key reads back its entry, metadata and nested JSON included", () =>
        withKey("p", "a", (store, key) =>
          Effect.gen(function*() {
            expect(Option.isNone((yield* store.get(key)).entry)).toBe(true)
            const now = Date.now()
            const entry = { ...entryFor({ name: "Ada", tags: ["x", "ü"], n: 1.5, none: null }, now, 60_000), staleUntil: now + 120_000 }
            const lookup = yield* store.get(key)
            expect(yield* store.set(key, entry, lookup.guard)).toBe(true)
            const stored = yield* store.get(key)
            expect(stored.entry).toEqual(Option.some(entry))
            expect(stored.stale === true).toBe(false)
          })
        ))

      it.live("a fill replaces the entry its read found", () =>
        withKey("p", "a", (store, key) =>
          Effect.gen(function*() {
            yield* fill(store, key, "old")
            yield* fill(store, key, "new")
            expect(yield* read(store, key)).toEqual(Option.some("new"))
          })
        ))

      it.live("an entry without expiry is kept", () =>
        withKey("p", "forever", (store, key) =>
          Effect.gen(function*() {
            yield* fill(store, key, "v", null)
            expect(yield* read(store, key)).toEqual(Option.some("v"))
          })
        ))

      it.live("an entry past staleUntil is absent", () =>
        withKey("p", "short", (store, key) =>
          Effect.gen(function*() {
            yield* fill(store, key, "v", 40)
            yield* Effect.sleep("120 millis")
            expect(yield* read(store, key)).toEqual(Option.none())
          })
        ))

      it.live("keys that share a prefix, or differ in one character, are different entries", () =>
        withStore((store, id) =>
          Effect.gen(function*() {
            const keys = [keyIn(id, "p", "a"), keyIn(id, "p", "ab"), keyIn(id, "p", "a:b"), keyIn(id, "p", "A")]
            yield* Effect.forEach(keys, (key, i) => fill(store, key, i), { discard: true })
            expect(yield* Effect.forEach(keys, (key) => read(store, key))).toEqual([0, 1, 2, 3].map(Option.some))
          })
        ))
    })

    describe("invalidation", () => {
      it.live("a key: it is gone, its neighbours stay", () =>
        withKey("p", "a", (store, a, id) =>
          Effect.gen(function*() {
            const b = keyIn(id, "p", "b")
            yield* Effect.zip(fill(store, a, 1), fill(store, b, 2))
            yield* store.invalidate(CacheKey.key(a))
            expect(yield* read(store, a)).toEqual(Option.none())
            expect(yield* read(store, b)).toEqual(Option.some(2))
          })
        ))

      for (const scope of ["partition", "namespace"] as const) {
        it.live(`a ${scope}: every key in it is gone (every version), and none beside it`, () =>
          withStore((store, id) =>
            Effect.gen(function*() {
              const { beside, reached } = yield* filled(store, id, scope)
              yield* store.invalidate(wide[scope].target(reached[0]!))
              expect(yield* Effect.forEach([...reached, beside], (key) => read(store, key))).toEqual([
                Option.none(),
                Option.none(),
                Option.some(3)
              ])
              yield* fill(store, reached[0]!, 4)
              expect(yield* read(store, reached[0]!)).toEqual(Option.some(4))
            })
          ))
      }

      it.live("an invalidation of what holds nothing succeeds and stores nothing", () =>
        withKey("#1", "a", (store, key) =>
          Effect.gen(function*() {
            yield* Effect.forEach(Object.values(hard), (invalidate) => invalidate(store, key), { discard: true })
            expect(yield* read(store, key)).toEqual(Option.none())
          })
        ))
    })

    describe("guarded fill", () => {
      /** A read, then `invalidate`, then the fill under the read's guard: whether it stored, and what the key holds. */
      const raced = (invalidate: Invalidation, before?: unknown) =>
        withKey("#7", "a", (store, key) =>
          Effect.gen(function*() {
            if (before !== undefined) {
              yield* fill(store, key, before)
            }
            const lookup = yield* store.get(key)
            yield* invalidate(store, key)
            const stored = yield* store.set(key, entryFor("computed before", Date.now(), 60_000), lookup.guard)
            return { stored, value: yield* read(store, key) }
          })
        )

      for (const [scope, invalidate] of Object.entries(hard)) {
        it.live(`a fill that read an absent key before an invalidation of ${scope} is refused`, () =>
          Effect.map(raced(invalidate), (outcome) => {
            expect(outcome).toEqual({ stored: false, value: Option.none() })
          }))

        it.live(`a fill that read an entry before an invalidation of ${scope} is refused`, () =>
          Effect.map(raced(invalidate, "old"), (outcome) => {
            expect(outcome).toEqual({ stored: false, value: Option.none() })
          }))
      }

      it.live("invalidating another key, partition or namespace does not refuse a fill", () =>
        withKey("#1", "a", (store, key, id) =>
          Effect.gen(function*() {
            const lookup = yield* store.get(key)
            yield* store.invalidate(CacheKey.key(keyIn(id, "#1", "b")))
            yield* store.invalidate(CacheKey.partition(keyIn(id, "#2", "a")))
            yield* store.invalidate(CacheKey.namespace(keyIn(`${id}-other`, "p", "a").namespace))
            expect(yield* store.set(key, entryFor("v", Date.now(), 60_000), lookup.guard)).toBe(true)
            expect(yield* read(store, key)).toEqual(Option.some("v"))
          })
        ))

      it.live("a fill whose read came after the invalidations is stored", () =>
        withKey("#1", "a", (store, key) =>
          Effect.gen(function*() {
            yield* Effect.forEach(Object.values(hard), (invalidate) => invalidate(store, key), { discard: true })
            yield* fill(store, key, "fresh")
            expect(yield* read(store, key)).toEqual(Option.some("fresh"))
          })
        ))

      it.live("of two fills that read before an invalidation, neither is stored; one that read after it is", () =>
        withKey("#1", "a", (store, key) =>
          Effect.gen(function*() {
            const first = yield* store.get(key)
            const second = yield* store.get(key)
            yield* store.invalidate(CacheKey.key(key))
            const third = yield* store.get(key)
            const now = Date.now()
            expect(yield* store.set(key, entryFor(3, now, 60_000), third.guard)).toBe(true)
            expect(yield* store.set(key, entryFor(1, now, 60_000), first.guard)).toBe(false)
            expect(yield* store.set(key, entryFor(2, now, 60_000), second.guard)).toBe(false)
            expect(yield* read(store, key)).toEqual(Option.some(3))
          })
        ))

      it.live("a fill later than the fill window after its read is refused", () =>
        withKey("p", "late", (store, key) =>
          Effect.gen(function*() {
            const lookup = yield* store.get(key)
            yield* Effect.sleep(Duration.sum(contractFillWindow, "300 millis"))
            expect(yield* store.set(key, entryFor("late", Date.now(), 60_000), lookup.guard)).toBe(false)
            expect(yield* read(store, key)).toEqual(Option.none())
            yield* fill(store, key, "on time")
            expect(yield* read(store, key)).toEqual(Option.some("on time"))
          })
        ), 15_000)

      it.live("an invalidation is remembered no longer than the fill window: later fills of its key are stored", () =>
        withKey("#1", "a", (store, key) =>
          Effect.gen(function*() {
            yield* store.invalidate(CacheKey.key(key))
            yield* store.invalidate(CacheKey.partition(key))
            yield* Effect.sleep(Duration.sum(contractFillWindow, "300 millis"))
            yield* fill(store, key, "after")
            expect(yield* read(store, key)).toEqual(Option.some("after"))
          })
        ), 15_000)
    })

    describe(capabilities.soft === true ? "soft invalidation" : "soft invalidation (a store that invalidates hard)", () => {
      for (const [scope, invalidate] of Object.entries(softly)) {
        it.live(`a fill that read before a soft invalidation of ${scope} is refused, and the key never reads fresh`, () =>
          withKey("#1", "a", (store, key) =>
            Effect.gen(function*() {
              yield* fill(store, key, "old")
              const lookup = yield* store.get(key)
              yield* invalidate(store, key)
              expect(yield* store.set(key, entryFor("computed before", Date.now(), 60_000), lookup.guard)).toBe(false)
              const after = yield* look(store, key)
              if (capabilities.soft === true) {
                // the entry raced stays stale (on a Redis Cluster, a soft namespace wipe between the two
                // commands of a fill leaves the filled value, recorded under the old soft id: stale too)
                expect(after.stale).toBe(true)
                expect(Option.isSome(after.value)).toBe(true)
              } else {
                expect(Option.isNone(after.value) || after.stale).toBe(true)
              }
            })
          ))

        it.live(`a fill that read an absent key before a soft invalidation of ${scope} is refused`, () =>
          withKey("#1", "a", (store, key) =>
            Effect.gen(function*() {
              const lookup = yield* store.get(key)
              yield* invalidate(store, key)
              expect(yield* store.set(key, entryFor("computed before", Date.now(), 60_000), lookup.guard)).toBe(false)
              const after = yield* look(store, key)
              expect(Option.isNone(after.value) || after.stale).toBe(true)
            })
          ))
      }

      it.live("a fill whose read came after a soft invalidation is fresh", () =>
        withKey("#1", "a", (store, key) =>
          Effect.gen(function*() {
            yield* fill(store, key, "old")
            yield* Effect.forEach(Object.values(softly), (invalidate) => invalidate(store, key), { discard: true })
            yield* fill(store, key, "new")
            expect(yield* look(store, key)).toEqual(fresh("new"))
          })
        ))

      it.live("a soft invalidation of what holds nothing stores nothing", () =>
        withKey("#1", "a", (store, key) =>
          Effect.gen(function*() {
            yield* Effect.forEach(Object.values(softly), (invalidate) => invalidate(store, key), { discard: true })
            expect(yield* look(store, key)).toEqual(gone)
          })
        ))

      for (const [scope, invalidate] of Object.entries(hard)) {
        it.live(`a hard invalidation of ${scope} after a soft one removes the entries`, () =>
          withKey("#1", "a", (store, key) =>
            Effect.gen(function*() {
              yield* fill(store, key, "old")
              yield* softly[scope]!(store, key)
              yield* invalidate(store, key)
              expect(yield* look(store, key)).toEqual(gone)
            })
          ))
      }

      if (capabilities.soft === true) {
        it.live("a soft invalidation of a key leaves it stale, its metadata whole, and its neighbours fresh", () =>
          withStore((store, id) =>
            Effect.gen(function*() {
              const a = keyIn(id, "p", "a")
              const b = keyIn(id, "p", "b")
              const entry = entryFor({ n: 1 }, Date.now(), 60_000)
              yield* store.set(a, entry, (yield* store.get(a)).guard)
              yield* fill(store, b, 2)
              yield* store.invalidate(CacheKey.key(a), { soft: true })
              const lookup = yield* store.get(a)
              expect(lookup.entry).toEqual(Option.some(entry))
              expect(lookup.stale).toBe(true)
              expect(yield* look(store, b)).toEqual(fresh(2))
            })
          ))

        for (const scope of ["partition", "namespace"] as const) {
          it.live(`a soft invalidation of a ${scope} leaves every key in it stale (every version), and none beside it`, () =>
            withStore((store, id) =>
              Effect.gen(function*() {
                const { beside, reached } = yield* filled(store, id, scope)
                yield* store.invalidate(wide[scope].target(reached[0]!), { soft: true })
                expect(yield* Effect.forEach([...reached, beside], (key) => look(store, key))).toEqual([
                  stale(1),
                  stale(2),
                  fresh(3)
                ])
              })
            ))
        }

        it.live("a stale entry past its staleUntil is absent", () =>
          withKey("p", "a", (store, key) =>
            Effect.gen(function*() {
              yield* fill(store, key, "v", 150)
              yield* store.invalidate(CacheKey.key(key), { soft: true })
              expect(yield* look(store, key)).toEqual(stale("v"))
              yield* Effect.sleep("300 millis")
              expect(yield* look(store, key)).toEqual(gone)
            })
          ))
      }
    })

    describe("getSync, on a store that has it", () => {
      /** What `getSync` gives of a key, as `get` gives it: the value, or none. */
      const sync = (store: CacheStore.Service, key: CacheKey.CacheKey) =>
        Option.map(Option.fromNullable(store.getSync?.(key)), (entry) => entry.value)
      const withSync = <A, E>(f: (store: CacheStore.Service, id: string) => Effect.Effect<A, E>) =>
        withStore((store, id) => store.getSync === undefined ? Effect.void : f(store, id))

      it.live("gives what get gives of a fresh entry, a copy of its own of an object value", () =>
        withSync((store, id) =>
          Effect.gen(function*() {
            const key = keyIn(id, "p", "a")
            expect(sync(store, key)).toEqual(Option.none())
            yield* fill(store, key, { tags: ["x"] })
            const first = store.getSync!(key)!
            expect(first).toEqual(Option.getOrThrow((yield* store.get(key)).entry))
            ;(first.value as { tags: Array<string> }).tags.push("changed by a caller")
            expect(sync(store, key)).toEqual(Option.some({ tags: ["x"] }))
          })
        ))

      it.live("gives nothing once the key, its partition or its namespace is invalidated, hard or soft", () =>
        withSync((store, id) =>
          Effect.gen(function*() {
            const targets = [
              (key: CacheKey.CacheKey) => CacheKey.key(key),
              (key: CacheKey.CacheKey) => CacheKey.partition(key),
              (key: CacheKey.CacheKey) => CacheKey.namespace(key.namespace)
            ]
            for (const [i, target] of targets.entries()) {
              for (const soft of [false, true]) {
                const key = keyIn(`${id}-${i}-${soft}`, "p", "a")
                yield* fill(store, key, 1)
                expect(sync(store, key)).toEqual(Option.some(1))
                yield* store.invalidate(target(key), { soft })
                expect(sync(store, key)).toEqual(Option.none())
              }
            }
          })
        ))

      it.live("gives nothing past staleUntil", () =>
        withSync((store, id) =>
          Effect.gen(function*() {
            const key = keyIn(id, "p", "a")
            yield* fill(store, key, 1, 50)
            yield* Effect.sleep("100 millis")
            expect(sync(store, key)).toEqual(Option.none())
          })
        ))
    })

    describe("getMany", () => {
      it.live("reads keys of several partitions and namespaces, in order, duplicates included", () =>
        withStore((store, id) =>
          Effect.gen(function*() {
            const [a, b, other] = [keyIn(id, "p", "a"), keyIn(id, "q", "b"), keyIn(`${id}-other`, "p", "a")]
            const missing = keyIn(id, "p", "missing")
            yield* Effect.forEach([a, b, other], (key, i) => fill(store, key, i + 1), { discard: true })
            const lookups = yield* store.getMany([missing, b, a, other, b])
            expect(lookups.map((lookup) => Option.map(lookup.entry, (entry) => entry.value))).toEqual([
              Option.none(),
              Option.some(2),
              Option.some(1),
              Option.some(3),
              Option.some(2)
            ])
            expect(yield* store.getMany([])).toEqual([])
          })
        ))

      it.live("gives guards that fill as get's do: stored, or refused after an invalidation", () =>
        withStore((store, id) =>
          Effect.gen(function*() {
            const a = keyIn(id, "p", "a")
            const b = keyIn(id, "q", "b")
            const c = keyIn(id, "r", "c")
            yield* fill(store, c, "old")
            const [forA, forB, forC] = yield* store.getMany([a, b, c])
            yield* store.invalidate(CacheKey.partition(b))
            yield* store.invalidate(CacheKey.key(c))
            const now = Date.now()
            expect(yield* store.set(a, entryFor("a", now, 60_000), forA!.guard)).toBe(true)
            expect(yield* store.set(b, entryFor("b", now, 60_000), forB!.guard)).toBe(false)
            expect(yield* store.set(c, entryFor("c", now, 60_000), forC!.guard)).toBe(false)
            expect(yield* read(store, a)).toEqual(Option.some("a"))
            expect(yield* read(store, c)).toEqual(Option.none())
          })
        ))

      it.live("marks softly invalidated entries as get does", () =>
        withStore((store, id) =>
          Effect.gen(function*() {
            const keys = [keyIn(id, "p", "a"), keyIn(id, "q", "b"), keyIn(id, "r", "c"), keyIn(`${id}-n`, "p", "d")]
            const [a, b, , d] = keys
            yield* Effect.forEach(keys, (key) => fill(store, key, key.key), { discard: true })
            yield* store.invalidate(CacheKey.key(a!), { soft: true })
            yield* store.invalidate(CacheKey.partition(b!), { soft: true })
            yield* store.invalidate(CacheKey.namespace(d!.namespace), { soft: true })
            const many = yield* store.getMany(keys)
            const each = yield* Effect.forEach(keys, (key) => store.get(key))
            const seen = (lookups: ReadonlyArray<CacheStore.Lookup>) =>
              lookups.map((lookup) => [Option.isSome(lookup.entry), lookup.stale === true])
            expect(seen(many)).toEqual(seen(each))
            if (capabilities.soft === true) {
              expect(seen(many)).toEqual([[true, true], [true, true], [true, false], [true, true]])
            }
          })
        ))
    })

    describe.skipIf(capabilities.leases !== true)("leases", () => {
      const asked = { lease: Duration.seconds(5) }
      const leasesOf = (store: CacheStore.Service): CacheStore.Leases => {
        expect(store.leases).toBeDefined()
        return store.leases!
      }
      /** Whether the key's lease is free: taken and given back at once when it is. */
      const free = (store: CacheStore.Service, key: CacheKey.CacheKey) =>
        Effect.flatMap(leasesOf(store).acquire(key, Duration.seconds(5)), (token) =>
          Option.isNone(token) ? Effect.succeed(false) : Effect.as(leasesOf(store).release(key, token.value), true))

      it.live("a read asked for the lease of an absent key takes it; the next finds it held; a read not asking learns nothing", () =>
        withKey("p", "a", (store, key) =>
          Effect.gen(function*() {
            const first = yield* store.get(key, asked)
            expect(first.lease?._tag).toBe("Taken")
            expect((yield* store.get(key, asked)).lease).toEqual({ _tag: "Held" })
            expect((yield* store.get(key)).lease).toBeUndefined()
            expect(yield* free(store, key)).toBe(false)
          })
        ))

      it.live("the fill under the lease's read gives it back, stored or refused", () =>
        withKey("p", "a", (store, key) =>
          Effect.gen(function*() {
            const refused = yield* store.get(key, asked)
            yield* store.invalidate(CacheKey.key(key))
            expect(yield* store.set(key, entryFor("raced", Date.now(), 60_000), refused.guard)).toBe(false)
            expect(yield* free(store, key)).toBe(true)
            const stored = yield* store.get(key, asked)
            expect(stored.lease?._tag).toBe("Taken")
            expect(yield* store.set(key, entryFor("v", Date.now(), 60_000), stored.guard)).toBe(true)
            expect(yield* free(store, key)).toBe(true)
          })
        ))

      it.live("a read that finds an entry, fresh or stale, takes no lease", () =>
        withKey("p", "a", (store, key) =>
          Effect.gen(function*() {
            yield* fill(store, key, "v")
            const hit = yield* store.get(key, asked)
            expect([Option.isSome(hit.entry), hit.lease]).toEqual([true, undefined])
            if (capabilities.soft === true) {
              yield* store.invalidate(CacheKey.key(key), { soft: true })
              const staleHit = yield* store.get(key, asked)
              expect([staleHit.stale, staleHit.lease]).toEqual([true, undefined])
            }
            expect(yield* free(store, key)).toBe(true)
            yield* store.invalidate(CacheKey.key(key))
            expect((yield* store.get(key, asked)).lease?._tag).toBe("Taken")
          })
        ))

      it.live("a read of an entry dead by a namespace wipe is a miss: it takes the lease, or answers none (it never waits)", () =>
        withKey("p", "a", (store, key) =>
          Effect.gen(function*() {
            yield* fill(store, key, "v")
            yield* store.invalidate(CacheKey.namespace(key.namespace))
            const lookup = yield* store.get(key, asked)
            // a Redis Cluster reads the namespace stamp beside the script that takes leases: it answers none
            expect([Option.isNone(lookup.entry), lookup.lease?._tag ?? "Taken"]).toEqual([true, "Taken"])
          })
        ))

      it.live("acquire takes a free lease once; release with another token leaves it held, with its own frees it", () =>
        withStore((store, id) =>
          Effect.gen(function*() {
            const leases = leasesOf(store)
            const key = keyIn(id, "p", "a")
            const token = yield* leases.acquire(key, Duration.seconds(5))
            expect(Option.isSome(token)).toBe(true)
            expect(yield* leases.acquire(key, Duration.seconds(5))).toEqual(Option.none())
            yield* leases.release(key, "not-the-holder" as CacheStore.LeaseToken)
            expect(yield* leases.acquire(key, Duration.seconds(5))).toEqual(Option.none())
            yield* leases.release(key, Option.getOrThrow(token))
            expect(yield* free(store, key)).toBe(true)
            expect(yield* free(store, keyIn(id, "p", "b"))).toBe(true)
          })
        ))

      it.live("a lease expires by itself after its duration", () =>
        withKey("p", "a", (store, key) =>
          Effect.gen(function*() {
            expect(Option.isSome(yield* leasesOf(store).acquire(key, Duration.millis(200)))).toBe(true)
            expect(yield* free(store, key)).toBe(false)
            yield* Effect.sleep("400 millis")
            expect(yield* free(store, key)).toBe(true)
          })
        ))

      it.live("awaitRelease returns when the lease is released, at once when it is free, and after its timeout at most", () =>
        withStore((store, id) =>
          Effect.gen(function*() {
            const leases = leasesOf(store)
            const key = keyIn(id, "p", "a")
            const [idle] = yield* Effect.timed(leases.awaitRelease(key, Duration.seconds(5)))
            expect(Duration.toMillis(idle)).toBeLessThan(2_000)
            const token = Option.getOrThrow(yield* leases.acquire(key, Duration.seconds(30)))
            const [bounded] = yield* Effect.timed(leases.awaitRelease(key, Duration.millis(300)))
            expect(Duration.toMillis(bounded)).toBeGreaterThanOrEqual(250)
            expect(Duration.toMillis(bounded)).toBeLessThan(2_500)
            const waiting = yield* Effect.fork(Effect.timed(leases.awaitRelease(key, Duration.seconds(10))))
            yield* Effect.sleep("100 millis")
            yield* leases.release(key, token)
            const [waited] = yield* Fiber.join(waiting)
            expect(Duration.toMillis(waited)).toBeLessThan(5_000)
          })
        ), 20_000)
    })
  })
