import { describe, expect, it } from "@effect/vitest"
import { CacheStore, Dispatcher, InvalidationEngine } from "@cachefx/core"
import { BullMQDispatcher, BullMQWorker } from "@cachefx/bullmq"
import { Config, ConfigError, ConfigProvider, Context, Effect, Layer } from "effect"

const sharedUrl = process.env["REDIS_URL"] ?? "redis://127.0.0.1:6379"
const url = Config.redacted("REDIS_URL")

const withConfig = (entries: ReadonlyArray<readonly [string, string]>) =>
  Effect.withConfigProvider(ConfigProvider.fromMap(new Map(entries)))

describe("BullMQ layerConfig, read with ConfigProvider.fromMap", () => {
  it.scopedLive("the dispatcher is named in code and connects to the url it reads; the worker starts beside it", () =>
    Effect.gen(function*() {
      const queue = Config.succeed(`cachefx-config-${process.pid}`)
      const context = yield* Layer.build(
        BullMQWorker.layerConfig({ url, queues: Config.map(queue, (name) => [name]), concurrency: Config.integer("CONCURRENCY") }).pipe(
          Layer.provideMerge(InvalidationEngine.layer({ caches: [] })),
          Layer.provideMerge(BullMQDispatcher.layerConfig({ url, queue }, "jobs")),
          Layer.provide(CacheStore.layerMemory())
        )
      ).pipe(withConfig([["REDIS_URL", sharedUrl], ["CONCURRENCY", "2"]]))
      expect(Context.get(context, Dispatcher.tag("jobs")).name).toBe("jobs")
    }))

  it.scopedLive("a missing url is a ConfigError naming it", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Layer.build(BullMQDispatcher.layerConfig({ url })).pipe(withConfig([])))
      expect(ConfigError.isConfigError(error)).toBe(true)
      expect(String(error)).toContain("REDIS_URL")
    }))
})
