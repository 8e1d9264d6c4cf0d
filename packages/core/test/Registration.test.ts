import { describe, expect, it } from "@effect/vitest"
import {
  Cached,
  CacheMetrics,
  InvalidationEngine,
  InvalidationRule,
  KeyConstructor,
  KeyField,
  TestCache
} from "@cachefx/core"
import { Effect, Layer, Logger, Metric } from "effect"

const ruled = (namespace: string) =>
  Cached.cached({
    key: KeyConstructor.make({ namespace, fields: [KeyField.arg("id")] }),
    invalidatesOn: [InvalidationRule.make({ table: "users", fieldMapping: { id: "id" } })]
  })((input: { readonly id: number }) => Effect.succeed(input.id))

const warnings = () => {
  const lines: Array<string> = []
  const layer = Logger.replace(
    Logger.defaultLogger,
    Logger.make(({ logLevel, message }) => {
      if (logLevel._tag === "Warning") {
        lines.push(Array.isArray(message) ? message.join(" ") : String(message))
      }
    })
  )
  return { lines, layer }
}

const unregistered = (name: string) =>
  Metric.value(Metric.tagged(CacheMetrics.unregisteredCaches, "cache", name)).pipe(Effect.map((state) => state.count))

describe("a cached value with rules that its runtime's engine does not know", () => {
  it.effect("logs a warning once and counts it", () => {
    const known = ruled("registered")
    const forgotten = ruled("forgotten")
    const logs = warnings()
    return Effect.gen(function*() {
      yield* known({ id: 1 })
      yield* forgotten({ id: 1 })
      yield* forgotten({ id: 2 })
      yield* forgotten.peek({ id: 1 })
      const about = logs.lines.filter((line) => line.includes("forgotten"))
      expect(about).toHaveLength(1)
      expect(about[0]).toContain("InvalidationEngine")
      expect(logs.lines.filter((line) => line.includes("\"registered\""))).toEqual([])
      expect(yield* unregistered("forgotten")).toBe(1)
      expect(yield* unregistered("registered")).toBe(0)
    }).pipe(
      Effect.provide(InvalidationEngine.layer({ caches: [known] }).pipe(Layer.provideMerge(TestCache.layer()))),
      Effect.provide(logs.layer)
    )
  })

  it.effect("says nothing where no engine runs (a process that only reads) or for a value without rules", () => {
    const reader = ruled("reader")
    const plain = Cached.cached({ key: KeyConstructor.make({ namespace: "plain" }) })(() => Effect.succeed(1))
    const logs = warnings()
    return Effect.gen(function*() {
      yield* reader({ id: 1 })
      expect(logs.lines).toEqual([])
      yield* Effect.provide(plain(undefined), InvalidationEngine.layer({ caches: [] }))
      expect(logs.lines).toEqual([])
      expect(yield* unregistered("reader")).toBe(0)
    }).pipe(Effect.provide(TestCache.layer()), Effect.provide(logs.layer))
  })

  it.effect("the engine gives the cached values it serves, for the write hooks to read", () => {
    const one = ruled("served-one")
    const two = ruled("served-two")
    return Effect.gen(function*() {
      const engine = yield* InvalidationEngine.InvalidationEngine
      expect(engine.caches).toEqual([one, two])
    }).pipe(Effect.provide(InvalidationEngine.layer({ caches: [one, two, one] }).pipe(Layer.provide(TestCache.layer()))))
  })
})
