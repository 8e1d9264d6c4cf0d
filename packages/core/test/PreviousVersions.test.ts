import { describe, expect, it } from "@effect/vitest"
import { CacheStore, KeyConstructor, TestCache } from "@cachefx/core"
import { Effect, Layer } from "effect"
import { previousVersionsSuite } from "./PreviousVersionsSuite.js"

previousVersionsSuite("memory", CacheStore.layerMemory(), "versions")
previousVersionsSuite("TestCache", TestCache.layer(), "versions-test")

describe("KeyConstructor.deletePreviousVersions", () => {
  it.effect("is 0 for a store without deleteVersions, and for a version that is not a whole number", () =>
    Effect.gen(function*() {
      const memory = yield* CacheStore.makeMemory()
      const { deleteVersions: _, ...bare } = memory
      const without = Layer.succeed(CacheStore.CacheStore, bare)
      const Users = KeyConstructor.make({ namespace: "users", version: 2 })
      expect(yield* KeyConstructor.deletePreviousVersions(Users).pipe(Effect.provide(without))).toBe(0)
      const named = KeyConstructor.make({ namespace: "users", version: "beta" })
      expect(yield* KeyConstructor.deletePreviousVersions(named).pipe(Effect.provide(CacheStore.layerMemory()))).toBe(0)
    }))
})
