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
import {
  Cached,
  CacheError,
  CacheMetrics,
  CacheSettings,
  type CacheStore,
  InvalidationBus,
  InvalidationEngine,
  InvalidationEvent,
  InvalidationRule,
  KeyConstructor,
  KeyField
} from "@cachefx/core"
import { Cause, Effect, Layer, Metric, Schema } from "effect"

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

    describe("cached values on one key constructor (finding 2)", () => {
      const users = () =>
        KeyConstructor.make({
          namespace: `${namespace}-${run++}`,
          fields: [KeyField.arg("org", { partition: true }), KeyField.arg("userId")]
        })
      type User = { readonly org: number; readonly userId: number }
      const counted = (key: ReturnType<typeof users>, label: string, name?: string) => {
        const calls = { count: 0 }
        const fn = Cached.cached({ key, ttl: "1 minute", ...(name === undefined ? {} : { name }) })((input: User) =>
          Effect.sync(() => `${label} of ${input.org}/${input.userId} #${++calls.count}`)
        )
        return { fn, calls }
      }

      it.effect("two cached values without a name on one store: the second is a CacheDefinitionError, not fa's value", () =>
        Effect.gen(function*() {
          const key = users()
          const fa = counted(key, "fa").fn
          const fb = counted(key, "fb").fn
          expect(yield* fa({ org: 1, userId: 1 })).toBe("fa of 1/1 #1")
          const exit = yield* Effect.exit(fb({ org: 1, userId: 1 }))
          expect(exit._tag).toBe("Failure")
          const defect = exit._tag === "Failure" ? Cause.squash(exit.cause) : undefined
          expect(defect).toBeInstanceOf(CacheError.CacheDefinitionError)
          expect(String((defect as Error).message)).toContain("name")
          // the first keeps working
          expect(yield* fa({ org: 1, userId: 1 })).toBe("fa of 1/1 #1")
        }).pipe(Effect.provide(layer)))

      it.effect("one cached value defined again (a test, a reload) on another store is no conflict", () =>
        Effect.gen(function*() {
          const key = users()
          const first = counted(key, "fa").fn
          const again = counted(key, "fa").fn
          expect(yield* first({ org: 1, userId: 1 })).toBe("fa of 1/1 #1")
          expect(yield* Effect.provide(again({ org: 1, userId: 1 }), layer)).toBe("fa of 1/1 #1")
        }).pipe(Effect.provide(layer)))

      it.effect("named apart, each keeps its entries, its partition wipes and its invalidateAll", () =>
        Effect.gen(function*() {
          const key = users()
          const a = counted(key, "fa")
          const b = counted(key, "fb", "fb")
          const c = counted(key, "fc", "fc")
          const input = { org: 1, userId: 1 }
          expect(yield* a.fn(input)).toBe("fa of 1/1 #1")
          expect(yield* b.fn(input)).toBe("fb of 1/1 #1")
          expect(yield* c.fn(input)).toBe("fc of 1/1 #1")
          yield* b.fn.deletePartition({ org: 1 })
          expect(yield* a.fn(input)).toBe("fa of 1/1 #1")
          expect(yield* c.fn(input)).toBe("fc of 1/1 #1")
          expect(yield* b.fn(input)).toBe("fb of 1/1 #2")
          yield* b.fn.invalidateAll
          expect(yield* a.fn(input)).toBe("fa of 1/1 #1")
          expect(yield* c.fn(input)).toBe("fc of 1/1 #1")
          expect(yield* b.fn(input)).toBe("fb of 1/1 #3")
          yield* a.fn.invalidateAll
          yield* a.fn.deletePartition({ org: 1 })
          expect(yield* b.fn(input)).toBe("fb of 1/1 #3")
          expect(yield* a.fn(input)).toBe("fa of 1/1 #2")
          // the constructor-wide wipe, under its own name, reaches every one of them
          yield* KeyConstructor.invalidateAll(key)
          expect(yield* a.fn(input)).toBe("fa of 1/1 #3")
          expect(yield* b.fn(input)).toBe("fb of 1/1 #4")
          expect(yield* c.fn(input)).toBe("fc of 1/1 #2")
        }).pipe(Effect.provide(layer)))

      it.effect("a rule of one cached value wipes its own namespace and partitions, not its neighbour's", () =>
        Effect.gen(function*() {
          const key = users()
          const calls = { a: 0, b: 0 }
          const fa = Cached.cached({
            key,
            name: `${namespace}-fa-${run}`,
            ttl: "1 minute",
            invalidatesOn: [
              InvalidationRule.make({ table: "users", fieldMapping: { org: "org_id" } }),
              InvalidationRule.make({ table: "settings", fieldMapping: {} })
            ]
          })((input: User) => Effect.sync(() => `fa ${input.userId} #${++calls.a}`))
          const fb = Cached.cached({ key, name: `${namespace}-fb-${run}`, ttl: "1 minute" })((input: User) =>
            Effect.sync(() => `fb ${input.userId} #${++calls.b}`)
          )
          const input = { org: 1, userId: 1 }
          yield* Effect.gen(function*() {
            const bus = yield* InvalidationBus.InvalidationBus
            yield* fa(input)
            yield* fb(input)
            yield* bus.publish(InvalidationEvent.make({ table: "users", operation: "update", rows: [{ org_id: 1 }] }))
            expect(yield* fa(input)).toBe("fa 1 #2")
            expect(yield* fb(input)).toBe("fb 1 #1")
            yield* bus.publish(InvalidationEvent.make({ table: "settings", operation: "update", rows: [{}] }))
            expect(yield* fa(input)).toBe("fa 1 #3")
            expect(yield* fb(input)).toBe("fb 1 #1")
          }).pipe(Effect.provide(InvalidationEngine.layer({ caches: [fa, fb] })))
        }).pipe(Effect.provide(layer)))
    })
  })

/** The errors counted for a cached value so far. */
export const errorsOf = (cache: string) =>
  Effect.map(Metric.value(Metric.tagged(CacheMetrics.errors, "cache", cache)), (state) => state.count)
