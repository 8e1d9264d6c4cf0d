/**
 * `KeyConstructor.deletePreviousVersions` on any store with `deleteVersions`:
 * `previousVersionsSuite("memory", CacheStore.layerMemory(), "ns")`.
 */
import { describe, expect, it } from "@effect/vitest"
import { Cached, CacheSettings, CacheStore, KeyConstructor, KeyField } from "@cachefx/core"
import { Effect, Layer, Option } from "effect"

export const previousVersionsSuite = (name: string, store: Layer.Layer<CacheStore.CacheStore, unknown>, namespace: string) =>
  describe(`KeyConstructor.deletePreviousVersions: ${name}`, () => {
    const layer = Layer.provideMerge(store, CacheSettings.layer({ operationTimeout: "1 second" }))
    const constructorAt = (ns: string, version: number | string) =>
      KeyConstructor.make({ namespace: ns, version, fields: [KeyField.arg("org", { partition: true }), KeyField.arg("id")] })
    const at = (ns: string, version: number | string) =>
      Cached.cached({ key: constructorAt(ns, version) })((input: { readonly org: number; readonly id: number }) =>
        Effect.succeed(`${ns}@${version}/${input.id}`)
      )
    const inputs = Array.from({ length: 250 }, (_, i) => ({ org: i % 7, id: i }))

    /** Entries of a version no code of this process uses any more: written by an earlier deploy. */
    const written = (key: KeyConstructor.KeyConstructor.Any) =>
      Effect.flatMap(CacheStore.CacheStore, (store) =>
        Effect.forEach(inputs, (input) =>
          Effect.flatMap(KeyConstructor.keyFor(key, input), (key) =>
            Effect.flatMap(store.get(key), ({ guard }) =>
              store.set(key, { value: "old", cachedAt: 0, expiresAt: null, staleUntil: null }, guard))), { discard: true }))

    const present = (key: KeyConstructor.KeyConstructor.Any) =>
      Effect.flatMap(CacheStore.CacheStore, (store) =>
        Effect.map(
          Effect.forEach(inputs, (input) => Effect.flatMap(KeyConstructor.keyFor(key, input), store.get)),
          (found) => found.filter((lookup) => Option.isSome(lookup.entry)).length
        ))

    it.effect("deletes lower versions in batches; keeps the current one, other namespaces and versions in use", () =>
      Effect.gen(function*() {
        const [v2, v3, other] = [at(namespace, 2), at(namespace, 3), at(`${namespace}-other`, 1)]
        yield* written(constructorAt(namespace, 1))
        yield* Effect.forEach([v2, v3, other], (fn) => Effect.forEach(inputs, fn, { discard: true }), { discard: true })
        // v2 is still used by a cached value of this process (another constructor on the namespace)
        expect(yield* KeyConstructor.deletePreviousVersions(v3.key)).toBeGreaterThanOrEqual(inputs.length)
        const left = yield* Effect.forEach([constructorAt(namespace, 1), v2.key, v3.key, other.key], present)
        expect(left).toEqual([0, 250, 250, 250])
        // again: nothing in use goes (a store may count what reading left behind, e.g. Redis stamps)
        yield* KeyConstructor.deletePreviousVersions(v3.key)
        expect(yield* Effect.forEach([v2.key, v3.key, other.key], present)).toEqual([250, 250, 250])
      }).pipe(Effect.provide(layer)), 30_000)
  })
