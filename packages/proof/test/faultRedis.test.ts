/**
 * Redis killed (SIGKILL) and restarted under load, on a redis-server the test starts on
 * its own port: readers call a cached value over 20 keys, a writer changes the source
 * and publishes invalidations (inline dispatcher), and computations take a few
 * milliseconds, so fills are in flight when Redis dies and when it returns.
 *
 * - 0 failed cached calls, and no call returns a value older than the source held when
 *   it began;
 * - after recovery (hits again), 0 stale values: every entry equals the source.
 */
import {
  Cached,
  CacheMetrics,
  CacheSettings,
  Invalidation,
  InvalidationEngine,
  InvalidationEvent,
  InvalidationRule,
  KeyConstructor,
  KeyField
} from "@cachefx/core"
import { RedisStore } from "@cachefx/redis"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Fiber, Layer, Metric, Option, Random, Ref, Schedule } from "effect"
import { Redis } from "ioredis"
import { freePort, startServer, unavailable } from "@cachefx/testkit"
import { report } from "./support.js"

const size = 20
const source = new Map<number, number>(Array.from({ length: size }, (_, i) => [i, 0]))

const thing = Cached.cached({
  key: KeyConstructor.make({ namespace: "thing", fields: [KeyField.arg("id")] }),
  name: "outage",
  ttl: "1 minute",
  invalidatesOn: [InvalidationRule.make({ table: "things", fieldMapping: { id: "id" } })]
})((input: { readonly id: number }) =>
  Effect.sync(() => source.get(input.id)!).pipe(
    Effect.zipLeft(Effect.flatMap(Random.nextIntBetween(0, 5), (millis) => Effect.sleep(Duration.millis(millis))))
  )
)

const errors = Metric.value(Metric.tagged(CacheMetrics.errors, "cache", "outage")).pipe(Effect.map((state) => state.count))

/** What a fault does to the test's own redis-server while the load runs. */
interface Server {
  readonly port: number
  readonly kill: () => Promise<void>
  readonly restart: () => Promise<void>
}

const killAndRestart = (server: Server) =>
  Effect.gen(function*() {
    yield* Effect.promise(() => server.kill())
    yield* Effect.sleep("1 second")
    yield* Effect.promise(() => server.restart())
  })

/** Redis stays up with its entries, and answers no client for 800 ms (within the engine's retry schedule). */
const pause = (server: Server) =>
  Effect.gen(function*() {
    const admin = new Redis({ host: "127.0.0.1", port: server.port })
    yield* Effect.promise(() => admin.call("CLIENT", "PAUSE", "800", "ALL"))
    admin.disconnect()
    yield* Effect.sleep("1 second")
  })

const outage = (title: string, fault: (server: Server) => Effect.Effect<void>) =>
  it.live(`${title}: 0 failed calls, none older than the source when it began, 0 stale values after recovery`, () =>
    Effect.gen(function*() {
      const port = yield* Effect.promise(freePort)
      let server = yield* Effect.promise(() => startServer(port))
      const client = yield* Effect.acquireRelease(
        Effect.sync(() => new Redis({ host: "127.0.0.1", port, retryStrategy: () => 50, maxRetriesPerRequest: 1 })),
        (client) => Effect.sync(() => client.disconnect())
      )
      client.on("error", () => {})
      const layer = InvalidationEngine.layer({ caches: [thing] }).pipe(
        Layer.provideMerge(RedisStore.layer({ client })),
        Layer.provideMerge(CacheSettings.layer({ keyPrefix: `proof-outage-${process.pid}`, operationTimeout: "200 millis" }))
      )
      return yield* Effect.gen(function*() {
        const calls = yield* Ref.make(0)
        const failures = yield* Ref.make<ReadonlyArray<string>>([])
        const older = yield* Ref.make<ReadonlyArray<string>>([])
        const hits = yield* Ref.make(0)
        const writes = yield* Ref.make(0)
        const errorsBefore = yield* errors

        const reader = Effect.gen(function*() {
          const id = yield* Random.nextIntBetween(0, size)
          const floor = source.get(id)!
          const result = yield* thing.withStatus({ id }).pipe(
            Effect.catchAllCause((cause) => Effect.as(Ref.update(failures, (all) => [...all, String(cause)]), undefined))
          )
          yield* Ref.update(calls, (n) => n + 1)
          if (result === undefined) return
          if (result.status === "Hit") yield* Ref.update(hits, (n) => n + 1)
          if (result.value < floor) yield* Ref.update(older, (all) => [...all, `${id}: ${result.value} < ${floor}`])
        }).pipe(Effect.forever)

        const writer = Effect.gen(function*() {
          const id = yield* Random.nextIntBetween(0, size)
          source.set(id, source.get(id)! + 1)
          yield* Invalidation.publish(InvalidationEvent.make({ table: "things", operation: "update", rows: [{ id }] }))
          yield* Ref.update(writes, (n) => n + 1)
          yield* Effect.sleep("5 millis")
        }).pipe(Effect.forever)

        const readers = yield* Effect.forkAll([reader, reader, reader, reader])
        const writing = yield* Effect.fork(writer)
        yield* Effect.sleep("1 second")
        yield* fault({
          port,
          kill: () => server.stop(),
          restart: async () => {
            server = await startServer(port)
          }
        })
        yield* Effect.sleep("1500 millis")
        // hits again: Redis is back and in use
        const hitsAfter = yield* Ref.get(hits)
        yield* Ref.get(hits).pipe(
          Effect.filterOrFail((n) => n > hitsAfter + 10, () => "no hits yet"),
          Effect.retry(Schedule.spaced("100 millis").pipe(Schedule.upTo("10 seconds")))
        )
        // the writer stops first; readers go on a little, so entries filled under load are at rest
        yield* Fiber.interrupt(writing)
        yield* Effect.sleep("200 millis")
        yield* Fiber.interrupt(readers)

        // at rest: every entry equals the source
        const stale: Array<string> = []
        let entries = 0
        for (let id = 0; id < size; id++) {
          const cached = yield* thing.peek({ id })
          if (Option.isSome(cached)) {
            entries++
            if (cached.value !== source.get(id)) stale.push(`${id}: cached ${cached.value}, source ${source.get(id)}`)
          }
        }
        const counts = {
          calls: yield* Ref.get(calls),
          writes: yield* Ref.get(writes),
          hits: yield* Ref.get(hits),
          storeErrorsCounted: (yield* errors) - errorsBefore,
          failedCalls: (yield* Ref.get(failures)).length,
          olderThanSource: (yield* Ref.get(older)).length,
          entriesAtRest: entries,
          staleAtRest: stale.length
        }
        report(`redis-outage/${title}`, counts)
        expect(yield* Ref.get(failures)).toEqual([])
        expect(yield* Ref.get(older)).toEqual([])
        expect(stale).toEqual([])
        // the outage was real, and the store was used after it
        expect(counts.storeErrorsCounted).toBeGreaterThan(0)
        expect(entries).toBeGreaterThan(size / 2)
      }).pipe(Effect.provide(layer), Effect.ensuring(Effect.promise(() => server.stop())))
    }).pipe(Effect.scoped), 60_000)

describe.skipIf(unavailable !== undefined)("Redis faults under load", () => {
  outage("killed (SIGKILL) and restarted", killAndRestart)
  outage("paused (CLIENT PAUSE 800 ms, entries kept)", pause)
})
