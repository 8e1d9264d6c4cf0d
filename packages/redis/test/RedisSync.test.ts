import { afterAll, describe, expect, it } from "@effect/vitest"
import type { CacheSync } from "@cachefx/core"
import { RedisSync } from "@cachefx/redis"
import { Effect, Queue } from "effect"
import { Redis } from "ioredis"
import { createServer, type Socket } from "node:net"
import { cleanup, sharedUrl } from "./redis.js"

const prefix = `redis-sync-${process.pid}-${Date.now()}`
afterAll(() => cleanup(prefix))

const url = new URL(sharedUrl)

/** A TCP proxy to the shared Redis whose open connections can be frozen: nothing more passes, nothing closes. */
const freezableProxy = Effect.acquireRelease(
  Effect.async<{ readonly port: number; readonly freeze: () => void; readonly close: () => void }>((resume) => {
    const pairs: Array<readonly [Socket, Socket]> = []
    const server = createServer((socket) => {
      const upstream = new (socket.constructor as typeof Socket)()
      upstream.connect(Number(url.port || 6379), url.hostname)
      socket.pipe(upstream).pipe(socket)
      socket.on("error", () => upstream.destroy())
      upstream.on("error", () => socket.destroy())
      pairs.push([socket, upstream])
    })
    server.listen(0, "127.0.0.1", () =>
      resume(Effect.succeed({
        port: (server.address() as { port: number }).port,
        freeze: () => {
          for (const [socket, upstream] of pairs.splice(0)) {
            socket.unpipe(upstream)
            upstream.unpipe(socket)
            socket.pause()
            upstream.pause()
          }
        },
        close: () => {
          server.close()
          for (const [socket, upstream] of pairs) {
            socket.destroy()
            upstream.destroy()
          }
        }
      })))
  }),
  (proxy) => Effect.sync(proxy.close)
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
      const port = Number(url.port || 6379)
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
      const redis = yield* client(Number(url.port || 6379))
      const events = yield* Effect.flatMap(RedisSync.make({ client: redis, channel }), (sync) => sync.subscribe)
      expect(yield* take(events)).toBe("Connected")
      yield* Effect.promise(() => redis.publish(channel, JSON.stringify({ _tag: "Table", table: "users" })))
      expect([yield* take(events), yield* take(events)]).toEqual(["Disconnected", "Connected"])
    }))

  it.scopedLive("a subscriber connection that hangs without closing is disconnected within two heartbeats", () =>
    Effect.gen(function*() {
      const proxy = yield* freezableProxy
      const sync = yield* RedisSync.make({ client: yield* client(proxy.port), channel: `${prefix}:hang`, heartbeat: "100 millis" })
      const events = yield* sync.subscribe
      expect(yield* take(events)).toBe("Connected")
      yield* Effect.sleep("350 millis")
      expect(yield* Queue.size(events)).toBe(0) // answered heartbeats change nothing
      proxy.freeze()
      const frozenAt = Date.now()
      expect(yield* take(events).pipe(Effect.timeout("1 second"))).toBe("Disconnected")
      expect(Date.now() - frozenAt).toBeLessThanOrEqual(2 * 100 + 200) // two heartbeats, and timers late on a loaded machine
      // the hung connection is dropped and a new one (through the proxy, not frozen) subscribes
      expect(yield* take(events).pipe(Effect.timeout("5 seconds"))).toBe("Connected")
    }))
})
