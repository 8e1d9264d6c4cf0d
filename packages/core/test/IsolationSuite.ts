/**
 * What a cached call must never share, on any store (issue 18):
 * `isolationSuite("memory", CacheStore.layerMemory(), "isolation-memory")`.
 *
 * - two inputs never share a key, however their values hide their state;
 * - two cached values on one key constructor never share entries or wipes;
 * - two callers never share a mutable value through the cache;
 * - a value the codec cannot encode is returned, not stored, and counted.
 */
import { describe, expect, it } from "@effect/vitest"
import { Cached, CacheMetrics, CacheSettings, type CacheStore, KeyConstructor, KeyField } from "@cachefx/core"
import { Effect, Layer, Metric, Schema } from "effect"

/** A tenant's filter whose state is private: enumeration sees nothing of it. */
class PrivateFilter {
  readonly #tenant: number
  constructor(tenant: number) {
    this.#tenant = tenant
  }
  get tenant() {
    return this.#tenant
  }
}

/**
 * Pairs of values of one kind that hold different state but that enumeration of their
 * own properties sees alike: each pair must not share a key.
 */
export const hiddenState: ReadonlyArray<readonly [string, () => unknown, () => unknown]> = [
  ["an instance with #private fields", () => new PrivateFilter(1), () => new PrivateFilter(2)],
  ["URLSearchParams", () => new URLSearchParams("tenant=1"), () => new URLSearchParams("tenant=2")],
  ["an Error", () => new Error("tenant 1"), () => new Error("tenant 2")],
  ["a RegExp", () => /tenant-1/, () => /tenant-2/],
  [
    "an object whose state is not enumerable",
    () => Object.defineProperty({}, "tenant", { value: 1 }),
    () => Object.defineProperty({}, "tenant", { value: 2 })
  ],
  ["an object made by Object.create", () => Object.create({ tenant: 1 }), () => Object.create({ tenant: 2 })],
  ["an object keyed by a symbol", () => ({ [Symbol.for("tenant")]: 1 }), () => ({ [Symbol.for("tenant")]: 2 })],
  ["a boxed string", () => new String("tenant 1"), () => new String("tenant 2")],
  [
    "a Proxy",
    () => new Proxy({}, { get: () => 1 }),
    () => new Proxy({}, { get: () => 2 })
  ],
  [
    "an array with a named property",
    () => Object.assign([1], { tenant: 1 }),
    () => Object.assign([1], { tenant: 2 })
  ],
  ["a sparse array", () => [1, , 3], () => [1, , 4]]
]

/** Values of different kinds whose enumerated properties are alike: each pair must not share a key. */
export const lookAlikes: ReadonlyArray<readonly [string, () => unknown, () => unknown]> = [
  ["a typed array and a plain object", () => new Int16Array([1, 2]), () => ({ "0": 1, "1": 2 })],
  ["two typed arrays of the same bytes", () => new Int16Array([1]), () => new Uint16Array([1])],
  ["a date and a number", () => new Date(5), () => 5]
]

export const isolationSuite = (name: string, store: Layer.Layer<CacheStore.CacheStore, unknown>, namespace: string) =>
  describe(`isolation: ${name}`, () => {
    const layer = Layer.provideMerge(store, CacheSettings.layer({ operationTimeout: "2 seconds" }))
    let run = 0
    /** A constructor of a namespace of its own per test, so tests never meet on a shared server. */
    const constructor = () =>
      KeyConstructor.make({ namespace: `${namespace}-${run++}`, fields: [KeyField.arg("filter")] })

    describe("keys of values that hide their state (finding 1)", () => {
      for (const [kind, first, second] of hiddenState) {
        it.effect(`tenant 2 never gets tenant 1's secret: ${kind}`, () =>
          Effect.gen(function*() {
            let calls = 0
            const secret = Cached.cached({ key: constructor(), ttl: "1 minute" })((_: { readonly filter: unknown }) =>
              Effect.sync(() => `secret #${++calls}`)
            )
            expect(yield* secret({ filter: first() })).toBe("secret #1")
            expect(yield* secret({ filter: second() })).toBe("secret #2")
            const error = yield* Effect.flip(secret.keyFor({ filter: second() }))
            expect(error._tag).toBe("KeyError")
            expect(error.field).toBe("filter")
          }).pipe(Effect.provide(layer)))
      }

      it.effect("a field with a schema encodes class instances: equal filters share a key, different ones do not", () =>
        Effect.gen(function*() {
          const Filter = Schema.transform(Schema.Number, Schema.instanceOf(PrivateFilter), {
            strict: true,
            decode: (tenant) => new PrivateFilter(tenant),
            encode: (filter) => filter.tenant
          })
          const key = KeyConstructor.make({
            namespace: `${namespace}-${run++}`,
            fields: [KeyField.arg("filter", { schema: Filter })]
          })
          let calls = 0
          const secret = Cached.cached({ key, ttl: "1 minute" })((input: { readonly filter: PrivateFilter }) =>
            Effect.sync(() => `secret of ${input.filter.tenant} #${++calls}`)
          )
          expect(yield* secret({ filter: new PrivateFilter(1) })).toBe("secret of 1 #1")
          expect(yield* secret({ filter: new PrivateFilter(2) })).toBe("secret of 2 #2")
          expect(yield* secret({ filter: new PrivateFilter(1) })).toBe("secret of 1 #1")
        }).pipe(Effect.provide(layer)))
    })

    describe("values the codec cannot encode (finding 10)", () => {
      const unencodable: ReadonlyArray<readonly [string, () => unknown]> = [
        ["a getter that throws", () => ({
          get secret(): string {
            throw new Error("not now")
          }
        })],
        ["a Proxy", () => new Proxy({ a: 1 }, {})],
        ["20,000 levels of nesting", () => {
          let deep: unknown = "bottom"
          for (let i = 0; i < 20_000; i++) deep = { deep }
          return deep
        }]
      ]
      for (const [kind, make] of unencodable) {
        it.effect(`${kind}: returned to its caller, not stored, and counted`, () =>
          Effect.gen(function*() {
            const values: Array<unknown> = []
            const fn = Cached.cached({ key: constructor(), ttl: "1 minute" })((_: { readonly filter: number }) =>
              Effect.sync(() => {
                const value = make()
                values.push(value)
                return value
              })
            )
            const before = yield* errorsOf(fn.name)
            expect(yield* fn({ filter: 1 })).toBe(values[0])
            expect(yield* fn({ filter: 1 })).toBe(values[1])
            expect(values).toHaveLength(2)
            expect(yield* errorsOf(fn.name)).toBe(before + 2)
          }).pipe(Effect.provide(layer)))
      }
    })

    describe("mutable values (finding 3)", () => {
      it.effect("a caller that changes its value changes no other caller's: neither the computing caller's nor a hit's", () =>
        Effect.gen(function*() {
          const fn = Cached.cached({ key: constructor(), ttl: "1 minute" })((_: { readonly filter: number }) =>
            Effect.sync(() => ({ user: "ada", roles: ["reader"] }))
          )
          const computed = yield* fn({ filter: 1 })
          computed.roles.push("admin")
          const hit = yield* fn({ filter: 1 })
          expect(hit.roles).toEqual(["reader"])
          hit.roles.push("admin")
          const next = yield* fn({ filter: 1 })
          expect(next.roles).toEqual(["reader"])
          expect(next).not.toBe(hit)
          expect((yield* fn.withStatus({ filter: 1 })).status).toBe("Hit")
        }).pipe(Effect.provide(layer)))

      it.effect("batch reads hand each caller a value of its own too", () =>
        Effect.gen(function*() {
          const fn = Cached.cached({ key: constructor(), ttl: "1 minute" })((input: { readonly filter: number }) =>
            Effect.sync(() => ({ filter: input.filter, roles: ["reader"] }))
          )
          yield* fn({ filter: 1 })
          const [a, b] = yield* fn.many([{ filter: 1 }, { filter: 1 }])
          a!.roles.push("admin")
          expect(b!.roles).toEqual(["reader"])
          expect((yield* fn({ filter: 1 })).roles).toEqual(["reader"])
        }).pipe(Effect.provide(layer)))
    })
  })

/** The errors counted for a cached value so far. */
export const errorsOf = (cache: string) =>
  Effect.map(Metric.value(Metric.tagged(CacheMetrics.errors, "cache", cache)), (state) => state.count)
