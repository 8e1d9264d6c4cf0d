import { describe, expect, it } from "@effect/vitest"
import { Cached, CacheStore, KeyConstructor, KeyField } from "@cachefx/core"
import { Deferred, Duration, Effect, Exit, Fiber, Option } from "effect"

const Prices = KeyConstructor.make({ namespace: "prices", fields: [KeyField.arg("sku")] })
const sku = { sku: 1 }

/** What one read of the scripted store answers about the key's lease, after how long. */
interface Read {
  readonly after: Duration.DurationInput
  readonly lease: CacheStore.LeaseOutcome | undefined
}

const taken = (token: string): CacheStore.LeaseOutcome => ({ _tag: "Taken", token: token as CacheStore.LeaseToken })
const held: CacheStore.LeaseOutcome = { _tag: "Held" }

/**
 * A memory store with leases, as cached() sees a store of many processes: its reads
 * answer the lease outcomes of `reads` in order (then none), each after its delay;
 * `acquire` answers `acquired`; a release wakes every wait for the lease. What cached()
 * asks of it is logged.
 */
const scripted = (reads: Array<Read>, acquired: Option.Option<string> = Option.none()) =>
  Effect.gen(function*() {
    const memory = yield* CacheStore.makeMemory()
    const log: Array<string> = []
    const released = yield* Deferred.make<void>()
    const leases: CacheStore.Leases = {
      acquire: () => Effect.sync(() => (log.push("acquire"), acquired as Option.Option<CacheStore.LeaseToken>)),
      release: (_, token) =>
        Effect.zipRight(Effect.sync(() => log.push(`release ${token}`)), Deferred.succeed(released, undefined)),
      awaitRelease: (_, timeout) =>
        Effect.zipRight(
          Effect.sync(() => log.push("awaitRelease")),
          Effect.asVoid(Effect.timeoutOption(Deferred.await(released), timeout))
        )
    }
    const store: CacheStore.Service = {
      ...memory,
      get: (key, options) =>
        Effect.suspend(() => {
          log.push(options?.lease === undefined ? "get" : "get leased")
          const read = reads.shift() ?? { after: 0, lease: undefined }
          return Effect.map(
            Effect.zipRight(Effect.sleep(read.after), memory.get(key)),
            (lookup): CacheStore.Lookup => ({ ...lookup, lease: read.lease })
          )
        }),
      set: (key, entry, guard) => Effect.zipRight(Effect.sync(() => log.push("set")), memory.set(key, entry, guard)),
      leases
    }
    return { store, log }
  })

/** A cached price that counts its computations; `fail` makes them fail. */
const priceOf = (options: { readonly leaseDuration?: Duration.DurationInput; readonly fail?: boolean } = {}) => {
  let computations = 0
  const fn = Cached.cached({ key: Prices, ttl: "1 minute", leaseDuration: options.leaseDuration })((input: typeof sku) =>
    Effect.suspend(() => {
      computations++
      return options.fail === true ? Effect.fail("down" as const) : Effect.succeed(`price of ${input.sku}`)
    })
  )
  return { fn, computations: () => computations }
}

describe("cached() and a store whose reads take leases", () => {
  it.live("a miss that takes the lease computes and fills, nothing more: the fill gives the lease back", () =>
    Effect.gen(function*() {
      const { log, store } = yield* scripted([{ after: 0, lease: taken("t1") }])
      const { computations, fn } = priceOf()
      expect(yield* Effect.provideService(fn(sku), CacheStore.CacheStore, store)).toBe("price of 1")
      expect(log).toEqual(["get leased", "set"])
      expect(yield* Effect.provideService(fn.withStatus(sku), CacheStore.CacheStore, store)).toMatchObject({ status: "Hit" })
      expect(log).toEqual(["get leased", "set", "get leased"])
      expect(computations()).toBe(1)
    }))

  it.live("a caller interrupted while its read takes the lease gives the lease back once the read is done", () =>
    Effect.gen(function*() {
      // the read's script took the lease on the server as soon as it ran; its answer comes 200 ms later
      const { log, store } = yield* scripted([{ after: "200 millis", lease: taken("t1") }])
      const { computations, fn } = priceOf()
      const caller = yield* Effect.fork(Effect.provideService(fn(sku), CacheStore.CacheStore, store))
      yield* Effect.sleep("50 millis")
      const exit = yield* Fiber.interrupt(caller)
      expect(Exit.isInterrupted(exit)).toBe(true)
      expect(log).toEqual(["get leased", "release t1"])
      expect(computations()).toBe(0)
    }))

  it.live("withTimeout passes a read's lease on", () =>
    Effect.gen(function*() {
      const { log, store } = yield* scripted([{ after: 0, lease: taken("t1") }])
      const { fn } = priceOf()
      yield* Effect.provideService(fn(sku), CacheStore.CacheStore, CacheStore.withTimeout(store, "1 second"))
      expect(log).toEqual(["get leased", "set"])
    }))

  it.live("a computation that fails gives the lease it took back with Leases.release", () =>
    Effect.gen(function*() {
      const { log, store } = yield* scripted([{ after: 0, lease: taken("t1") }])
      const { fn } = priceOf({ fail: true })
      const exit = yield* Effect.exit(Effect.provideService(fn(sku), CacheStore.CacheStore, store))
      expect(exit).toEqual(Exit.fail("down"))
      expect(log).toEqual(["get leased", "release t1"])
    }))

  it.live("a value cacheUnless refuses is not stored: the lease its read took goes back with Leases.release", () =>
    Effect.gen(function*() {
      const { log, store } = yield* scripted([{ after: 0, lease: taken("t1") }])
      const fn = Cached.cached({ key: Prices, name: "unstored prices", cacheUnless: (price: string) => price === "" })(
        (_: typeof sku) => Effect.succeed("")
      )
      expect(yield* Effect.provideService(fn(sku), CacheStore.CacheStore, store)).toBe("")
      expect(log).toEqual(["get leased", "release t1"])
    }))

  it.live("a leader that finds the lease held waits for it, then reads again with the lease and computes under it", () =>
    Effect.gen(function*() {
      const { log, store } = yield* scripted([{ after: 0, lease: held }, { after: 0, lease: taken("t2") }])
      const { computations, fn } = priceOf({ leaseDuration: "50 millis" })
      expect(yield* Effect.provideService(fn(sku), CacheStore.CacheStore, store)).toBe("price of 1")
      expect(log).toEqual(["get leased", "awaitRelease", "get leased", "set"])
      expect(computations()).toBe(1)
    }))

  it.live("a caller that took the lease but joins the flight of one that found it held gives it back at once", () =>
    Effect.gen(function*() {
      // the first read answers first, finds the lease held and leads; the second took it
      const { log, store } = yield* scripted([
        { after: "10 millis", lease: held },
        { after: "60 millis", lease: taken("t1") },
        { after: 0, lease: taken("t2") }
      ])
      const { computations, fn } = priceOf({ leaseDuration: "5 seconds" })
      const [elapsed, values] = yield* Effect.timed(
        Effect.all([fn(sku), fn(sku)], { concurrency: "unbounded" }).pipe(
          Effect.provideService(CacheStore.CacheStore, store)
        )
      )
      expect(values).toEqual(["price of 1", "price of 1"])
      expect(log).toEqual(["get leased", "get leased", "awaitRelease", "release t1", "get leased", "set"])
      expect(computations()).toBe(1)
      expect(Duration.toMillis(elapsed)).toBeLessThan(2_000) // not the 5 s the leader would wait for t1
    }))

  it.live("a miss read without taking the lease (a batch's) takes it apart: acquire, read again, fill, release", () =>
    Effect.gen(function*() {
      const { log, store } = yield* scripted([], Option.some("a1"))
      const { computations, fn } = priceOf()
      expect(yield* Effect.provideService(fn.many([sku]), CacheStore.CacheStore, store)).toEqual(["price of 1"])
      expect(log).toEqual(["acquire", "get", "set", "release a1"])
      expect(computations()).toBe(1)
    }))
})
