import { describe, expect, it } from "@effect/vitest"
import { BrokerJob, Cached, CacheStore, Dispatcher, KeyConstructor, KeyField } from "@cachefx/core"
import { Config, ConfigError, ConfigProvider, Context, Effect, Layer, Option } from "effect"

const withConfig = (entries: ReadonlyArray<readonly [string, string]>) =>
  Effect.withConfigProvider(ConfigProvider.fromMap(new Map(entries)))

const getUser = Cached.cached({
  key: KeyConstructor.make({ namespace: "config-users", fields: [KeyField.arg("id")] }),
  ttl: "1 minute"
})((input: { readonly id: number }) => Effect.succeed(input.id))

describe("layerConfig of the core layers", () => {
  it.scoped("CacheStore.layerMemoryConfig: the capacity read from Config bounds the store", () =>
    Effect.gen(function*() {
      const context = yield* Layer.build(CacheStore.layerMemoryConfig({ capacity: Config.integer("CAPACITY") })).pipe(
        withConfig([["CAPACITY", "2"]])
      )
      yield* Effect.forEach([1, 2, 3], (id) => getUser({ id })).pipe(Effect.provide(context))
      // the least recently used of three entries went: the store holds two
      expect(yield* getUser.peek({ id: 1 }).pipe(Effect.provide(context))).toEqual(Option.none())
      expect(yield* getUser.peek({ id: 3 }).pipe(Effect.provide(context))).toEqual(Option.some(3))
    }))

  it.scoped("CacheStore.layerMemoryConfig: a capacity the store refuses is a ConfigError with its reason", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        Layer.build(CacheStore.layerMemoryConfig({ capacity: Config.integer("CAPACITY") })).pipe(withConfig([["CAPACITY", "0"]]))
      )
      expect(ConfigError.isConfigError(error)).toBe(true)
      expect(String(error)).toContain("0 is not a positive whole number of entries")
      const missing = yield* Effect.flip(Layer.build(CacheStore.layerMemoryConfig(Config.all({ capacity: Config.integer("CAPACITY") }))).pipe(withConfig([])))
      expect(String(missing)).toContain("CAPACITY")
    }))

  it.scoped("Dispatcher.layerPoolConfig: the pool is named in code and its concurrency read from Config", () =>
    Effect.gen(function*() {
      const context = yield* Layer.build(Dispatcher.layerPoolConfig({ concurrency: Config.integer("CONCURRENCY") }, "slow")).pipe(
        withConfig([["CONCURRENCY", "2"]])
      )
      expect(Context.get(context, Dispatcher.tag("slow")).name).toBe("slow")
      const refused = yield* Effect.flip(
        Layer.build(Dispatcher.layerPoolConfig({ concurrency: Config.integer("CONCURRENCY") })).pipe(withConfig([["CONCURRENCY", "0"]]))
      )
      expect(String(refused)).toContain("concurrency must be a whole number of at least 1, got 0")
    }))

  it.effect("BrokerJob.unwrapConfig: a check that throws makes a ConfigError, a check that passes gives the options", () =>
    Effect.gen(function*() {
      const options = BrokerJob.unwrapConfig<{ readonly prefetch?: number | undefined }>(
        { prefetch: Config.integer("PREFETCH") },
        (options) => BrokerJob.requireWhole("TestWorker", { prefetch: [options.prefetch, 1] })
      )
      expect(yield* options.pipe(withConfig([["PREFETCH", "4"]]))).toEqual({ prefetch: 4 })
      const error = yield* Effect.flip(options.pipe(withConfig([["PREFETCH", "-1"]])))
      expect(String(error)).toContain("prefetch must be a whole number of at least 1, got -1")
    }))
})
