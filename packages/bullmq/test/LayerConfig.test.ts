import { describe, expect, it } from "@effect/vitest"
import { CacheStore, Dispatcher, InvalidationEngine } from "@cachefx/core"
import { BullMQDispatcher, BullMQWorker } from "@cachefx/bullmq"
import { Config, ConfigError, ConfigProvider, Context, Effect, Layer } from "effect"
import { Redis } from "ioredis"

const sharedUrl = process.env["REDIS_URL"] ?? "redis://127.0.0.1:6379"
const url = Config.redacted("REDIS_URL")

const withConfig = (entries: ReadonlyArray<readonly [string, string]>) =>
  Effect.withConfigProvider(ConfigProvider.fromMap(new Map(entries)))

describe("BullMQ layerConfig, read with ConfigProvider.fromMap", () => {
  it.scopedLive("the dispatcher is named in code and connects to the url it reads; the worker starts beside it", () =>
    Effect.gen(function*() {
      const queue = Config.succeed(`cachefx-config-${process.pid}`)
      const context = yield* Layer.build(
        BullMQWorker.layerConfig({ url, queue, concurrency: Config.integer("CONCURRENCY") }).pipe(
          Layer.provideMerge(InvalidationEngine.layer({ caches: [] })),
          Layer.provideMerge(BullMQDispatcher.layerConfig({ url, queue }, "jobs")),
          Layer.provide(CacheStore.layerMemory())
        )
      ).pipe(withConfig([["REDIS_URL", sharedUrl], ["CONCURRENCY", "2"]]))
      expect(Context.get(context, Dispatcher.tag("jobs")).name).toBe("jobs")
    }))

  it.scopedLive("an option read from Config that make refuses is a ConfigError with its reason", () =>
    Effect.gen(function*() {
      const worker = BullMQWorker.layerConfig({ url, concurrency: Config.integer("CONCURRENCY") }).pipe(
        Layer.provide(InvalidationEngine.layer({ caches: [] })),
        Layer.provide(CacheStore.layerMemory())
      )
      const error = yield* Effect.flip(Layer.build(worker).pipe(withConfig([["REDIS_URL", sharedUrl], ["CONCURRENCY", "0"]])))
      expect(ConfigError.isConfigError(error)).toBe(true)
      expect(String(error)).toContain("concurrency must be a whole number of at least 1, got 0")
      const dispatcher = BullMQDispatcher.layerConfig({ url, attempts: Config.integer("ATTEMPTS") })
      const refused = yield* Effect.flip(Layer.build(dispatcher).pipe(withConfig([["REDIS_URL", sharedUrl], ["ATTEMPTS", "0"]])))
      expect(String(refused)).toContain("attempts must be a whole number of at least 1, got 0")
    }))

  it("options that cannot work are definition errors, raised when the layer is made", () => {
    const connection = new Redis(sharedUrl, { lazyConnect: true })
    expect(() => BullMQDispatcher.layer({ connection, rowsPerJob: 0 })).toThrow("rowsPerJob must be a whole number of at least 1, got 0")
    expect(() => BullMQDispatcher.layer({ connection, attempts: 0 })).toThrow("attempts must be a whole number of at least 1, got 0")
    expect(() => BullMQWorker.layer({ connection, concurrency: 0 })).toThrow("concurrency must be a whole number of at least 1, got 0")
    expect(() => BullMQWorker.layer({ connection, maxStalledCount: -1 })).toThrow("maxStalledCount must be a whole number of at least 0")
  })

  it.scopedLive("a missing url is a ConfigError naming it", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Layer.build(BullMQDispatcher.layerConfig({ url })).pipe(withConfig([])))
      expect(ConfigError.isConfigError(error)).toBe(true)
      expect(String(error)).toContain("REDIS_URL")
    }))
})
