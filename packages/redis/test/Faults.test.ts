/**
 * Faults that must cost at most their timeout, and resources that must not leak: on a
 * redis-server the test starts on its own port, reached through a TCP fault proxy
 * (`@cachefx/testkit`) that delays, black-holes and drops the connection.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Cached, CacheKey, CacheMetrics, CacheSettings, CacheStore, KeyConstructor, KeyField, Ttl } from "@cachefx/core"
import { RedisStore } from "@cachefx/redis"
import { type FaultProxy, freePort, heapUsed, type Server, startProxy, startServer, unavailable } from "@cachefx/testkit"
import { Deferred, Duration, Effect, Either, Fiber, Layer, Metric, Option, Schedule } from "effect"
import { Redis } from "ioredis"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

if (unavailable !== undefined) {
  console.warn(`Skipping the Redis fault tests: ${unavailable}`)
}

let server: Server | undefined
let admin: Redis | undefined
beforeAll(async () => {
  if (unavailable === undefined) {
    server = await startServer(await freePort())
    admin = new Redis(server.port, "127.0.0.1")
  }
}, 20_000)
afterAll(async () => {
  await admin?.quit()
  await server?.stop()
})

/** A proxy to the test's redis-server, closed with the scope. */
const proxied = Effect.acquireRelease(
  Effect.promise(() => startProxy(server!.port)),
  (proxy) => Effect.promise(proxy.close)
)

/** A client through `proxy`, as `layerConfig` opens one (no offline queue), closed with the scope. */
const clientOf = (proxy: FaultProxy) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const client = new Redis(proxy.port, "127.0.0.1", { enableOfflineQueue: false, maxRetriesPerRequest: 0 })
      client.on("error", () => {})
      await new Promise((resolve) => client.once("ready", resolve))
      return client
    }),
    (client) => Effect.sync(() => client.disconnect())
  )

const Price = KeyConstructor.make({ namespace: "price", fields: [KeyField.arg("sku")] })
const sku = { sku: 1 }

/** The settings of a test: its own key prefix, the default 250 ms operation timeout. */
const settingsOf = (name: string, input: CacheSettings.Input = {}) =>
  CacheSettings.layer({ keyPrefix: `faults-${name}`, ...input })

/** A store over `client` and the settings, as one layer. */
const storeOf = (settings: Layer.Layer<never>, options: RedisStore.Options) =>
  Effect.map(
    RedisStore.make(options).pipe(Effect.provide(settings)),
    (store) => Layer.merge(Layer.succeed(CacheStore.CacheStore, store), settings)
  )

/** A cached price whose computations are counted. */
const priced = (ttl: Ttl.TtlInput = "1 minute") => {
  let calls = 0
  const fn = Cached.cached({ key: Price, ttl })((_: { readonly sku: number }) =>
    Effect.sync(() => `computed #${++calls}`)
  )
  return { fn, calls: () => calls }
}

const leaseKeys = (name: string) => Effect.promise(() => admin!.keys(`*faults-${name}*#!l`))

describe.skipIf(unavailable !== undefined)("orphan leases (issue 18, finding 6)", () => {
  it.live("a read that timed out after Redis took its lease gives it back: the next call of the key does not wait for it", () =>
    Effect.gen(function*() {
      const proxy = yield* proxied
      const store = yield* storeOf(settingsOf("blip"), { client: yield* clientOf(proxy) })
      const { fn } = priced()
      // one 400 ms latency blip on Redis's answers, against the 250 ms operation timeout
      proxy.delay(400, "toClient")
      expect(yield* Effect.provide(fn(sku), store)).toBe("computed #1") // failed open
      proxy.heal()
      yield* Effect.sleep("300 millis") // the blip's answers have arrived
      const [elapsed, answer] = yield* Effect.timed(Effect.provide(fn.withStatus(sku), store))
      expect(answer.status).toBe("Miss")
      expect(Duration.toMillis(elapsed)).toBeLessThan(1_000) // not the 5 s lease
      expect(yield* leaseKeys("blip")).toEqual([])
    }).pipe(Effect.scoped), 20_000)

  it.live("a lease key without a TTL (foreign or corrupt) is repaired by the read: the miss does not wait, and no key is left", () =>
    Effect.gen(function*() {
      const proxy = yield* proxied
      const store = yield* storeOf(settingsOf("nottl"), { client: yield* clientOf(proxy) })
      const { calls, fn } = priced()
      const key = yield* Effect.provide(KeyConstructor.keyFor(Price, sku), store)
      const lease = `{${key.partition}}${key.key.slice(key.partition.length)}:#!l`
      yield* Effect.promise(() => admin!.set(lease, "left by someone else")) // no PX
      for (let round = 0; round < 2; round++) {
        yield* Effect.promise(() => admin!.del(`{${key.partition}}${key.key.slice(key.partition.length)}`))
        yield* Effect.promise(() => admin!.set(lease, "left by someone else"))
        const [elapsed, answer] = yield* Effect.timed(Effect.provide(fn.withStatus(sku), store))
        expect(answer.status).toBe("Miss")
        expect(Duration.toMillis(elapsed)).toBeLessThan(1_000) // not 3 waits of the 5 s lease
      }
      expect(calls()).toBe(2)
      expect(yield* leaseKeys("nottl")).toEqual([])
    }).pipe(Effect.scoped), 40_000)

  it.live("a miss waits for another instance's lease at most one leaseDuration in all, however many times it finds it held", () =>
    Effect.gen(function*() {
      const proxy = yield* proxied
      const settings = settingsOf("held", { leaseDuration: "1 second" })
      const store = yield* storeOf(settings, { client: yield* clientOf(proxy) })
      const { calls, fn } = priced()
      const key = yield* Effect.provide(KeyConstructor.keyFor(Price, sku), store)
      const leases = (yield* Effect.provide(CacheStore.CacheStore, store)).leases!
      // another instance holds the key's lease for a minute and never fills it
      expect(Option.isSome(yield* leases.acquire(key, Duration.minutes(1)))).toBe(true)
      const [elapsed, value] = yield* Effect.timed(Effect.provide(fn(sku), store))
      expect(value).toBe("computed #1")
      expect(calls()).toBe(1)
      expect(Duration.toMillis(elapsed)).toBeGreaterThanOrEqual(900)
      expect(Duration.toMillis(elapsed)).toBeLessThan(1_800) // not 3 × 1 s
    }).pipe(Effect.scoped), 20_000)
})

describe.skipIf(unavailable !== undefined)("orphan leases after a Redis restart (issue 18, finding 6)", () => {
  it.live("a holder cut off by a restart (append-only Redis) gives its lease back once Redis is back: the next miss does not wait", () =>
    Effect.gen(function*() {
      const dir = mkdtempSync(join(tmpdir(), "cachefx-faults-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dir, { recursive: true, force: true })))
      const port = yield* Effect.promise(freePort)
      const persisted = ["--appendonly", "yes", "--appendfsync", "always", "--dir", dir]
      let redis = yield* Effect.promise(() => startServer(port, persisted))
      yield* Effect.addFinalizer(() => Effect.promise(() => redis.stop()))
      const connect = Effect.acquireRelease(
        Effect.promise(async () => {
          const client = new Redis(port, "127.0.0.1", {
            enableOfflineQueue: false,
            maxRetriesPerRequest: 0,
            retryStrategy: () => 50
          })
          client.on("error", () => {})
          await new Promise((resolve) => client.once("ready", resolve))
          return client
        }),
        (client) => Effect.sync(() => client.disconnect())
      )
      const settings = settingsOf("restart")
      const a = yield* storeOf(settings, { client: yield* connect })
      const gate = yield* Deferred.make<void>()
      const computing = yield* Deferred.make<void>()
      const holder = Cached.cached({ key: Price, ttl: "1 minute" })((_: { readonly sku: number }) =>
        Effect.zipRight(Deferred.succeed(computing, void 0), Effect.as(Deferred.await(gate), "from a"))
      )
      const fiber = yield* Effect.fork(Effect.provide(holder(sku), a))
      yield* Deferred.await(computing) // a holds the lease, persisted in the append-only file
      yield* Effect.promise(() => redis.stop())
      yield* Deferred.succeed(gate, void 0)
      expect(yield* Fiber.join(fiber)).toBe("from a") // its fill and its release fail: Redis is down
      redis = yield* Effect.promise(() => startServer(port, persisted))
      const observer = yield* connect
      yield* Effect.sleep("500 millis") // a reconnects
      expect(yield* Effect.promise(() => observer.keys("*faults-restart*#!l"))).toEqual([])
      const b = yield* storeOf(settings, { client: observer })
      const { fn } = priced()
      const [elapsed, answer] = yield* Effect.timed(Effect.provide(fn.withStatus(sku), b))
      expect(answer.status).toBe("Miss")
      expect(Duration.toMillis(elapsed)).toBeLessThan(1_000) // not the rest of a's 5 s lease
    }).pipe(Effect.scoped), 30_000)
})

describe.skipIf(unavailable !== undefined)("dead entries (issue 18, finding 9)", () => {
  const entryOf = (value: unknown, ttl: number | null) => {
    const now = Date.now()
    return { value, cachedAt: now, expiresAt: ttl === null ? null : now + ttl, staleUntil: ttl === null ? null : now + ttl }
  }

  /** The entries of a test's prefix in Redis (not its stamps, tombstones or leases). */
  const entriesIn = (name: string) =>
    Effect.promise(async () => (await admin!.keys(`{faults-${name}*`)).filter((key) => !key.includes("#!")))

  const usedMemory = Effect.promise(async () => Number(/used_memory:(\d+)/.exec(await admin!.info("memory"))![1]))

  it.live("a read that finds an entry of a wiped partition or namespace deletes it from Redis", () =>
    Effect.gen(function*() {
      const settings = settingsOf("dead", { operationTimeout: "10 seconds" })
      const store = yield* RedisStore.make({ client: admin! }).pipe(Effect.provide(settings))
      const count = 10_000
      const value = "x".repeat(1_000)
      const keys = yield* Effect.forEach(
        Array.from({ length: count }, (_, i) => ({ sku: i })),
        (input) => Effect.provide(KeyConstructor.keyFor(Price, input), settings)
      )
      const before = yield* usedMemory
      yield* Effect.forEach(keys, (key) =>
        Effect.flatMap(store.get(key), (lookup) => store.set(key, entryOf(value, 60_000), lookup.guard)), {
        concurrency: 50
      })
      expect(yield* entriesIn("dead")).toHaveLength(count)
      const filled = yield* usedMemory
      yield* store.invalidate(CacheKey.namespace(keys[0]!.namespace)) // every entry is dead
      // half read one by one, half in batches
      yield* Effect.forEach(keys.slice(0, count / 2), (key) => store.get(key), { concurrency: 50 })
      yield* store.getMany!(keys.slice(count / 2))
      expect(yield* entriesIn("dead")).toEqual([])
      const after = yield* usedMemory
      process.stdout.write(
        `[redis memory] ${count} entries of 1 KB: +${((filled - before) / 2 ** 20).toFixed(1)} MiB filled, ` +
          `+${((after - before) / 2 ** 20).toFixed(1)} MiB once wiped and read\n`
      )
      expect(after - before).toBeLessThan((filled - before) / 4)
      // a wiped partition's entry too
      const key = keys[0]!
      yield* Effect.flatMap(store.get(key), (lookup) => store.set(key, entryOf(value, 60_000), lookup.guard))
      yield* store.invalidate(CacheKey.partition(key))
      yield* store.get(key)
      expect(yield* entriesIn("dead")).toEqual([])
    }).pipe(Effect.scoped), 60_000)

  it.live("an entry of Ttl.forever, and its stamps, expire after maxTtl in Redis", () =>
    Effect.gen(function*() {
      const settings = settingsOf("forever", { operationTimeout: "2 seconds" })
      const store = yield* RedisStore.make({ client: admin!, maxTtl: "1 hour" }).pipe(Effect.provide(settings))
      const key = yield* Effect.provide(KeyConstructor.keyFor(Price, sku), settings)
      expect(yield* Effect.flatMap(store.get(key), (lookup) => store.set(key, entryOf("v", null), lookup.guard))).toBe(true)
      const [entry] = yield* entriesIn("forever")
      const ttls = yield* Effect.promise(() =>
        Promise.all([entry!, `{${key.partition}}:#!p`, `${key.namespace}:#!n`].map((name) => admin!.pttl(name)))
      )
      for (const ttl of ttls) {
        expect(ttl).toBeGreaterThan(3_500_000)
        expect(ttl).toBeLessThanOrEqual(3_600_000 + 60_000) // stamps: the entry's PX and the fill window
      }
      expect(Option.isSome((yield* store.get(key)).entry)).toBe(true)
    }).pipe(Effect.scoped), 20_000)

  it("a maxTtl that is not a positive duration is a CacheDefinitionError", () => {
    expect(() => RedisStore.make({ client: admin!, maxTtl: "0 millis" })).toThrow(/maxTtl/)
  })
})

describe.skipIf(unavailable !== undefined)("a black-holed connection (issue 18, finding 7)", () => {
  /** Operations the Redis stores of this process skipped (no other test of the file opens a breaker). */
  const skipped = Effect.suspend(() => Metric.value(Metric.tagged(CacheMetrics.storeSkipped, "store", "redis"))).pipe(
    Effect.map((state) => state.count)
  )

  it.live("after breakerThreshold timeouts in a row the store is skipped at once (fail open, counted), and probed until it answers", () =>
    Effect.gen(function*() {
      const proxy = yield* proxied
      const settings = settingsOf("breaker", { breakerThreshold: 3, breakerProbeInterval: "500 millis" })
      const store = yield* storeOf(settings, { client: yield* clientOf(proxy) })
      const { fn } = priced()
      expect(yield* Effect.provide(fn(sku), store)).toBe("computed #1")
      expect((yield* Effect.provide(fn.withStatus(sku), store)).status).toBe("Hit")
      proxy.blackhole() // nothing answers, nothing closes
      const times: Array<number> = []
      for (let i = 0; i < 8; i++) {
        const [elapsed, answer] = yield* Effect.timed(Effect.provide(fn.withStatus(sku), store))
        expect(answer.status).toBe("Miss") // failed open: computed
        times.push(Duration.toMillis(elapsed))
      }
      process.stdout.write(`[breaker] calls while black-holed: ${times.map((t) => t.toFixed(0)).join(", ")} ms\n`)
      for (const time of times.slice(0, 3)) {
        expect(time).toBeGreaterThanOrEqual(240) // the operation timeout
      }
      for (const time of times.slice(3)) {
        expect(time).toBeLessThan(100) // skipped at once
      }
      expect(yield* skipped).toBeGreaterThanOrEqual(5)
      proxy.heal()
      // probed every 500 ms: a hit again soon after Redis answers
      const hit = Effect.provide(fn.withStatus(sku), store).pipe(
        Effect.filterOrFail((answer) => answer.status === "Hit"),
        Effect.retry(Schedule.spaced("50 millis")),
        Effect.timeout("3 seconds")
      )
      expect((yield* hit).status).toBe("Hit")
    }).pipe(Effect.scoped), 30_000)

  it.live("deleteVersions (behind deletePreviousVersions) obeys the operation timeout", () =>
    Effect.gen(function*() {
      const proxy = yield* proxied
      const store = yield* RedisStore.make({ client: yield* clientOf(proxy) }).pipe(
        Effect.provide(settingsOf("versions", { breakerThreshold: 0 }))
      )
      proxy.blackhole()
      const [elapsed, outcome] = yield* Effect.timed(
        Effect.timeoutOption(Effect.either(store.deleteVersions!("faults-versions:price", () => true)), "5 seconds")
      )
      expect(Option.map(outcome, Either.map(() => "deleted"))).toMatchObject(
        Option.some(Either.left({ reason: "Timeout", operation: "deleteVersions" }))
      )
      expect(Duration.toMillis(elapsed)).toBeLessThan(1_000)
    }).pipe(Effect.scoped), 20_000)

  it.live("a black hole under load: what timed-out calls keep stays bounded (the breaker drops the connection when it opens)", () =>
    Effect.gen(function*() {
      const proxy = yield* proxied
      const settings = settingsOf("heap", { breakerThreshold: 5, breakerProbeInterval: "300 millis" })
      const store = yield* storeOf(settings, { client: yield* clientOf(proxy) })
      const { fn } = priced()
      const inputs = Array.from({ length: 2_000 }, (_, i) => ({ sku: i }))
      yield* Effect.provide(Effect.forEach(inputs.slice(0, 200), fn, { concurrency: "unbounded" }), store) // warm up
      proxy.blackhole()
      const before = heapUsed()
      // 2,000 concurrent calls, then 50 callers for 3 s
      yield* Effect.provide(Effect.forEach(inputs, fn, { concurrency: "unbounded" }), store)
      let calls = inputs.length
      const deadline = Date.now() + 3_000
      yield* Effect.forEach(Array.from({ length: 50 }, (_, i) => i), (caller) =>
        Effect.provide(fn({ sku: caller }), store).pipe(
          Effect.tap(() => Effect.sync(() => calls++)),
          Effect.zipRight(Effect.sleep("1 millis")),
          Effect.repeat({ while: () => Date.now() < deadline })
        ), { concurrency: "unbounded" })
      const grown = heapUsed() - before
      process.stdout.write(
        `[heap] black hole, ${calls} calls in 3 s: +${(grown / 1024).toFixed(0)} KB (${(grown / calls).toFixed(0)} B per call)\n`
      )
      expect(grown).toBeLessThan(2 * 2 ** 20)
    }).pipe(Effect.scoped), 30_000)
})
