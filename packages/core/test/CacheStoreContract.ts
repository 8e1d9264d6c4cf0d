/**
 * The contract every `CacheStore` keeps, as a suite any store's tests run:
 * `contractSuite("memory", CacheStore.layerMemory())`.
 */
import { describe, expect, it } from "@effect/vitest"
import type { CacheEntry, CacheKey } from "@cachefx/core"
import { CacheStore } from "@cachefx/core"
import { Effect, Layer, Option } from "effect"

let counter = 0

/** A key in a namespace of its own, so suites never collide on a shared server. */
export const keyIn = (run: string, partition: string, suffix: string): CacheKey.CacheKey => {
  const namespace = `contract-${run}`
  const scope = `${namespace}:1:${partition}`
  return { namespace, partition: scope, key: `${scope}:${suffix}` }
}

const entryFor = (value: unknown, now: number, ttlMillis: number | null): CacheEntry.CacheEntry => ({
  value,
  cachedAt: now,
  expiresAt: ttlMillis === null ? null : now + ttlMillis,
  staleUntil: ttlMillis === null ? null : now + ttlMillis
})

export const contractSuite = (name: string, layer: Layer.Layer<CacheStore.CacheStore, unknown>) =>
  describe(`CacheStore contract: ${name}`, () => {
    const run = () => `${process.pid}-${Date.now()}-${counter++}`
    const withStore = <A, E>(f: (store: CacheStore.Service, id: string) => Effect.Effect<A, E>) =>
      Effect.flatMap(CacheStore.CacheStore, (store) => f(store, run())).pipe(Effect.provide(layer))

    const fill = (store: CacheStore.Service, key: CacheKey.CacheKey, value: unknown, ttl: number | null = 60_000) =>
      Effect.flatMap(store.get(key), (lookup) => store.set(key, entryFor(value, Date.now(), ttl), lookup.guard))

    /** Two keys of partition "#1" (filled with 1 and 2) and one of partition "#12" (3), a prefix of it is no match. */
    const filledPartitions = (store: CacheStore.Service, id: string) =>
      Effect.gen(function*() {
        const a1 = keyIn(id, "#1", "a")
        const a2 = keyIn(id, "#1", "b")
        const other = keyIn(id, "#12", "a")
        yield* fill(store, a1, 1)
        yield* fill(store, a2, 2)
        yield* fill(store, other, 3)
        return { a1, a2, other }
      })
    /** A key (filled with 1), the same key under version 2 of its namespace (2), and a key of another namespace (3). */
    const filledVersions = (store: CacheStore.Service, id: string) =>
      Effect.gen(function*() {
        const a = keyIn(id, "p", "a")
        const v2: CacheKey.CacheKey = { namespace: a.namespace, partition: `${a.namespace}:2:p`, key: `${a.namespace}:2:p:a` }
        const other = keyIn(`${id}-other`, "p", "a")
        yield* fill(store, a, 1)
        yield* fill(store, v2, 2)
        yield* fill(store, other, 3)
        return { a, other, v2 }
      })
    const read = (store: CacheStore.Service, key: CacheKey.CacheKey) =>
      Effect.map(store.get(key), (lookup) => Option.map(lookup.entry, (entry) => entry.value))

    it.live("a filled key reads back its entry, metadata included", () =>
      withStore((store, id) =>
        Effect.gen(function*() {
          const key = keyIn(id, "p", "a")
          expect(Option.isNone((yield* store.get(key)).entry)).toBe(true)
          const now = Date.now()
          const entry = entryFor({ name: "Ada", tags: ["x"], n: 1.5 }, now, 60_000)
          const lookup = yield* store.get(key)
          expect(yield* store.set(key, entry, lookup.guard)).toBe(true)
          const stored = yield* store.get(key)
          expect(stored.entry).toEqual(Option.some(entry))
        })
      ))

    it.live("an entry without expiry is kept", () =>
      withStore((store, id) =>
        Effect.gen(function*() {
          const key = keyIn(id, "p", "forever")
          yield* fill(store, key, "v", null)
          expect(yield* read(store, key)).toEqual(Option.some("v"))
        })
      ))

    it.live("an entry past staleUntil is absent", () =>
      withStore((store, id) =>
        Effect.gen(function*() {
          const key = keyIn(id, "p", "short")
          yield* fill(store, key, "v", 40)
          yield* Effect.sleep("120 millis")
          expect(yield* read(store, key)).toEqual(Option.none())
        })
      ))

    it.live("delete removes one key and leaves its neighbours", () =>
      withStore((store, id) =>
        Effect.gen(function*() {
          const a = keyIn(id, "p", "a")
          const b = keyIn(id, "p", "b")
          yield* fill(store, a, 1)
          yield* fill(store, b, 2)
          yield* store.delete(a)
          expect(yield* read(store, a)).toEqual(Option.none())
          expect(yield* read(store, b)).toEqual(Option.some(2))
        })
      ))

    it.live("deletePartition wipes its keys and no other partition's", () =>
      withStore((store, id) =>
        Effect.gen(function*() {
          const { a1, a2, other } = yield* filledPartitions(store, id)
          yield* store.deletePartition(a1)
          expect(yield* read(store, a1)).toEqual(Option.none())
          expect(yield* read(store, a2)).toEqual(Option.none())
          expect(yield* read(store, other)).toEqual(Option.some(3))
          yield* fill(store, a1, 4)
          expect(yield* read(store, a1)).toEqual(Option.some(4))
        })
      ))

    it.live("clear wipes a namespace, every version, and no other namespace", () =>
      withStore((store, id) =>
        Effect.gen(function*() {
          const { a, other, v2 } = yield* filledVersions(store, id)
          yield* store.clear(a.namespace)
          expect(yield* read(store, a)).toEqual(Option.none())
          expect(yield* read(store, v2)).toEqual(Option.none())
          expect(yield* read(store, other)).toEqual(Option.some(3))
          yield* fill(store, a, 5)
          expect(yield* read(store, a)).toEqual(Option.some(5))
        })
      ))

    describe("guarded fill", () => {
      const raced = (invalidate: (store: CacheStore.Service, key: CacheKey.CacheKey) => Effect.Effect<void, unknown>) =>
        withStore((store, id) =>
          Effect.gen(function*() {
            const key = keyIn(id, "#7", "a")
            const lookup = yield* store.get(key)
            yield* invalidate(store, key)
            const stored = yield* store.set(key, entryFor("stale", Date.now(), 60_000), lookup.guard)
            return { stored, value: yield* read(store, key) }
          })
        )

      it.live("a fill that read before a delete of its key is refused", () =>
        Effect.map(raced((store, key) => store.delete(key)), (outcome) => {
          expect(outcome).toEqual({ stored: false, value: Option.none() })
        }))

      it.live("a fill that read before a wipe of its partition is refused", () =>
        Effect.map(raced((store, key) => store.deletePartition(key)), (outcome) => {
          expect(outcome).toEqual({ stored: false, value: Option.none() })
        }))

      it.live("a fill that read before a wipe of its namespace is refused", () =>
        Effect.map(raced((store, key) => store.clear(key.namespace)), (outcome) => {
          expect(outcome).toEqual({ stored: false, value: Option.none() })
        }))

      it.live("a fill that read over an entry deleted meanwhile is refused", () =>
        withStore((store, id) =>
          Effect.gen(function*() {
            const key = keyIn(id, "p", "a")
            yield* fill(store, key, "old")
            const lookup = yield* store.get(key)
            yield* store.delete(key)
            expect(yield* store.set(key, entryFor("new", Date.now(), 60_000), lookup.guard)).toBe(false)
            expect(yield* read(store, key)).toEqual(Option.none())
          })
        ))

      it.live("invalidating another key or partition does not refuse a fill", () =>
        withStore((store, id) =>
          Effect.gen(function*() {
            const key = keyIn(id, "#1", "a")
            const lookup = yield* store.get(key)
            yield* store.delete(keyIn(id, "#1", "b"))
            yield* store.deletePartition(keyIn(id, "#2", "a"))
            yield* store.clear(keyIn(`${id}-other`, "p", "a").namespace)
            expect(yield* store.set(key, entryFor("v", Date.now(), 60_000), lookup.guard)).toBe(true)
            expect(yield* read(store, key)).toEqual(Option.some("v"))
          })
        ))

      it.live("a fill after an invalidation, with a guard read after it, is stored", () =>
        withStore((store, id) =>
          Effect.gen(function*() {
            const key = keyIn(id, "#1", "a")
            yield* store.deletePartition(key)
            yield* store.delete(key)
            yield* fill(store, key, "fresh")
            expect(yield* read(store, key)).toEqual(Option.some("fresh"))
          })
        ))
    })

    describe("soft invalidation", () => {
      /** What a read gives: the value and whether it is marked stale. */
      const look = (store: CacheStore.Service, key: CacheKey.CacheKey) =>
        Effect.map(store.get(key), (lookup) => ({
          value: Option.map(lookup.entry, (entry) => entry.value),
          stale: lookup.stale === true
        }))
      const fresh = (value: unknown) => ({ value: Option.some(value), stale: false })
      const stale = (value: unknown) => ({ value: Option.some(value), stale: true })
      const gone = { value: Option.none(), stale: false }

      it.live("a soft delete leaves its key stale, its metadata whole, and its neighbours fresh", () =>
        withStore((store, id) =>
          Effect.gen(function*() {
            const a = keyIn(id, "p", "a")
            const b = keyIn(id, "p", "b")
            const entry = entryFor({ n: 1 }, Date.now(), 60_000)
            yield* store.set(a, entry, (yield* store.get(a)).guard)
            yield* fill(store, b, 2)
            yield* store.delete(a, { soft: true })
            const lookup = yield* store.get(a)
            expect(lookup.entry).toEqual(Option.some(entry))
            expect(lookup.stale).toBe(true)
            expect(yield* look(store, b)).toEqual(fresh(2))
          })
        ))

      it.live("a soft partition wipe leaves its keys stale and no other partition's", () =>
        withStore((store, id) =>
          Effect.gen(function*() {
            const { a1, a2, other } = yield* filledPartitions(store, id)
            yield* store.deletePartition(a1, { soft: true })
            expect(yield* look(store, a1)).toEqual(stale(1))
            expect(yield* look(store, a2)).toEqual(stale(2))
            expect(yield* look(store, other)).toEqual(fresh(3))
          })
        ))

      it.live("a soft clear leaves a namespace stale, every version, and no other namespace", () =>
        withStore((store, id) =>
          Effect.gen(function*() {
            const { a, other, v2 } = yield* filledVersions(store, id)
            yield* store.clear(a.namespace, { soft: true })
            expect(yield* look(store, a)).toEqual(stale(1))
            expect(yield* look(store, v2)).toEqual(stale(2))
            expect(yield* look(store, other)).toEqual(fresh(3))
          })
        ))

      it.live("a fill with a guard read after a soft invalidation is fresh", () =>
        withStore((store, id) =>
          Effect.gen(function*() {
            const key = keyIn(id, "#1", "a")
            yield* fill(store, key, "old")
            yield* store.delete(key, { soft: true })
            yield* store.deletePartition(key, { soft: true })
            yield* store.clear(key.namespace, { soft: true })
            expect(yield* look(store, key)).toEqual(stale("old"))
            yield* fill(store, key, "new")
            expect(yield* look(store, key)).toEqual(fresh("new"))
          })
        ))

      it.live("a soft invalidation of a key that holds nothing stores nothing", () =>
        withStore((store, id) =>
          Effect.gen(function*() {
            const key = keyIn(id, "#1", "a")
            yield* store.delete(key, { soft: true })
            yield* store.deletePartition(key, { soft: true })
            yield* store.clear(key.namespace, { soft: true })
            expect(yield* look(store, key)).toEqual(gone)
          })
        ))

      type Invalidation = (store: CacheStore.Service, key: CacheKey.CacheKey) => Effect.Effect<void, unknown>

      const softThenHard: Record<string, Invalidation> = {
        "delete": (store, key) => Effect.zipRight(store.delete(key, { soft: true }), store.delete(key)),
        "deletePartition": (store, key) =>
          Effect.zipRight(store.deletePartition(key, { soft: true }), store.deletePartition(key)),
        "clear": (store, key) => Effect.zipRight(store.clear(key.namespace, { soft: true }), store.clear(key.namespace))
      }
      for (const [operation, invalidate] of Object.entries(softThenHard)) {
        it.live(`a hard ${operation} after a soft one removes the entries`, () =>
          withStore((store, id) =>
            Effect.gen(function*() {
              const key = keyIn(id, "#1", "a")
              yield* fill(store, key, "old")
              yield* invalidate(store, key)
              expect(yield* look(store, key)).toEqual(gone)
            })
          ))
      }

      const softly: Record<string, Invalidation> = {
        "delete of its key": (store, key) => store.delete(key, { soft: true }),
        "wipe of its partition": (store, key) => store.deletePartition(key, { soft: true }),
        "wipe of its namespace": (store, key) => store.clear(key.namespace, { soft: true })
      }
      // A fill that read before a soft invalidation is refused (reported unstored) and never reads back fresh:
      // the memory store and a single Redis store nothing; on a Redis Cluster, where the namespace stamp is
      // checked beside the fill, an entry raced by a soft namespace wipe is stored and reads back stale.
      for (const [what, invalidate] of Object.entries(softly)) {
        it.live(`a fill that read before a soft ${what} is refused, and the key reads stale`, () =>
          withStore((store, id) =>
            Effect.gen(function*() {
              const key = keyIn(id, "#1", "a")
              yield* fill(store, key, "old")
              const lookup = yield* store.get(key)
              yield* invalidate(store, key)
              expect(yield* store.set(key, entryFor("computed before", Date.now(), 60_000), lookup.guard)).toBe(false)
              expect((yield* look(store, key)).stale).toBe(true)
            })
          ))

        it.live(`a fill that read an absent key before a soft ${what} is refused, and never reads fresh`, () =>
          withStore((store, id) =>
            Effect.gen(function*() {
              const key = keyIn(id, "#1", "a")
              const lookup = yield* store.get(key)
              yield* invalidate(store, key)
              expect(yield* store.set(key, entryFor("computed before", Date.now(), 60_000), lookup.guard)).toBe(false)
              const after = yield* look(store, key)
              expect(Option.isNone(after.value) || after.stale).toBe(true)
            })
          ))
      }
    })

    describe("getMany (a store that has it)", () => {
      /** The store's getMany: every store of cachefx has one. */
      const getManyOf = (store: CacheStore.Service) => {
        expect(store.getMany).toBeDefined()
        return store.getMany!
      }

      it.live("reads keys of several partitions and namespaces, in order, duplicates included", () =>
        withStore((store, id) =>
          Effect.gen(function*() {
            const a = keyIn(id, "p", "a")
            const b = keyIn(id, "q", "b")
            const missing = keyIn(id, "p", "missing")
            const other = keyIn(`${id}-other`, "p", "a")
            yield* fill(store, a, 1)
            yield* fill(store, b, 2)
            yield* fill(store, other, 3)
            const lookups = yield* getManyOf(store)([missing, b, a, other, b])
            expect(lookups.map((lookup) => Option.map(lookup.entry, (entry) => entry.value))).toEqual([
              Option.none(),
              Option.some(2),
              Option.some(1),
              Option.some(3),
              Option.some(2)
            ])
            expect(yield* getManyOf(store)([])).toEqual([])
          })
        ))

      it.live("gives guards that fill as get's do: stored, or refused after an invalidation", () =>
        withStore((store, id) =>
          Effect.gen(function*() {
            const a = keyIn(id, "p", "a")
            const b = keyIn(id, "q", "b")
            const c = keyIn(id, "r", "c")
            yield* fill(store, c, "old")
            const [forA, forB, forC] = yield* getManyOf(store)([a, b, c])
            yield* store.deletePartition(b)
            yield* store.delete(c)
            const now = Date.now()
            expect(yield* store.set(a, entryFor("a", now, 60_000), forA!.guard)).toBe(true)
            expect(yield* store.set(b, entryFor("b", now, 60_000), forB!.guard)).toBe(false)
            expect(yield* store.set(c, entryFor("c", now, 60_000), forC!.guard)).toBe(false)
            expect(yield* read(store, a)).toEqual(Option.some("a"))
            expect(yield* read(store, c)).toEqual(Option.none())
          })
        ))

      it.live("marks softly invalidated entries stale, as get does", () =>
        withStore((store, id) =>
          Effect.gen(function*() {
            const [a, b, c, d] = [keyIn(id, "p", "a"), keyIn(id, "q", "b"), keyIn(id, "r", "c"), keyIn(`${id}-n`, "p", "d")]
            yield* Effect.forEach([a, b, c, d], (key) => fill(store, key, key.key), { discard: true })
            yield* store.delete(a, { soft: true })
            yield* store.deletePartition(b, { soft: true })
            yield* store.clear(d.namespace, { soft: true })
            const lookups = yield* getManyOf(store)([a, b, c, d])
            expect(lookups.map((lookup) => [Option.isSome(lookup.entry), lookup.stale === true])).toEqual([
              [true, true],
              [true, true],
              [true, false],
              [true, true]
            ])
          })
        ))
    })
  })
