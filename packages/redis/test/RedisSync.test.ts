import { afterAll, describe, expect, it } from "@effect/vitest"
import type { CacheSync } from "@cachefx/core"
import { RedisSync } from "@cachefx/redis"
import { Effect, Queue } from "effect"
import { Redis } from "ioredis"
import { sharedAddress, startProxy } from "@cachefx/testkit"
import { cleanup } from "./redis.js"

const prefix = `redis-sync-${process.pid}-${Date.now()}`
afterAll(() => cleanup(prefix))

/** A fault proxy to the shared Redis, closed with the scope. */
const proxied = Effect.acquireRelease(
  Effect.promise(() => startProxy(sharedAddress.port, sharedAddress.host)),
  (proxy) => Effect.promise(proxy.close)
)

const client = (port: number) =>
  Effect.acquireRelease(
    Effect.sync(() => new Redis(port, "127.0.0.1", { disconnectTimeout: 50, retryStrategy: () => 50 })),
    (client) => Effect.sync(() => client.disconnect())
  )

const take = (events: Queue.Dequeue<CacheSync.Event>) => Effect.map(Queue.take(events), (event) => event._tag)

describe("RedisSync", () => {
  it.scopedLive("a message reaches every subscription, the publisher's own included", () =>
    Effect.gen(function*() {
      const channel = `${prefix}:reach`
      const port = sharedAddress.port
      const a = yield* RedisSync.make({ client: yield* client(port), channel })
      const b = yield* RedisSync.make({ client: yield* client(port), channel })
      const [onA, onB] = [yield* a.subscribe, yield* b.subscribe]
      expect([yield* take(onA), yield* take(onB)]).toEqual(["Connected", "Connected"])
      const message: CacheSync.Message = { _tag: "Key", origin: "a", namespace: "n", partition: "n:1:p", key: "n:1:p:k" }
      yield* a.publish(message)
      expect(yield* Queue.take(onB)).toEqual({ _tag: "Received", message })
      expect(yield* Queue.take(onA)).toEqual({ _tag: "Received", message })
    }))

  it.scopedLive("a message it cannot read counts as lost: disconnected, then connected again", () =>
    Effect.gen(function*() {
      const channel = `${prefix}:unreadable`
      const redis = yield* client(sharedAddress.port)
      const events = yield* Effect.flatMap(RedisSync.make({ client: redis, channel }), (sync) => sync.subscribe)
      expect(yield* take(events)).toBe("Connected")
      yield* Effect.promise(() => redis.publish(channel, JSON.stringify({ _tag: "Table", table: "users" })))
      expect([yield* take(events), yield* take(events)]).toEqual(["Disconnected", "Connected"])
    }))

  it.scopedLive("a subscriber connection that hangs without closing is disconnected within two heartbeats", () =>
    Effect.gen(function*() {
      const proxy = yield* proxied
      const sync = yield* RedisSync.make({ client: yield* client(proxy.port), channel: `${prefix}:hang`, heartbeat: "100 millis" })
      const events = yield* sync.subscribe
      expect(yield* take(events)).toBe("Connected")
      yield* Effect.sleep("350 millis")
      expect(yield* Queue.size(events)).toBe(0) // answered heartbeats change nothing
      proxy.blackhole("open") // nothing more passes on the open connections, nothing closes
      const frozenAt = Date.now()
      expect(yield* take(events).pipe(Effect.timeout("1 second"))).toBe("Disconnected")
      expect(Date.now() - frozenAt).toBeLessThanOrEqual(2 * 100 + 200) // two heartbeats, and timers late on a loaded machine
      // the hung connection is dropped and a new one (through the proxy, not frozen) subscribes
      expect(yield* take(events).pipe(Effect.timeout("5 seconds"))).toBe("Connected")
    }))
})
