import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { CacheKey, CacheSettings, CacheStore } from "@cachefx/core"
import { RedisStore, RedisSync } from "@cachefx/redis"
import { Duration, Effect, Layer, Option, Schedule } from "effect"
import { Cluster, Redis } from "ioredis"
import { contract, keyIn } from "@cachefx/testkit/StoreContract"
import { previousVersionsSuite } from "../../core/test/PreviousVersionsSuite.js"
import * as keys from "../src/internal/keys.js"
import { cleanup, layerConfigAt, sharedUrl, TestSettings } from "./redis.js"
import { type RedisCluster, sharedAddress, startCluster, startProxy, unavailable } from "@cachefx/testkit"

/** The marker of this file's keys on the shared Redis. */
const prefix = `redis-store-${process.pid}`

describe("single Redis", () => {
  afterAll(() => cleanup(prefix))
  // the contract provides its settings (its fill window) to the layer
  contract(`redis (${sharedUrl})`, layerConfigAt(sharedUrl), { soft: true, leases: true, prefix })
})

if (unavailable !== undefined) {
  console.warn(`Skipping the Redis Cluster tests: ${unavailable}`)
}

describe.skipIf(unavailable !== undefined)("Redis Cluster of 3 masters (started by the test)", () => {
  let cluster: RedisCluster
  let client: Cluster
  beforeAll(async () => {
    cluster = await startCluster()
    client = new Cluster(cluster.ports.map((port) => ({ host: "127.0.0.1", port })))
    await new Promise((resolve, reject) => client.once("ready", resolve).once("error", reject))
  }, 30_000)
  afterAll(async () => {
    await client?.quit()
    await cluster?.stop()
  })

  contract("redis cluster", Layer.suspend(() => RedisStore.layer({ client })), { soft: true, leases: true })
  // every master is scanned
  previousVersionsSuite("redis cluster", Layer.suspend(() => RedisStore.layer({ client })).pipe(Layer.provide(TestSettings)), "versions")

  it.live("two tiers over the Cluster, each instance's channel on another node: an invalidation reaches the other L1", () =>
    Effect.gen(function*() {
      const channel = `tiers-cluster-${process.pid}-${Date.now()}`
      let readsOfB = 0
      /** An instance: its L1, the Cluster as L2 (reads counted for B), its channel on a client of one node. */
      const instance = (port: number, counted: boolean) =>
        Effect.gen(function*() {
          const node = new Redis({ host: "127.0.0.1", port })
          yield* Effect.addFinalizer(() => Effect.sync(() => node.disconnect()))
          const l2 = yield* RedisStore.make({ client })
          return yield* CacheStore.makeTiered({
            l1: CacheStore.makeMemory(),
            l2: counted ? { ...l2, get: (key, options) => Effect.suspend(() => (readsOfB++, l2.get(key, options))) } : l2,
            sync: yield* RedisSync.make({ client: node, channel })
          })
        })
      const a = yield* instance(cluster.ports[0]!, false)
      const b = yield* instance(cluster.ports[1]!, true)
      const key = keyIn(channel, "p", "k")
      const lookup = yield* b.get(key)
      const now = Date.now()
      yield* b.set(key, { value: "old", cachedAt: now, expiresAt: now + 60_000, staleUntil: now + 60_000 }, lookup.guard)
      yield* b.get(key) // copied into B's L1
      const before = readsOfB
      expect(Option.isSome((yield* b.get(key)).entry)).toBe(true)
      expect(readsOfB).toBe(before) // served by B's L1
      yield* a.invalidate(CacheKey.key(key))
      // one pub/sub delivery, across the Cluster's nodes
      yield* b.get(key).pipe(
        Effect.flatMap((lookup) => Option.isNone(lookup.entry) ? Effect.void : Effect.fail("still served by B's L1")),
        Effect.retry({ schedule: Schedule.spaced("10 millis"), times: 100 })
      )
    }).pipe(Effect.provide(TestSettings), Effect.scoped), 20_000)
})

describe("RedisStore on a single Redis", () => {
  const run = `specifics-${process.pid}-${Date.now()}`
  let client: Redis
  beforeAll(() => {
    client = new Redis(sharedUrl)
  })
  afterAll(async () => {
    await cleanup(run)
    await client.quit()
  })

  const withStore = <A, E>(f: (store: CacheStore.Service) => Effect.Effect<A, E>) =>
    Effect.flatMap(CacheStore.CacheStore, f).pipe(
      Effect.provide(RedisStore.layer({ client })),
      Effect.provide(CacheSettings.layer({ fillWindow: "200 millis", operationTimeout: "1 second" }))
    )

  const entry = (ttl: number | null) => {
    const now = Date.now()
    return { value: { a: 1 }, cachedAt: now, expiresAt: ttl && now + ttl, staleUntil: ttl && now + ttl }
  }

  it.live("refuses a fill later than the fill window, timed on the Redis clock", () =>
    withStore((store) =>
      Effect.gen(function*() {
        const key = keyIn(run, "p", "late")
        const lookup = yield* store.get(key)
        yield* Effect.sleep("300 millis")
        expect(yield* store.set(key, entry(60_000), lookup.guard)).toBe(false)
        expect(yield* store.set(key, entry(60_000), (yield* store.get(key)).guard)).toBe(true)
      })
    ))

  it.live("sends a script's text again when Redis no longer knows it (SCRIPT FLUSH)", () =>
    withStore((store) =>
      Effect.gen(function*() {
        const key = keyIn(run, "p", "flushed")
        yield* store.set(key, entry(60_000), (yield* store.get(key)).guard)
        yield* Effect.promise(() => client.script("FLUSH"))
        expect(Option.isSome((yield* store.get(key)).entry)).toBe(true)
        yield* Effect.promise(() => client.script("FLUSH"))
        expect(yield* store.set(key, entry(60_000), (yield* store.get(key)).guard)).toBe(true)
      })
    ))

  it.live("gives the scripts' keys the client's keyPrefix, as its own commands", () =>
    Effect.gen(function*() {
      const prefixed = new Redis(sharedUrl, { keyPrefix: run + ":" })
      yield* Effect.addFinalizer(() => Effect.promise(() => prefixed.quit()))
      const store = yield* RedisStore.make({ client: prefixed }).pipe(Effect.provide(TestSettings))
      const key = keyIn(run, "p", "prefixed")
      expect(yield* store.set(key, entry(60_000), (yield* store.get(key)).guard)).toBe(true)
      expect(Option.isSome((yield* store.get(key)).entry)).toBe(true)
      expect(yield* Effect.promise(() => client.exists(run + ":" + keys.physical(key).entry))).toBe(1)
      expect(yield* Effect.promise(() => client.exists(keys.physical(key).entry))).toBe(0)
    }).pipe(Effect.scoped))

  it.live("keeps stamps alive as long as the entries that recorded them; an entry of Ttl.forever lives maxTtl (30 days)", () =>
    withStore((store) =>
      Effect.gen(function*() {
        const timed = keyIn(run, "p", "timed")
        yield* store.set(timed, entry(60_000), (yield* store.get(timed)).guard)
        const ttl = yield* Effect.promise(() => client.pttl(keys.partitionStamp(timed.partition)))
        expect(ttl).toBeGreaterThan(60_000)
        const forever = keyIn(run, "q", "forever")
        yield* store.set(forever, entry(null), (yield* store.get(forever)).guard)
        const ttls = yield* Effect.promise(() =>
          Promise.all([
            client.pttl(keys.physical(forever).entry),
            client.pttl(keys.partitionStamp(forever.partition)),
            client.pttl(keys.namespaceStamp(forever.namespace))
          ])
        )
        const days30 = 30 * 24 * 3_600_000
        for (const ttl of ttls) {
          expect(ttl).toBeGreaterThan(days30 - 60_000)
          expect(ttl).toBeLessThanOrEqual(days30 + 60_000) // a stamp: the entry's PX and the fill window
        }
      })
    ))

  it.live("takes an infinite operation timeout and fill window (capped, never an instant timeout)", () =>
    Effect.gen(function*() {
      const store = yield* RedisStore.make({ client }).pipe(
        Effect.provide(CacheSettings.layer({ operationTimeout: Duration.infinity, fillWindow: Duration.infinity }))
      )
      const key = keyIn(run, "p", "infinite")
      expect(yield* store.set(key, entry(60_000), (yield* store.get(key)).guard)).toBe(true)
      yield* store.invalidate(CacheKey.key(key))
      expect(Option.isNone((yield* store.get(key)).entry)).toBe(true)
    }).pipe(Effect.scoped))

  it.live("reads a key of another Redis type as foreign, and a fill replaces it", () =>
    withStore((store) =>
      Effect.gen(function*() {
        const key = keyIn(run, "p", "hash")
        yield* Effect.promise(() => client.hset(keys.physical(key).entry, "field", "value"))
        const lookup = yield* store.get(key)
        expect(Option.isNone(lookup.entry)).toBe(true)
        expect(lookup.foreign).toMatch(/not a cachefx entry/)
        expect(yield* store.set(key, entry(60_000), lookup.guard)).toBe(true)
        expect(yield* Effect.promise(() => client.type(keys.physical(key).entry))).toBe("string")
        const replaced = yield* store.get(key)
        expect(Option.isSome(replaced.entry)).toBe(true)
        expect(replaced.foreign).toBeUndefined()
      })
    ))

  it.live("serves values whose JSON holds spaces, as they were stored", () =>
    withStore((store) =>
      Effect.gen(function*() {
        const key = keyIn(run, "p", "spaces")
        const value = { text: " two  spaces ", nested: [" a b ", { " key ": "~x y" }] }
        const stored = { ...entry(60_000), value }
        expect(yield* store.set(key, stored, (yield* store.get(key)).guard)).toBe(true)
        expect((yield* store.get(key)).entry).toEqual(Option.some(stored))
      })
    ))

  it.live("fails a read with Unavailable when the client refuses the command at once (no offline queue)", () =>
    Effect.gen(function*() {
      const offline = new Redis(sharedUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 0, lazyConnect: true })
      yield* Effect.addFinalizer(() => Effect.sync(() => offline.disconnect()))
      const store = yield* RedisStore.make({ client: offline }).pipe(Effect.provide(TestSettings))
      const error = yield* Effect.flip(store.get(keyIn(run, "p", "offline")))
      expect(error.reason).toBe("Unavailable")
      expect(String(error.cause)).toMatch(/enableOfflineQueue/)
    }).pipe(Effect.scoped))

  it.live("a delete leaves a tombstone for the fill window only; a wipe is one new stamp", () =>
    withStore((store) =>
      Effect.gen(function*() {
        const key = keyIn(run, "p", "deleted")
        yield* store.set(key, entry(60_000), (yield* store.get(key)).guard)
        yield* store.invalidate(CacheKey.key(key))
        const tombstone = yield* Effect.promise(() => client.pttl(keys.physical(key).entry))
        expect(tombstone).toBeGreaterThan(0)
        expect(tombstone).toBeLessThanOrEqual(200)
        const stamp = keys.partitionStamp(key.partition)
        const before = yield* Effect.promise(() => client.get(stamp))
        yield* store.invalidate(CacheKey.partition(key))
        const [after, ttl] = yield* Effect.promise(() => Promise.all([client.get(stamp), client.pttl(stamp)]))
        expect(after).not.toBe(before)
        expect(ttl).toBeLessThanOrEqual(200)
        expect(Option.isNone((yield* store.get(key)).entry)).toBe(true)
      })
    ))
})

describe("RedisStore over a Redis that never answers", () => {
  it.live("fails each operation with a Timeout after the operation timeout, never hangs", () =>
    Effect.gen(function*() {
      const silent = yield* Effect.promise(() => startProxy(sharedAddress.port, sharedAddress.host))
      silent.blackhole() // accepts connections, never replies
      const client = new Redis(silent.port, "127.0.0.1")
      yield* Effect.addFinalizer(() => Effect.promise(() => (client.disconnect(), silent.close())))
      const store = yield* RedisStore.make({ client }).pipe(
        Effect.provide(CacheSettings.layer({ operationTimeout: "100 millis" }))
      )
      const [elapsed, error] = yield* Effect.timed(Effect.flip(store.get(keyIn("silent", "p", "a"))))
      expect(error.reason).toBe("Timeout")
      expect(error.operation).toBe("get")
      expect(Duration.toMillis(elapsed)).toBeLessThan(500)
      expect((yield* Effect.flip(store.invalidate(CacheKey.namespace("cachefx:silent")))).reason).toBe("Timeout")
    }).pipe(Effect.scoped))
})

describe("physical keys", () => {
  const key = (partition: string, suffix: string) => ({ namespace: "ns", partition, key: partition + suffix })

  it("tag the partition, so an entry and its stamp share one hash slot", () => {
    const at = keys.physical(key("cachefx:users:1:#42", ":summary"))
    expect(at).toEqual({
      entry: "{cachefx:users:1:#42}:summary",
      partitionStamp: "{cachefx:users:1:#42}:#!p",
      namespaceStamp: "ns:#!n"
    })
  })

  it("stay distinct when partitions contain braces or percent signs", () => {
    const entries = [
      key("x}:y", ""),
      key("x", ":y}"),
      key("x%7D:y", ""),
      key("x{", ":y")
    ].map((k) => keys.physical(k).entry)
    expect(new Set(entries).size).toBe(entries.length)
    for (const entry of entries) {
      expect(entry.indexOf("}")).toBeGreaterThan(entry.indexOf("{"))
      expect(entry.slice(1, entry.indexOf("}"))).not.toContain("}")
    }
  })
})
