import { afterAll, describe, expect, it } from "@effect/vitest"
import { Cached, CacheKey, CacheSettings, CacheStore, KeyConstructor, KeyField, Ttl } from "@cachefx/core"
import { RedisStore } from "@cachefx/redis"
import { Deferred, Duration, Effect, Fiber, Layer, Option } from "effect"
import { Redis } from "ioredis"
import { Instance, type Plan } from "./leaseInstance.js"
import { cleanup, countingClient, sharedUrl } from "./redis.js"
import { freePort, sharedAddress, startProxy } from "@cachefx/testkit"

const run = `redis-leases-${process.pid}-${Date.now()}`
const client = new Redis(sharedUrl)

afterAll(async () => {
  await cleanup(run)
  await client.quit()
})

const planOf = (name: string, overrides: Partial<Plan> = {}): Plan => ({
  url: sharedUrl,
  prefix: `${run}-${name}`,
  counter: `${run}-${name}:computations`,
  calls: 500,
  computeMillis: 200,
  leaseMillis: 5_000,
  ...overrides
})

/** Starts one instance per plan, each its own process, and waits until all are ready; killed with the scope. */
const start = (...plans: ReadonlyArray<Plan>) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const instances = plans.map((plan) => new Instance(plan))
      await Promise.all(instances.map((instance) => instance.printed("ready")))
      return instances
    }),
    (instances) => Effect.promise(() => Promise.all(instances.map((instance) => instance.kill())))
  )

const computations = (plan: Plan) => Effect.promise(() => client.get(`${plan.counter}:1`).then(Number))
const round = { round: 1, leases: true }

describe("distributed single-flight across processes", () => {
  it.live("2 processes × 500 concurrent misses of one key: exactly one computation", () =>
    Effect.gen(function*() {
      const plan = planOf("stampede")
      const [a, b] = yield* start(plan, plan)
      const outcomes = yield* Effect.promise(() => Promise.all([a!.play(round), b!.play(round)]))
      expect(yield* computations(plan)).toBe(1)
      expect(outcomes.map((outcome) => outcome.failures)).toEqual([0, 0])
      // every one of the 1,000 calls was answered with the one computed value
      expect(new Set(outcomes.flatMap((outcome) => outcome.values)).size).toBe(1)
    }).pipe(Effect.scoped), 60_000)

  it.live("the holder killed mid-computation: another process computes once its lease expires, no call fails", () =>
    Effect.gen(function*() {
      const holder = planOf("killed", { computeMillis: 60_000, leaseMillis: 1_000 })
      const [a, b] = yield* start(holder, { ...holder, computeMillis: 50 })
      a!.play(round).catch(() => {}) // killed mid-round
      yield* Effect.promise(() => a!.printed("computing"))
      const waiting = b!.play(round)
      yield* Effect.sleep("200 millis")
      expect(b!.hasPrinted("computing")).toBe(false) // waiting for the lease
      yield* Effect.promise(() => a!.kill())
      const outcome = yield* Effect.promise(() => waiting)
      expect(outcome.failures).toBe(0)
      expect(outcome.values).toHaveLength(1)
      expect(outcome.values[0]).toMatch(/ as #2$/)
      expect(yield* computations(holder)).toBe(2)
    }).pipe(Effect.scoped), 60_000)
})

describe("leases in one process", () => {
  const Price = KeyConstructor.make({ namespace: "price", fields: [KeyField.arg("sku")] })
  const sku = { sku: 1 }
  const settingsOf = (name: string) => CacheSettings.layer({ keyPrefix: `${run}-${name}`, operationTimeout: "1 second" })

  /** A cached value of the price key, as one application instance defines it. */
  const instance = (compute: Effect.Effect<string>, ttl: Ttl.TtlInput = "1 minute") => {
    let calls = 0
    const fn = Cached.cached({ key: Price, ttl })((_: { readonly sku: number }) =>
      Effect.zipRight(Effect.sync(() => calls++), compute)
    )
    return { fn, calls: () => calls }
  }

  const storeOf = (name: string, options: RedisStore.Options) =>
    RedisStore.make(options).pipe(
      Effect.provide(settingsOf(name)),
      Effect.map((store) => Layer.merge(Layer.succeed(CacheStore.CacheStore, store), settingsOf(name)))
    )

  /** A fault proxy to the shared Redis, closed with the scope. */
  const proxied = Effect.acquireRelease(
    Effect.promise(() => startProxy(sharedAddress.port, sharedAddress.host)),
    (proxy) => Effect.promise(proxy.close)
  )

  /** A proxy to the shared Redis that passes commands at once and Redis's answers `delay` ms late. */
  const slowAnswers = (delay: number) => Effect.tap(proxied, (proxy) => proxy.delay(delay, "toClient"))

  it.live("a waiter is woken by the release's message, long before its poll, and serves the holder's value", () =>
    Effect.gen(function*() {
      const other = new Redis(sharedUrl)
      yield* Effect.addFinalizer(() => Effect.promise(() => other.quit()))
      const storeA = yield* storeOf("woken", { client })
      const storeB = yield* storeOf("woken", { client: other, leasePollInterval: "1 minute" })
      const gate = yield* Deferred.make<void>()
      const started = yield* Deferred.make<void>()
      const a = instance(Effect.zipRight(Deferred.succeed(started, void 0), Effect.as(Deferred.await(gate), "from a")))
      const b = instance(Effect.succeed("from b"))
      const holder = yield* Effect.fork(Effect.provide(a.fn(sku), storeA))
      yield* Deferred.await(started)
      const waiter = yield* Effect.fork(Effect.provide(b.fn.withStatus(sku), storeB))
      yield* Effect.sleep("300 millis")
      yield* Deferred.succeed(gate, void 0)
      expect(yield* Fiber.join(holder)).toBe("from a")
      const [elapsed, answer] = yield* Effect.timed(Fiber.join(waiter))
      expect(answer).toMatchObject({ value: "from a", status: "Miss" })
      expect(Option.isSome(answer.cachedAt)).toBe(true)
      expect(Duration.toMillis(elapsed)).toBeLessThan(2_000)
      expect(b.calls()).toBe(0)
      // released: no lease left behind
      expect(yield* Effect.promise(() => client.keys(`*${run}-woken*#!l`))).toEqual([])
    }).pipe(Effect.scoped), 20_000)

  it.live("a caller interrupted while its read takes the lease leaves no lease behind in Redis", () =>
    Effect.gen(function*() {
      // Redis's answers reach this client 400 ms late: the read's script has taken the
      // lease on the server long before the caller, interrupted meanwhile, hears of it
      const proxy = yield* slowAnswers(400)
      const slow = new Redis(proxy.port, "127.0.0.1")
      yield* Effect.addFinalizer(() => Effect.sync(() => slow.disconnect()))
      yield* Effect.promise(() => slow.ping())
      const store = yield* storeOf("left", { client: slow })
      const { calls, fn } = instance(Effect.succeed("computed"))
      const caller = yield* Effect.fork(Effect.provide(fn(sku), store))
      yield* Effect.sleep("100 millis")
      const leases = Effect.promise(() => client.keys(`*${run}-left*#!l`))
      expect(yield* leases).toHaveLength(1) // taken on the server, the answer still on its way
      yield* Fiber.interrupt(caller)
      expect(yield* leases).toEqual([])
      expect(calls()).toBe(0)
    }).pipe(Effect.scoped), 20_000)

  it.live("a Redis that refuses the wait for a held lease still answers every call: computed here at once, once, and stored", () =>
    Effect.gen(function*() {
      const port = yield* Effect.promise(freePort)
      const dead = new Redis(port, "127.0.0.1", { enableOfflineQueue: false, maxRetriesPerRequest: 0 })
      dead.on("error", () => {})
      yield* Effect.addFinalizer(() => Effect.sync(() => dead.disconnect()))
      const working = yield* RedisStore.make({ client }).pipe(Effect.provide(settingsOf("refused")))
      const refusing = yield* RedisStore.make({ client: dead }).pipe(Effect.provide(settingsOf("refused")))
      const store = Layer.merge(
        Layer.succeed(CacheStore.CacheStore, { ...working, leases: refusing.leases }),
        settingsOf("refused")
      )
      // another instance holds the lease: every read finds it held, and the wait for it fails
      const key = yield* Effect.provide(KeyConstructor.keyFor(Price, sku), store)
      expect(Option.isSome(yield* working.leases!.acquire(key, Duration.minutes(1)))).toBe(true)
      const { calls, fn } = instance(Effect.as(Effect.sleep("50 millis"), "computed"))
      const [elapsed, values] = yield* Effect.timed(
        Effect.all(Array.from({ length: 50 }, () => fn(sku)), { concurrency: "unbounded" }).pipe(Effect.provide(store))
      )
      expect(new Set(values)).toEqual(new Set(["computed"]))
      expect(calls()).toBe(1)
      expect(Duration.toMillis(elapsed)).toBeLessThan(5_000) // not the lease's minute, nor its 5 s default
      expect(yield* Effect.provide(fn.withStatus(sku), store)).toMatchObject({ status: "Hit", value: "computed" })
    }).pipe(Effect.scoped), 20_000)

  it.live("a miss with leases costs 2 commands (a read that takes the lease, a fill that gives it back), a hit 1", () =>
    Effect.gen(function*() {
      const { client: counted, sent } = yield* countingClient
      const store = yield* storeOf("trips", { client: counted })
      const { calls, fn } = instance(Effect.succeed("computed"))
      yield* Effect.provide(fn({ sku: 0 }), store) // loads the scripts, should Redis not know them yet
      sent.length = 0
      expect(yield* Effect.provide(fn.withStatus(sku), store)).toMatchObject({ status: "Miss", value: "computed" })
      // each script over the entry, its partition and namespace stamps, and the lease
      expect(sent).toEqual(["evalsha 4", "evalsha 4"])
      expect(yield* Effect.promise(() => client.keys(`*${run}-trips*#!l`))).toEqual([])
      sent.length = 0
      expect(yield* Effect.provide(fn.withStatus(sku), store)).toMatchObject({ status: "Hit", value: "computed" })
      expect(sent).toEqual(["evalsha 4"])
      expect(calls()).toBe(2)
    }).pipe(Effect.scoped), 20_000)

  it.live("a read takes the lease of a key with no entry it can serve, and only then; the fill gives it back, stored or not", () =>
    Effect.gen(function*() {
      const store = yield* RedisStore.make({ client }).pipe(Effect.provide(settingsOf("read")))
      const key = yield* Effect.provide(KeyConstructor.keyFor(Price, sku), settingsOf("read"))
      const lease = { lease: Duration.seconds(5) }
      const held = Effect.promise(() => client.keys(`*${run}-read*#!l`))
      const now = Date.now()
      const entry = { value: "v", cachedAt: now, expiresAt: now + 60_000, staleUntil: now + 120_000 }

      const absent = yield* store.get(key, lease)
      expect(absent.lease?._tag).toBe("Taken")
      expect((yield* store.get(key, lease)).lease).toEqual({ _tag: "Held" })
      expect((yield* store.get(key)).lease).toBeUndefined()
      expect(yield* held).toHaveLength(1)
      yield* store.invalidate(CacheKey.key(key)) // voids the fill
      expect(yield* store.set(key, entry, absent.guard)).toBe(false)
      expect(yield* held).toEqual([])

      const tombstone = yield* store.get(key, lease)
      expect(tombstone.lease?._tag).toBe("Taken")
      expect(yield* store.set(key, entry, tombstone.guard)).toBe(true)
      expect(yield* held).toEqual([])
      const hit = yield* store.get(key, lease)
      expect([Option.isSome(hit.entry), hit.lease]).toEqual([true, undefined])
      yield* store.invalidate(CacheKey.key(key), { soft: true })
      const stale = yield* store.get(key, lease)
      expect([stale.stale, stale.lease]).toEqual([true, undefined])
      expect(yield* held).toEqual([])

      yield* store.invalidate(CacheKey.namespace(key.namespace)) // the entry is under an old namespace stamp: none
      const cleared = yield* store.get(key, lease)
      expect([Option.isNone(cleared.entry), cleared.lease?._tag]).toEqual([true, "Taken"])
    }).pipe(Effect.scoped), 20_000)

  it.live("a refresh ahead runs once across instances: the one that finds the lease held computes nothing", () =>
    Effect.gen(function*() {
      const other = new Redis(sharedUrl)
      yield* Effect.addFinalizer(() => Effect.promise(() => other.quit()))
      const storeA = yield* storeOf("ahead", { client })
      const storeB = yield* storeOf("ahead", { client: other })
      const ttl = Ttl.refreshAhead(Ttl.seconds(5), 0.05) // due 250 ms after each fill
      const gate = yield* Deferred.make<void>()
      const refreshing = yield* Deferred.make<void>()
      let version = 0
      const a = instance(
        Effect.suspend(() =>
          ++version === 1
            ? Effect.succeed("v1")
            : Effect.zipRight(Deferred.succeed(refreshing, void 0), Effect.as(Deferred.await(gate), "v2"))
        ),
        ttl
      )
      const b = instance(Effect.succeed("from b"), ttl)
      expect(yield* Effect.provide(a.fn(sku), storeA)).toBe("v1")
      yield* Effect.sleep("300 millis")
      expect(yield* Effect.provide(a.fn.withStatus(sku), storeA)).toMatchObject({ status: "Hit", value: "v1" })
      yield* Deferred.await(refreshing) // a holds the lease while it refreshes
      expect(yield* Effect.provide(b.fn.withStatus(sku), storeB)).toMatchObject({ status: "Hit", value: "v1" })
      yield* Effect.sleep("100 millis") // b's refresh has found the lease held, and waits
      yield* Deferred.succeed(gate, void 0)
      yield* Effect.sleep("200 millis")
      expect(yield* Effect.provide(b.fn.withStatus(sku), storeB)).toMatchObject({ status: "Hit", value: "v2" })
      expect([a.calls(), b.calls()]).toEqual([2, 0])
    }).pipe(Effect.scoped), 20_000)

  it.live("a cached value with a zero lease duration takes no lease: it computes while another instance holds it", () =>
    Effect.gen(function*() {
      const store = yield* storeOf("unleased", { client })
      const fn = Cached.cached({ key: Price, ttl: "1 minute", leaseDuration: 0 })((_: { readonly sku: number }) =>
        Effect.succeed("computed")
      )
      const key = yield* Effect.provide(KeyConstructor.keyFor(Price, sku), store)
      expect(key.key).toBe(yield* Effect.provide(fn.keyFor(sku), store))
      const leases = (yield* Effect.provide(CacheStore.CacheStore, store)).leases!
      expect(Option.isSome(yield* leases.acquire(key, Duration.minutes(1)))).toBe(true)
      const [elapsed, value] = yield* Effect.timed(Effect.provide(fn(sku), store))
      expect(value).toBe("computed")
      expect(Duration.toMillis(elapsed)).toBeLessThan(1_000)
    }).pipe(Effect.scoped), 20_000)
})
