/**
 * Long keys under the `maxKeyLength` setting, on any store:
 * `keyLengthSuite("memory", CacheStore.layerMemory())`.
 */
import { describe, expect, it } from "@effect/vitest"
import { Cached, CacheSettings, type CacheStore, KeyConstructor, KeyField } from "@cachefx/core"
import { Effect, Layer, Option } from "effect"

export const keyLengthSuite = (name: string, store: Layer.Layer<CacheStore.CacheStore, unknown>, namespace: string) =>
  describe(`maxKeyLength: ${name}`, () => {
    const Long = KeyConstructor.make({
      namespace,
      fields: [KeyField.arg("org", { partition: true }), KeyField.arg("query")]
    })
    const max = 100
    const layer = Layer.provideMerge(store, CacheSettings.layer({ maxKeyLength: max, operationTimeout: "1 second" }))
    const make = () => {
      let calls = 0
      return Cached.cached({ key: Long })((input: { readonly org: string; readonly query: string }) =>
        Effect.sync(() => `${input.org.length}/${input.query.length}#${++calls}`)
      )
    }
    const long = (c: string) => c.repeat(90)

    it.effect("a key within the limit is unchanged; a longer one has its suffix hashed, then its partition", () =>
      Effect.gen(function*() {
        const fn = make()
        expect(yield* fn.keyFor({ org: "a", query: "b" })).toBe(`cachefx:${namespace}:1:a:b`)
        const suffix = yield* fn.keyFor({ org: "a", query: long("q") })
        expect(suffix).toMatch(new RegExp(`^cachefx:${namespace}:1:a:#\\^[\\w-]{22}$`))
        expect(yield* fn.keyFor({ org: "a", query: long("r") })).not.toBe(suffix)
        const both = yield* fn.keyFor({ org: long("o"), query: "b" })
        expect(both).toMatch(new RegExp(`^cachefx:${namespace}:1:#\\^[\\w-]{22}:b$`))
        for (const key of [suffix, both]) {
          expect(key.length).toBeLessThanOrEqual(max)
        }
      }).pipe(Effect.provide(layer)))

    it.effect("long keys are read back, and wiped by their partition and their namespace", () =>
      Effect.gen(function*() {
        const fn = make()
        const inputs = [{ org: long("o"), query: long("q") }, { org: long("o"), query: "b" }, { org: "a", query: long("q") }]
        yield* Effect.forEach(inputs, fn)
        expect((yield* fn.withStatus(inputs[0]!)).status).toBe("Hit")
        yield* fn.deletePartition({ org: long("o") })
        const left = yield* Effect.forEach(inputs, (input) => Effect.map(fn.peek(input), Option.isSome))
        expect(left).toEqual([false, false, true])
        yield* KeyConstructor.invalidateAll(Long)
        expect(Option.isNone(yield* fn.peek(inputs[2]!))).toBe(true)
      }).pipe(Effect.provide(layer)))
  })
