import { describe, expect, it } from "@effect/vitest"
import { Cached, CacheStore, CacheSync, KeyConstructor, KeyField } from "@cachefx/core"
import { Effect, Either, Layer, Option } from "effect"
import { hiddenState, isolationSuite, lookAlikes } from "./IsolationSuite.js"

isolationSuite("memory", CacheStore.layerMemory(), "isolation-memory")
isolationSuite(
  "tiered (memory over memory)",
  CacheStore.layerTiered({ l1: CacheStore.makeMemory({ capacity: 100 }), l2: CacheStore.makeMemory() }).pipe(
    Layer.provide(CacheSync.layerMemory)
  ),
  "isolation-tiered"
)

const Key = KeyConstructor.make({ namespace: "isolation", fields: [KeyField.arg("value")] })
const keyOf = (value: unknown) =>
  Effect.runSync(Effect.either(Effect.map(KeyConstructor.keyFor(Key, { value }), (key) => key.key)))

describe("canonical forms of key values (finding 1)", () => {
  it("a value whose state is hidden from enumeration is a KeyError naming the field", () => {
    for (const [kind, first] of hiddenState) {
      const key = keyOf(first())
      expect(Either.isLeft(key), kind).toBe(true)
      if (Either.isLeft(key)) {
        expect(key.left._tag).toBe("KeyError")
        expect(key.left.field).toBe("value")
      }
    }
  })

  it("the same value nested in a plain object or an array is a KeyError too", () => {
    for (const [kind, first] of hiddenState) {
      expect(Either.isLeft(keyOf({ nested: [first()] })), kind).toBe(true)
    }
  })

  it("values of different kinds that enumerate alike have different keys", () => {
    for (const [kind, first, second] of lookAlikes) {
      expect(Either.getOrThrow(keyOf(first())), kind).not.toBe(Either.getOrThrow(keyOf(second())))
    }
  })

  it("plain values keep their keys: null-prototype objects, Buffer and Uint8Array, -0 and 0, NaN", () => {
    const plain = Object.assign(Object.create(null), { a: 1 })
    expect(keyOf(plain)).toEqual(keyOf({ a: 1 }))
    expect(keyOf(Buffer.from([1, 2]))).toEqual(keyOf(new Uint8Array([1, 2])))
    expect(keyOf(-0)).toEqual(keyOf(0))
    expect(Either.getOrThrow(keyOf(NaN))).toBe("cachefx:isolation:1:#NaN")
    expect(Either.getOrThrow(keyOf(new Float64Array([1])))).not.toBe(Either.getOrThrow(keyOf(new Float64Array([2]))))
  })

  it("a getter that throws, and nesting past the bound, are KeyErrors naming the field", () => {
    const throwing = { get tenant(): number {
      throw new Error("no tenant")
    } }
    let deep: unknown = 1
    for (let i = 0; i < 20_000; i++) deep = [deep]
    for (const value of [throwing, deep]) {
      const key = keyOf(value)
      expect(Either.isLeft(key)).toBe(true)
      if (Either.isLeft(key)) {
        expect(key.left.field).toBe("value")
      }
    }
  })
})

describe("previous versions of cached values named apart (finding 2)", () => {
  it.effect("KeyConstructor.deletePreviousVersions reaches the namespace of each cached value named apart", () =>
    Effect.gen(function*() {
      const store = yield* CacheStore.CacheStore
      const namespace = "cachefx:reclaim:#@titles"
      const old = { namespace, partition: `${namespace}:1:#1`, key: `${namespace}:1:#1:#2` }
      yield* Effect.flatMap(store.get(old), (lookup) =>
        store.set(old, { value: "old", cachedAt: 0, expiresAt: null, staleUntil: null }, lookup.guard))
      const V2 = KeyConstructor.make({ namespace: "reclaim", version: 2, fields: [KeyField.arg("org", { partition: true }), KeyField.arg("id")] })
      const titles = Cached.cached({ key: V2, name: "titles" })((input: { readonly org: number; readonly id: number }) =>
        Effect.succeed(input.id)
      )
      expect(yield* titles({ org: 1, id: 2 })).toBe(2)
      expect(yield* KeyConstructor.deletePreviousVersions(V2)).toBe(1)
      expect(Option.isNone((yield* store.get(old)).entry)).toBe(true)
      expect((yield* titles.withStatus({ org: 1, id: 2 })).status).toBe("Hit")
    }).pipe(Effect.provide(CacheStore.layerMemory())))
})
