import { describe, expect, it } from "@effect/vitest"
import { CacheSettings, CacheSync } from "@cachefx/core"
import { Chunk, Duration, Effect, Queue } from "effect"
import { EventEmitter } from "node:events"

const message: CacheSync.Message = { _tag: "Namespace", origin: "instance-a", namespace: "cachefx:users" }

/** A transport over an in-process emitter; what it saw is recorded for the test. */
const emitter = (options: { readonly publish?: (text: string) => Promise<unknown>; readonly ready?: Promise<void> } = {}) => {
  const bus = new EventEmitter()
  const seen = { closed: 0, ticks: 0, unread: [] as Array<string>, receiver: undefined as CacheSync.Receiver | undefined }
  const transport: CacheSync.Transport = {
    name: "emitter",
    publish: options.publish ?? (async (text) => bus.emit("text", text)),
    listen: (receiver) => {
      seen.receiver = receiver
      const onText = (text: string) => {
        if (!receiver.receive(text)) seen.unread.push(text)
      }
      bus.on("text", onText)
      const ready = options.ready ?? Promise.resolve().then(receiver.connected)
      return {
        ready,
        heartbeat: { interval: "10 millis", tick: () => void seen.ticks++ },
        close: () => {
          seen.closed++
          bus.off("text", onText)
        }
      }
    }
  }
  return { bus, seen, transport }
}

describe("CacheSync.make", () => {
  it.scoped("carries a message as JSON text to every subscription, after the state of the connection", () =>
    Effect.gen(function*() {
      const texts: Array<string> = []
      const { bus, transport } = emitter()
      bus.on("text", (text: string) => texts.push(text))
      const sync = yield* CacheSync.make(transport)
      const events = yield* sync.subscribe
      yield* sync.publish(message)
      expect(Chunk.toArray(yield* Queue.takeBetween(events, 2, 2))).toEqual([
        { _tag: "Connected" },
        { _tag: "Received", message }
      ])
      expect(JSON.parse(texts[0]!)).toEqual(message)
    }))

  it.scoped("a text that does not decode is handed to no subscription, and the transport is told", () =>
    Effect.gen(function*() {
      const { bus, seen, transport } = emitter()
      const sync = yield* CacheSync.make(transport)
      const events = yield* sync.subscribe
      bus.emit("text", "{\"_tag\":\"Unknown\"}")
      bus.emit("text", "not json")
      expect(seen.unread).toEqual(["{\"_tag\":\"Unknown\"}", "not json"])
      expect(Chunk.toArray(yield* Queue.takeAll(events))).toEqual([{ _tag: "Connected" }])
    }))

  it.live("a publish the transport does not settle fails with a CacheSyncError naming it, at operationTimeout", () =>
    Effect.gen(function*() {
      const { transport } = emitter({ publish: () => new Promise(() => {}) })
      const sync = yield* CacheSync.make(transport)
      const error = yield* Effect.flip(sync.publish(message))
      expect(error._tag).toBe("CacheSyncError")
      expect(error.message).toContain("Cache sync over emitter could not publish an invalidation")
      expect(error.message).toContain("no answer within operationTimeout (100 ms)")
    }).pipe(Effect.scoped, Effect.provide(CacheSettings.layer({ operationTimeout: "100 millis" }))))

  it.live("starts disconnected when the first subscription never comes, after waiting 2 seconds at most", () =>
    Effect.gen(function*() {
      const { transport } = emitter({ ready: new Promise(() => {}) })
      const [elapsed, sync] = yield* Effect.timed(CacheSync.make(transport))
      expect(Duration.toMillis(elapsed)).toBeGreaterThanOrEqual(1_900)
      expect(Duration.toMillis(elapsed)).toBeLessThan(3_000)
      const events = yield* sync.subscribe
      expect(yield* Queue.take(events)).toEqual({ _tag: "Disconnected" })
    }).pipe(Effect.scoped), 10_000)

  it.live("runs the listener's heartbeat while the channel lives, and closes the listener with its scope", () =>
    Effect.gen(function*() {
      const { seen, transport } = emitter()
      yield* Effect.scoped(Effect.zipRight(CacheSync.make(transport), Effect.sleep("100 millis")))
      const ticks = seen.ticks
      expect(ticks).toBeGreaterThanOrEqual(3)
      expect(seen.closed).toBe(1)
      yield* Effect.sleep("50 millis")
      expect(seen.ticks).toBe(ticks)
    }))
})
