import { describe, expect, it } from "@effect/vitest"
import { Cached, type CacheEntry, CacheError, CacheKey, CacheStore, CacheSync, KeyConstructor, KeyField, Ttl } from "@cachefx/core"
import { Deferred, type Duration, Effect, Fiber, Layer, Option, TestClock } from "effect"
import { contract, keyIn } from "@cachefx/testkit/StoreContract"

contract(
  "tiered (memory over memory, in-process channel)",
  CacheStore.layerTiered({ l1: CacheStore.makeMemory({ capacity: 100 }), l2: CacheStore.makeMemory() }).pipe(
    Layer.provide(CacheSync.layerMemory)
  ),
  { soft: true }
)

const entry = (value: unknown, expiresAt: number | null = null): CacheEntry.CacheEntry => ({
  value,
  cachedAt: 0,
  expiresAt,
  staleUntil: expiresAt
})

/** L2 as seen by one instance: every `get` counted, and held at `gate` once read, when a gate is set. */
const instrumented = (l2: CacheStore.Service) => {
  const probe = { gets: 0, gate: undefined as Effect.Effect<void> | undefined }
  const store: CacheStore.Service = {
    ...l2,
    get: (key) => Effect.tap(Effect.suspend(() => (probe.gets++, l2.get(key))), () => probe.gate ?? Effect.void)
  }
  return { store, probe }
}

/** Two instances, A and B, over one shared L2 and one in-process channel. */
const twoInstances = (options: { readonly ttl?: Duration.DurationInput } = {}) =>
  Effect.gen(function*() {
    const shared = yield* CacheStore.makeMemory()
    const sync = yield* CacheSync.makeMemory
    const make = () => {
      const { probe, store } = instrumented(shared)
      return Effect.map(
        CacheStore.makeTiered({ l1: CacheStore.makeMemory({ capacity: 100 }), l2: store, sync, ...options }),
        (tiered) => ({ store: tiered, probe })
      )
    }
    return { a: yield* make(), b: yield* make(), shared, sync }
  })

const fill = (store: CacheStore.Service, key: CacheKey.CacheKey, value: unknown, expiresAt: number | null = null) =>
  Effect.flatMap(store.get(key), (lookup) => store.set(key, entry(value, expiresAt), lookup.guard))

const read = (store: CacheStore.Service, key: CacheKey.CacheKey) =>
  Effect.map(store.get(key), (lookup) => Option.map(lookup.entry, (entry) => entry.value))

/** Lets the instances' channel fibers apply what was published. */
const settle = Effect.repeatN(Effect.yieldNow(), 5)

/**
 * A read of `key` by an instance, held once it has read L2 and before it copies into L1,
 * until `release` runs; its fiber gives what it read.
 */
const heldRead = (
  instance: { readonly store: CacheStore.Service; readonly probe: ReturnType<typeof instrumented>["probe"] },
  key: CacheKey.CacheKey
) =>
  Effect.gen(function*() {
    const reading = yield* Deferred.make<void>()
    const released = yield* Deferred.make<void>()
    instance.probe.gate = Effect.zipRight(Deferred.succeed(reading, void 0), Deferred.await(released))
    const fiber = yield* Effect.fork(read(instance.store, key))
    yield* Deferred.await(reading)
    instance.probe.gate = undefined
    return { fiber, release: Deferred.succeed(released, void 0) }
  })

describe("CacheStore.makeTiered", () => {
  it.scoped("a fill after an L1 hit that L2 refuses drops the L1 copy; a shared read replaces it", () =>
    Effect.gen(function*() {
      const { a, b, shared } = yield* twoInstances()
      const key = keyIn("refused", "p", "a")
      yield* fill(a.store, key, "v1")
      expect(yield* read(b.store, key)).toEqual(Option.some("v1")) // now in B's L1
      // another instance refreshes the key in L2 (a refresh sends no message)
      yield* fill(shared, key, "v2")
      // B refreshes after an L1 hit: L2 no longer holds what B served, so the fill is refused…
      const lookup = yield* b.store.get(key)
      expect(yield* b.store.set(key, entry("v3"), lookup.guard)).toBe(false)
      // …and B's next read finds L2's entry, not its old copy
      const gets = b.probe.gets
      expect(yield* read(b.store, key)).toEqual(Option.some("v2"))
      expect(b.probe.gets).toBe(gets + 1)

      yield* fill(shared, key, "v4")
      expect(yield* read(b.store, key)).toEqual(Option.some("v2")) // B's L1 copy
      const latest = yield* b.store.get(key, { shared: true })
      expect(Option.map(latest.entry, (entry) => entry.value)).toEqual(Option.some("v4"))
      expect(yield* read(b.store, key)).toEqual(Option.some("v4")) // the copy was replaced
    }))

  it.scoped("an L1 hit costs no L2 read; an L1 miss reads L2 once and fills L1", () =>
    Effect.gen(function*() {
      const { a, b } = yield* twoInstances()
      const key = keyIn("hit", "p", "a")
      yield* fill(a.store, key, "v")
      expect(yield* read(b.store, key)).toEqual(Option.some("v"))
      expect(b.probe.gets).toBe(1)
      for (let i = 0; i < 3; i++) {
        expect(yield* read(b.store, key)).toEqual(Option.some("v"))
      }
      expect(b.probe.gets).toBe(1)
    }))

  const invalidations: Record<string, (store: CacheStore.Service, key: CacheKey.CacheKey) => Effect.Effect<void, unknown>> = {
    "an exact delete": (store, key) => store.invalidate(CacheKey.key(key)),
    "a partition wipe": (store, key) => store.invalidate(CacheKey.partition(key)),
    "a namespace wipe": (store, key) => store.invalidate(CacheKey.namespace(key.namespace)),
    "a soft partition wipe": (store, key) => store.invalidate(CacheKey.partition(key), { soft: true })
  }

  for (const [name, invalidate] of Object.entries(invalidations)) {
    it.scoped(`${name} by one instance reaches the other's L1`, () =>
      Effect.gen(function*() {
        const { a, b } = yield* twoInstances()
        const key = keyIn("reach", "p", "a")
        yield* fill(a.store, key, "old")
        expect(yield* read(b.store, key)).toEqual(Option.some("old")) // now in B's L1
        yield* invalidate(a.store, key)
        yield* fill(a.store, key, "new")
        yield* settle
        expect(yield* read(b.store, key)).toEqual(Option.some("new"))
      }))
  }

  it.scoped("a read of L2 that raced with an invalidation never leaves the old value in L1", () =>
    Effect.gen(function*() {
      const { a, b } = yield* twoInstances()
      const key = keyIn("race", "p", "a")
      yield* fill(a.store, key, "old")
      // B misses L1 and reads the old value from L2, then waits before filling L1
      const { fiber, release } = yield* heldRead(b, key)
      // A invalidates in L2 and publishes; B receives it and cleans its L1
      yield* a.store.invalidate(CacheKey.key(key))
      yield* settle
      // B's fill of L1 with the old value comes now: refused
      yield* release
      expect(yield* Fiber.join(fiber)).toEqual(Option.some("old"))
      expect(yield* read(b.store, key)).toEqual(Option.none())
      yield* fill(a.store, key, "new")
      expect(yield* read(b.store, key)).toEqual(Option.some("new"))
    }))

  it.scoped("while the channel is disconnected, reads go to L2 and fill no L1", () =>
    Effect.gen(function*() {
      const { a, b, sync } = yield* twoInstances()
      const key = keyIn("down", "p", "a")
      yield* fill(a.store, key, "old")
      yield* read(b.store, key)
      yield* sync.disconnect
      yield* settle
      yield* a.store.invalidate(CacheKey.key(key)) // the message is lost
      yield* fill(a.store, key, "new")
      const before = b.probe.gets
      expect(yield* read(b.store, key)).toEqual(Option.some("new"))
      expect(yield* read(b.store, key)).toEqual(Option.some("new"))
      expect(b.probe.gets).toBe(before + 2)
    }))

  it.scoped("on reconnection L1 starts empty: nothing it held before is served", () =>
    Effect.gen(function*() {
      const { a, b, sync } = yield* twoInstances()
      const key = keyIn("back", "p", "a")
      yield* fill(a.store, key, "old")
      yield* read(b.store, key)
      yield* sync.disconnect
      yield* a.store.invalidate(CacheKey.key(key)) // lost
      yield* fill(a.store, key, "new")
      yield* sync.reconnect
      yield* settle
      expect(yield* read(b.store, key)).toEqual(Option.some("new"))
      const before = b.probe.gets
      expect(yield* read(b.store, key)).toEqual(Option.some("new"))
      expect(b.probe.gets).toBe(before) // L1 serves again
    }))

  it.scoped("a read that started before a reconnection fills no L1", () =>
    Effect.gen(function*() {
      const { a, b, sync } = yield* twoInstances()
      const key = keyIn("across", "p", "a")
      yield* fill(a.store, key, "old")
      const { fiber, release } = yield* heldRead(b, key)
      yield* sync.disconnect
      yield* a.store.invalidate(CacheKey.key(key)) // lost
      yield* sync.reconnect
      yield* settle
      yield* release
      yield* Fiber.join(fiber)
      expect(yield* read(b.store, key)).toEqual(Option.none())
    }))

  it.scoped("L1 keeps an entry for ttl at most, and only while it is fresh", () =>
    Effect.gen(function*() {
      const { a, b } = yield* twoInstances({ ttl: "10 seconds" })
      const forever = keyIn("ttl", "p", "forever")
      const short = keyIn("ttl", "p", "short")
      yield* fill(a.store, forever, "f")
      yield* fill(a.store, short, "s", 5_000)
      yield* read(b.store, forever)
      yield* read(b.store, short)
      const before = b.probe.gets
      yield* TestClock.adjust("6 seconds")
      yield* read(b.store, forever)
      expect(b.probe.gets).toBe(before) // still in L1
      yield* read(b.store, short)
      expect(b.probe.gets).toBe(before + 1) // no longer fresh: from L2
      yield* TestClock.adjust("5 seconds")
      yield* read(b.store, forever)
      expect(b.probe.gets).toBe(before + 2) // past the L1 ttl: from L2
    }))

  it.scoped("getSync answers from L1, judged at the time it is given (the L1 copy's ttl)", () =>
    Effect.gen(function*() {
      const { a } = yield* twoInstances({ ttl: "10 seconds" })
      const key = keyIn("sync", "p", "a")
      yield* fill(a.store, key, "v")
      yield* read(a.store, key)
      expect(a.store.getSync?.(key, 9_999)?.value).toBe("v")
      expect(a.store.getSync?.(key, 10_000)).toBeUndefined()
      expect(a.store.getSync?.(key)?.value).toBe("v")
    }))

  it.scoped("a fill after an L1 hit (an explicit refresh) fills both tiers", () =>
    Effect.gen(function*() {
      const { a, b } = yield* twoInstances()
      const key = keyIn("refresh", "p", "a")
      yield* fill(a.store, key, "old") // into L2 and A's L1
      const hit = yield* a.store.get(key)
      expect(a.probe.gets).toBe(1)
      expect(yield* a.store.set(key, entry("new"), hit.guard)).toBe(true)
      expect(a.probe.gets).toBe(2) // one read of L2 confirms that it still holds what L1 served
      expect(yield* read(a.store, key)).toEqual(Option.some("new"))
      expect(a.probe.gets).toBe(2) // from L1
      expect(yield* read(b.store, key)).toEqual(Option.some("new"))
    }))

  it.scoped("a stale entry is served from L2, and its background refresh fills L2", () =>
    Effect.gen(function*() {
      const { a, b } = yield* twoInstances()
      const Counters = KeyConstructor.make({ namespace: "tiered-swr", fields: [KeyField.arg("id")] })
      let calls = 0
      const counter = Cached.cached({ key: Counters, ttl: Ttl.staleWhileRevalidate({ fresh: "1 minute", stale: "1 hour" }) })(
        (_: { readonly id: number }) => Effect.sync(() => ++calls)
      )
      expect(yield* counter({ id: 1 }).pipe(Effect.provideService(CacheStore.CacheStore, a.store))).toBe(1)
      yield* TestClock.adjust("2 minutes")
      const onB = counter.withStatus({ id: 1 }).pipe(Effect.provideService(CacheStore.CacheStore, b.store))
      expect((yield* onB).status).toBe("Stale")
      yield* settle
      expect(calls).toBe(2)
      const after = yield* onB
      expect([after.status, after.value]).toEqual(["Hit", 2])
    }))

  it.scoped("getMany reads L1 first and the rest from L2's getMany in one call", () =>
    Effect.gen(function*() {
      const shared = yield* CacheStore.makeMemory()
      let batches = 0
      const l2: CacheStore.Service = {
        ...shared,
        getMany: (keys) => Effect.suspend(() => (batches++, Effect.forEach(keys, (key) => shared.get(key))))
      }
      const store = yield* CacheStore.makeTiered({ l1: CacheStore.makeMemory(), l2, sync: yield* CacheSync.makeMemory })
      const [x, y, z] = ["x", "y", "z"].map((suffix) => keyIn("many", "p", suffix)) as [CacheKey.CacheKey, CacheKey.CacheKey, CacheKey.CacheKey]
      yield* fill(store, x, 1)
      yield* fill(shared, y, 2)
      const values = (keys: ReadonlyArray<CacheKey.CacheKey>) =>
        Effect.map(store.getMany!(keys), (lookups) => lookups.map((lookup) => Option.getOrUndefined(lookup.entry)?.value))
      expect(yield* values([x, y, z])).toEqual([1, 2, undefined])
      expect(batches).toBe(1)
      expect(yield* values([x, y])).toEqual([1, 2]) // y was copied into L1
      expect(batches).toBe(1)
    }))

  it.scoped("an invalidation that cannot be published fails with a CacheStoreError, done in L2 and in its own L1", () =>
    Effect.gen(function*() {
      const l2 = yield* CacheStore.makeMemory()
      const relay = yield* CacheSync.makeRelay({
        publish: () => Effect.fail(new CacheSync.CacheSyncError({ transport: "test", cause: "down" }))
      })
      relay.unsafeConnected()
      const store = yield* CacheStore.makeTiered({ l1: CacheStore.makeMemory(), l2, sync: relay })
      const key = keyIn("unpublished", "p", "a")
      yield* fill(store, key, "old")
      const error = yield* Effect.flip(store.invalidate(CacheKey.key(key)))
      expect(error).toBeInstanceOf(CacheError.CacheStoreError)
      expect(error.message).toContain("retry it")
      expect(yield* read(l2, key)).toEqual(Option.none())
      expect(yield* read(store, key)).toEqual(Option.none())
    }))
})
