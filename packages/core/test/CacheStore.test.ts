import { describe, expect, it } from "@effect/vitest"
import { CacheError, CacheKey, CacheSettings, CacheStore, TestCache } from "@cachefx/core"
import { Duration, Effect, Layer, Option, TestClock } from "effect"
import { contract, keyIn } from "@cachefx/testkit/StoreContract"

contract("memory", CacheStore.layerMemory(), { soft: true })
contract("TestCache", TestCache.layer(), { soft: true })
// a store of the essential operations: getMany derived by CacheStore.make
contract(
  "CacheStore.make over the memory store's get, set and invalidate",
  Layer.effect(CacheStore.CacheStore, Effect.map(CacheStore.makeMemory(), ({ get, invalidate, set }) => CacheStore.make({ get, set, invalidate }))),
  { soft: true }
)

describe("CacheStore.layerMemory", () => {
  const entry = (value: unknown) => ({ value, cachedAt: 0, expiresAt: null, staleUntil: null })

  it.effect("evicts the least recently used entry past its capacity", () =>
    Effect.gen(function*() {
      const store = yield* CacheStore.makeMemory({ capacity: 2 })
      const [a, b, c] = ["a", "b", "c"].map((suffix) => keyIn("lru", "p", suffix)) as [any, any, any]
      for (const key of [a, b]) {
        yield* store.set(key, entry(key.key), (yield* store.get(key)).guard)
      }
      yield* store.get(a) // a is now more recent than b
      yield* store.set(c, entry(c.key), (yield* store.get(c)).guard)
      expect(Option.isSome((yield* store.get(a)).entry)).toBe(true)
      expect(Option.isNone((yield* store.get(b)).entry)).toBe(true)
      expect(Option.isSome((yield* store.get(c)).entry)).toBe(true)
    }))

  it.effect("refuses a fill that took longer than the fill window", () =>
    Effect.gen(function*() {
      const store = yield* CacheStore.makeMemory().pipe(
        Effect.provide(CacheSettings.layer({ fillWindow: "10 seconds" }))
      )
      const key = keyIn("window", "p", "a")
      const lookup = yield* store.get(key)
      yield* TestClock.adjust("11 seconds")
      expect(yield* store.set(key, entry("late"), lookup.guard)).toBe(false)
      const fresh = yield* store.get(key)
      expect(yield* store.set(key, entry("on time"), fresh.guard)).toBe(true)
    }))

  it.effect("a delete is remembered for the fill window only, and refuses fills within it", () =>
    Effect.gen(function*() {
      const store = yield* CacheStore.makeMemory().pipe(
        Effect.provide(CacheSettings.layer({ fillWindow: "10 seconds" }))
      )
      const key = keyIn("remember", "p", "a")
      const early = yield* store.get(key)
      yield* TestClock.adjust("5 seconds")
      yield* store.invalidate(CacheKey.key(key))
      yield* TestClock.adjust("4 seconds")
      expect(yield* store.set(key, entry("raced"), early.guard)).toBe(false)
    }))

  it.effect("getSync judges an entry at the time it is given, else on the store's clock", () =>
    Effect.gen(function*() {
      const store = yield* CacheStore.makeMemory()
      const key = keyIn("sync", "p", "a")
      yield* store.set(key, { value: 1, cachedAt: 0, expiresAt: 1_000, staleUntil: 1_000 }, (yield* store.get(key)).guard)
      expect(store.getSync?.(key, 999)?.value).toBe(1)
      expect(store.getSync?.(key, 1_000)).toBeUndefined()
      expect(store.getSync?.(key)?.value).toBe(1) // the TestClock is at 0
      yield* TestClock.adjust("1 second")
      expect(store.getSync?.(key)).toBeUndefined()
      expect(store.getSync?.(key, 999)?.value).toBe(1)
    }))

  describe("a value that can never change is handed out as it is; any other is copied", () => {
    const read = (store: CacheStore.Service, key: CacheKey.CacheKey) =>
      Effect.map(store.get(key), (lookup) => Option.getOrThrow(lookup.entry))
    const fill = (store: CacheStore.Service, key: CacheKey.CacheKey, value: unknown) =>
      Effect.flatMap(store.get(key), (lookup) => store.set(key, entry(value), lookup.guard))

    it.effect("a deeply frozen value: every read gets it, and neither it nor its entry can be changed", () =>
      Effect.gen(function*() {
        const store = yield* CacheStore.makeMemory()
        const key = keyIn("frozen", "p", "deep")
        const value = Object.freeze({ user: "ada", roles: Object.freeze(["reader"]) })
        yield* fill(store, key, value)
        const first = yield* read(store, key)
        expect(first.value).toBe(value)
        expect(() => (first.value as { roles: Array<string> }).roles.push("admin")).toThrow(TypeError)
        expect(() => {
          ;(first as { value: unknown }).value = { user: "eve", roles: ["admin"] }
        }).toThrow(TypeError)
        expect((yield* read(store, key)).value).toEqual({ user: "ada", roles: ["reader"] })
        expect(store.getSync!(key)?.value).toBe(value)
      }))

    it.effect("frozen at the top only, with a getter, or a frozen Date inside: each read gets a copy of its own", () =>
      Effect.gen(function*() {
        const store = yield* CacheStore.makeMemory()
        const cases: ReadonlyArray<readonly [string, unknown, (read: any) => void]> = [
          ["shallow", Object.freeze({ roles: ["reader"] }), (read) => read.roles.push("admin")],
          [
            "getter",
            Object.freeze({ get roles() {
              return ["reader"]
            } }),
            (read) => read.roles.push("admin")
          ],
          ["date", Object.freeze({ at: Object.freeze(new Date(0)) }), (read) => read.at.roles = ["admin"]]
        ]
        for (const [name, value, change] of cases) {
          const key = keyIn("frozen", "p", name)
          yield* fill(store, key, value)
          const first = yield* read(store, key)
          expect(first.value, name).not.toBe(value)
          const before = JSON.stringify(first.value)
          change(first.value)
          const next = yield* read(store, key)
          expect(next.value, name).not.toBe(first.value)
          expect(JSON.stringify(next.value), name).toBe(before)
        }
      }))
  })

  it("rejects a capacity that is not a positive whole number", () => {
    expect(() => CacheStore.makeMemory({ capacity: 0 })).toThrow(CacheError.CacheDefinitionError)
    expect(() => CacheStore.makeMemory({ capacity: 1.5 })).toThrow(/positive whole number/)
  })

  it.effect("withTimeout fails an operation that takes too long", () =>
    Effect.gen(function*() {
      const store = yield* CacheStore.makeMemory()
      const slow: CacheStore.Service = { ...store, invalidate: () => Effect.sleep("1 second") }
      const bounded = CacheStore.withTimeout(slow, "100 millis")
      const fiber = yield* Effect.fork(Effect.flip(bounded.invalidate(CacheKey.namespace("x"))))
      yield* TestClock.adjust("100 millis")
      const { reason } = yield* fiber.await.pipe(Effect.flatten)
      expect(reason).toBe("Timeout")
    }).pipe(Effect.provide(Layer.empty)))

  it.live("withTimeout bounds a read run uninterruptibly, as cached() runs one that takes a lease", () =>
    Effect.gen(function*() {
      const store = yield* CacheStore.makeMemory()
      const slow: CacheStore.Service = { ...store, get: () => Effect.as(Effect.sleep("1 second"), { entry: Option.none(), guard: undefined as never }) }
      const bounded = CacheStore.withTimeout(slow, "100 millis")
      const [elapsed, error] = yield* Effect.timed(Effect.flip(Effect.uninterruptible(bounded.get(keyIn("bound", "p", "k")))))
      expect(error.reason).toBe("Timeout")
      expect(Duration.toMillis(elapsed)).toBeLessThan(600)
    }))
})
