/**
 * Invalidations that fail while Redis is down, without the outbox: a redis-server the
 * test starts with append-only persistence (fsync always) is killed by PID while 100
 * keys are cached, every source value changes and its invalidation fails, and the server
 * restarts on the same port and directory, so the 100 old entries come back with it. The
 * engine remembered the failed jobs and applies them once Redis answers (or, past its
 * bound, wipes the namespace): no key stays stale until its TTL.
 */
import {
  Cached,
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
import { Effect, Layer, Schedule } from "effect"
import { persistentServer, unavailable } from "@cachefx/testkit"

const size = 100
const ids = Array.from({ length: size }, (_, id) => id)

const outage = (title: string, replay: InvalidationEngine.Options["replay"]) =>
  it.live(title, () =>
    Effect.gen(function*() {
      const source = new Map(ids.map((id) => [id, 0]))
      const entry = Cached.cached({
        key: KeyConstructor.make({ namespace: "replayed", fields: [KeyField.arg("id")] }),
        ttl: "1 hour",
        invalidatesOn: [InvalidationRule.make({ table: "entries", fieldMapping: { id: "id" } })]
      })((input: { readonly id: number }) => Effect.sync(() => source.get(input.id)!))

      const server = yield* persistentServer
      const layer = InvalidationEngine.layer({ caches: [entry], replay }).pipe(
        Layer.provideMerge(RedisStore.layer({ client: server.client })),
        Layer.provideMerge(CacheSettings.layer({ keyPrefix: `replay-${process.pid}`, operationTimeout: "200 millis" }))
      )
      yield* Effect.gen(function*() {
        yield* Effect.forEach(ids, (id) => entry({ id }), { discard: true })

        yield* server.stop
        yield* Effect.forEach(ids, (id) => {
          source.set(id, 1)
          return Invalidation.publish(InvalidationEvent.make({ table: "entries", operation: "update", rows: [{ id }] }))
        }, { concurrency: "unbounded", discard: true })

        yield* server.restart
        const restarted = Date.now()
        // the old entries came back with Redis; the replay removes them once it answers
        const stale = Effect.map(
          Effect.forEach(ids, (id) => entry({ id })),
          (values) => values.filter((value, id) => value !== source.get(id)).length
        )
        const left = yield* stale.pipe(
          Effect.filterOrFail((count) => count === 0, (count) => count),
          Effect.retry(Schedule.spaced("100 millis").pipe(Schedule.upTo("15 seconds"))),
          Effect.catchAll((count) => Effect.succeed(count))
        )
        process.stdout.write(`[replay] ${title}: stale=${left} freshAfterMillis=${Date.now() - restarted}\n`)
        expect(left).toBe(0)
      }).pipe(Effect.provide(layer))
    }).pipe(Effect.scoped), 60_000)

describe.skipIf(unavailable !== undefined)("invalidations that failed while Redis was down (no outbox)", () => {
  outage("are replayed once Redis answers again: 0 of 100 keys stale", undefined)
  outage("past the bound, the namespace is wiped instead: 0 of 100 keys stale", { capacity: 10 })
})
