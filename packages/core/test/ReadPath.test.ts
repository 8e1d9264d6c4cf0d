import { describe, expect, it } from "@effect/vitest"
import { Cached, CacheStore, KeyConstructor, KeyField } from "@cachefx/core"
import { Effect } from "effect"
import { recordingTracer } from "./recordingTracer.js"

const getItem = Cached.cached({
  key: KeyConstructor.make({ namespace: "read-path", fields: [KeyField.arg("shop", { partition: true }), KeyField.arg("id")] }),
  ttl: "1 minute"
})((input: { readonly shop: number; readonly id: number }) => Effect.succeed({ ...input, tags: ["new"] }))

describe("the read path of a hit", () => {
  it.effect("a memory hit is read at once (getSync), with no call of get", () =>
    Effect.gen(function*() {
      const memory = yield* CacheStore.makeMemory()
      let gets = 0
      // a wrapper that keeps getSync, given explicitly: hits skip its get
      const counting: CacheStore.Service = Object.assign({ ...memory, get: (...args: Parameters<CacheStore.Service["get"]>) => (gets++, memory.get(...args)) }, {
        getSync: memory.getSync
      })
      yield* Effect.gen(function*() {
        yield* getItem({ shop: 1, id: 1 }) // a miss: one get, then set
        yield* getItem({ shop: 1, id: 1 })
        yield* getItem({ shop: 1, id: 1 })
      }).pipe(Effect.provideService(CacheStore.CacheStore, counting))
      expect(gets).toBe(1)
    }))

  it.effect("a wrapper that spreads a store and replaces get has no getSync: every read, hits too, goes through its get", () =>
    Effect.gen(function*() {
      const memory = yield* CacheStore.makeMemory()
      expect(memory.getSync).toBeDefined()
      let gets = 0
      const wrapped: CacheStore.Service = { ...memory, get: (key, options) => (gets++, memory.get(key, options)) }
      expect(wrapped.getSync).toBeUndefined()
      yield* Effect.gen(function*() {
        yield* getItem({ shop: 2, id: 1 })
        yield* getItem({ shop: 2, id: 1 })
        yield* getItem({ shop: 2, id: 1 })
      }).pipe(Effect.provideService(CacheStore.CacheStore, wrapped))
      expect(gets).toBe(3)
    }))

  it.effect("with a tracer that exports, a hit reads through get, in its span", () =>
    Effect.gen(function*() {
      const { started, tracer } = recordingTracer()
      const store = yield* CacheStore.makeMemory()
      yield* Effect.gen(function*() {
        yield* getItem({ shop: 3, id: 1 })
        yield* getItem({ shop: 3, id: 1 })
      }).pipe(Effect.provideService(CacheStore.CacheStore, store), Effect.withTracer(tracer))
      expect(started.filter((name) => name === "cachefx.store.get")).toHaveLength(2)
    }))

  it.effect("each hit read at once gets a value of its own", () =>
    Effect.gen(function*() {
      const store = yield* CacheStore.makeMemory()
      const [first, second] = yield* Effect.gen(function*() {
        yield* getItem({ shop: 4, id: 1 })
        const first = yield* getItem({ shop: 4, id: 1 })
        first.tags.push("changed by a caller")
        return [first, yield* getItem({ shop: 4, id: 1 })] as const
      }).pipe(Effect.provideService(CacheStore.CacheStore, store))
      expect(second).not.toBe(first)
      expect(second.tags).toEqual(["new"])
    }))
})
