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
import { Redis } from "ioredis"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { freePort, type Server, startServer, unavailable } from "./servers.js"

const size = 100
const ids = Array.from({ length: size }, (_, id) => id)

/** A redis-server that persists every write (append-only, fsync always) in `dir`. */
const persistent = (port: number, dir: string) =>
  startServer(port, ["--appendonly", "yes", "--appendfsync", "always", "--dir", dir])

const outage = (title: string, replay: InvalidationEngine.Options["replay"]) =>
  it.live(title, () =>
    Effect.gen(function*() {
      const source = new Map(ids.map((id) => [id, 0]))
      const entry = Cached.cached({
        key: KeyConstructor.make({ namespace: "replayed", fields: [KeyField.arg("id")] }),
        ttl: "1 hour",
        invalidatesOn: [InvalidationRule.make({ table: "entries", fieldMapping: { id: "id" } })]
      })((input: { readonly id: number }) => Effect.sync(() => source.get(input.id)!))

      const port = yield* Effect.promise(freePort)
      const dir = mkdtempSync(join(tmpdir(), "cachefx-replay-"))
      let server: Server = yield* Effect.promise(() => persistent(port, dir))
      yield* Effect.addFinalizer(() =>
        Effect.promise(async () => {
          await server.stop()
          rmSync(dir, { recursive: true, force: true })
        })
      )
      const client = yield* Effect.acquireRelease(
        Effect.sync(() => new Redis({ host: "127.0.0.1", port, retryStrategy: () => 50, maxRetriesPerRequest: 1 })),
        (client) => Effect.sync(() => client.disconnect())
      )
      client.on("error", () => {})
      const layer = InvalidationEngine.layer({ caches: [entry], replay }).pipe(
        Layer.provideMerge(RedisStore.layer({ client })),
        Layer.provideMerge(CacheSettings.layer({ keyPrefix: `replay-${process.pid}`, operationTimeout: "200 millis" }))
      )
      yield* Effect.gen(function*() {
        yield* Effect.forEach(ids, (id) => entry({ id }), { discard: true })

        yield* Effect.promise(() => server.stop())
        yield* Effect.forEach(ids, (id) => {
          source.set(id, 1)
          return Invalidation.publish(InvalidationEvent.make({ table: "entries", operation: "update", rows: [{ id }] }))
        }, { concurrency: "unbounded", discard: true })

        server = yield* Effect.promise(() => persistent(port, dir))
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
