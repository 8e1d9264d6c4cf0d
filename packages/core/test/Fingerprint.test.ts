import { describe, expect, it } from "@effect/vitest"
import { Cached, CacheSettings, CacheStore, KeyConstructor, KeyField, TestCache } from "@cachefx/core"
import { ConfigProvider, Effect, Option, Schema } from "effect"

/** Runs `effect` as another process would: on a store of its own (a copy of the service) over the same entries. */
const anotherProcess = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.updateService(effect, CacheStore.CacheStore, (store) => ({ ...store }))

const Posts = KeyConstructor.make({
  namespace: "posts",
  fields: [KeyField.arg("author", { partition: true }), KeyField.arg("page")]
})

const V1 = Schema.Struct({ title: Schema.String })
const V2 = Schema.Struct({ title: Schema.String, words: Schema.Number })

const post = <A>(value: Schema.Schema<A, any>, make: () => A, options: { readonly fingerprint?: boolean; readonly name?: string } = {}) =>
  Cached.cached({ key: Posts, value, ...options })((_: { readonly author: number; readonly page: number }) => Effect.sync(make))

const input = { author: 1, page: 2 }

describe("value-shape fingerprint", () => {
  it.effect("a key of a value with a Schema carries its fingerprint after the partition (in its own namespace when named apart)", () =>
    Effect.gen(function*() {
      const key = yield* post(V1, () => ({ title: "a" })).keyFor(input)
      expect(key).toMatch(/^cachefx:posts:1:#1:#\$[\w-]{8}:#2$/)
      expect(yield* post(V1, () => ({ title: "a" })).keyFor(input)).toBe(key)
      expect(yield* post(V1, () => ({ title: "a" }), { name: "feed" }).keyFor(input)).toBe(
        key.replace("cachefx:posts:", "cachefx:posts:#@feed:")
      )
      const plain = Cached.cached({ key: Posts })((_: typeof input) => Effect.succeed(1))
      expect(yield* plain.keyFor(input)).toBe("cachefx:posts:1:#1:#2")
    }))

  it.effect("a changed Schema reads no entry of the old shape: a miss, not a decode error", () =>
    Effect.gen(function*() {
      const cache = yield* TestCache.TestCache
      yield* post(V1, () => ({ title: "old" }))(input)
      const next = post(V2, () => ({ title: "new", words: 3 }))
      expect(yield* next.keyFor(input)).not.toBe(yield* post(V1, () => ({ title: "old" })).keyFor(input))
      yield* cache.clearLog
      // the next deploy's definition runs in another process: on a store of its own over the same entries
      expect((yield* anotherProcess(next.withStatus(input))).status).toBe("Miss")
      expect((yield* cache.log).map((op) => `${op.op}:${op.outcome}`)).toEqual(["get:miss", "set:stored"])
    }).pipe(Effect.provide(TestCache.layer())))

  it.effect("is off per cached value with fingerprint: false, and for all with the setting", () =>
    Effect.gen(function*() {
      expect(yield* post(V1, () => ({ title: "a" }), { fingerprint: false }).keyFor(input)).toBe("cachefx:posts:1:#1:#2")
      const off = post(V1, () => ({ title: "a" })).keyFor(input).pipe(
        Effect.provide(CacheSettings.layer({ fingerprint: false }))
      )
      expect(yield* off).toBe("cachefx:posts:1:#1:#2")
    }))

  it.effect("partition and namespace wipes reach fingerprinted keys", () =>
    Effect.gen(function*() {
      const fn = post(V1, () => ({ title: "a" }))
      const other = { author: 2, page: 2 }
      yield* Effect.all([fn(input), fn(other)])
      yield* fn.deletePartition({ author: 1 })
      expect(Option.isNone(yield* fn.peek(input))).toBe(true)
      expect(Option.isSome(yield* fn.peek(other))).toBe(true)
      yield* KeyConstructor.invalidateAll(Posts)
      expect(Option.isNone(yield* fn.peek(other))).toBe(true)
    }).pipe(Effect.provide(TestCache.layer())))

  it.effect("CACHEFX_FINGERPRINT sets it from the environment", () =>
    Effect.map(
      Effect.withConfigProvider(CacheSettings.config, ConfigProvider.fromMap(new Map([["CACHEFX_FINGERPRINT", "false"]]))),
      (settings) => expect(settings.fingerprint).toBe(false)
    ))
})
