import { afterAll, describe, expect, it } from "@effect/vitest"
import { Cached, CacheSettings, CacheStore, CacheSync, Dispatcher, InvalidationEngine, KeyConstructor, KeyField } from "@cachefx/core"
import { RedisStore, RedisSync, StreamDispatcher, StreamWorker } from "@cachefx/redis"
import { Config, ConfigError, ConfigProvider, Context, Effect, Layer, Option, Queue } from "effect"
import { Redis } from "ioredis"
import { cleanup, sharedUrl } from "./redis.js"

const run = `layer-config-${process.pid}`
const url = Config.redacted("REDIS_URL")

const withConfig = (entries: ReadonlyArray<readonly [string, string]>) =>
  Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["REDIS_URL", sharedUrl], ...entries])))

const getUser = Cached.cached({
  key: KeyConstructor.make({ namespace: "users", fields: [KeyField.arg("id")] }),
  ttl: "1 minute"
})((input: { readonly id: number }) => Effect.succeed(input.id))

const Settings = CacheSettings.layer({ keyPrefix: run, operationTimeout: "1 second" })

describe("layerConfig of the Redis layers, read with ConfigProvider.fromMap", () => {
  afterAll(() => cleanup(run))

  it.scopedLive("RedisStore.layerConfig: connects to the url it reads, and fills Redis", () =>
    Effect.gen(function*() {
      const context = yield* Layer.build(RedisStore.layerConfig({ url }).pipe(Layer.provideMerge(Settings))).pipe(withConfig([]))
      yield* getUser({ id: 1 }).pipe(Effect.provide(context))
      const client = new Redis(sharedUrl)
      const stored = yield* Effect.promise(() => client.exists(`{${run}:users:1}:#1`)).pipe(
        Effect.ensuring(Effect.promise(() => client.quit()))
      )
      expect(stored).toBe(1)
    }))

  it.scopedLive("RedisStore.layerConfig with l1 read from Config: a two-tier store, whose L1 answers a read Redis lost", () =>
    Effect.gen(function*() {
      const layer = RedisStore.layerConfig({ url, l1: { capacity: Config.integer("L1_CAPACITY") } })
      const context = yield* Layer.build(layer.pipe(Layer.provideMerge(Settings))).pipe(withConfig([["L1_CAPACITY", "100"]]))
      yield* getUser({ id: 2 }).pipe(Effect.provide(context))
      // the entry leaves Redis behind the store's back (no invalidation): only L1 still has it
      const client = new Redis(sharedUrl)
      const deleted = yield* Effect.promise(async () => {
        const count = await client.del(`{${run}:users:1}:#2`)
        await client.quit()
        return count
      })
      expect(deleted).toBe(1)
      expect(yield* getUser.peek({ id: 2 }).pipe(Effect.provide(context))).toEqual(Option.some(2))
    }))

  it.scopedLive("RedisStore.layerConfig: a missing url is a ConfigError naming it", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Layer.build(RedisStore.layerConfig({ url: Config.redacted("NO_SUCH_URL") }).pipe(Layer.provide(Settings))).pipe(withConfig([])))
      expect(ConfigError.isConfigError(error)).toBe(true)
      expect(String(error)).toContain("NO_SUCH_URL")
    }))

  it.scopedLive("RedisSync.layerConfig: the channel read from Config carries a message to its subscriber", () =>
    Effect.gen(function*() {
      const context = yield* Layer.build(RedisSync.layerConfig({ url, channel: Config.string("CHANNEL") })).pipe(
        withConfig([["CHANNEL", `${run}:sync`]])
      )
      const sync = Context.get(context, CacheSync.CacheSync)
      const events = yield* sync.subscribe
      const connected = yield* Queue.take(events)
      expect(connected._tag).toBe("Connected")
      const message: CacheSync.Message = { _tag: "Namespace", origin: "config-test", namespace: `${run}:users` }
      yield* sync.publish(message)
      expect(yield* Queue.take(events)).toEqual({ _tag: "Received", message })
    }))

  it.scopedLive("StreamDispatcher.layerConfig: named in code, its stream read from Config", () =>
    Effect.gen(function*() {
      const context = yield* Layer.build(StreamDispatcher.layerConfig({ url, queue: Config.string("STREAM") }, "jobs")).pipe(
        withConfig([["STREAM", `{${run}}:jobs`]])
      )
      expect(Context.get(context, Dispatcher.tag("jobs")).name).toBe("jobs")
      expect(Context.getOption(context, CacheStore.CacheStore)).toEqual(Option.none())
    }))

  it.scopedLive("StreamWorker.layerConfig: an option read from Config that make refuses is a ConfigError with its reason", () =>
    Effect.gen(function*() {
      const worker = StreamWorker.layerConfig({ url, queue: Config.succeed(`{${run}}:jobs`), attempts: Config.integer("ATTEMPTS") }).pipe(
        Layer.provide(InvalidationEngine.layer({ caches: [] })),
        Layer.provide(CacheStore.layerMemory())
      )
      const error = yield* Effect.flip(Layer.build(worker).pipe(withConfig([["ATTEMPTS", "0"]])))
      expect(ConfigError.isConfigError(error)).toBe(true)
      expect(String(error)).toContain("attempts must be a whole number of at least 1, got 0")
      yield* Layer.build(worker).pipe(withConfig([["ATTEMPTS", "2"]]))
    }))

  it("options that cannot work are definition errors, raised when the layer is made", () => {
    const client = new Redis(sharedUrl, { lazyConnect: true })
    expect(() => StreamDispatcher.layer({ client, rowsPerJob: 0 })).toThrow("rowsPerJob must be a whole number of at least 1, got 0")
    expect(() => StreamWorker.layer({ client, attempts: 0 })).toThrow("attempts must be a whole number of at least 1, got 0")
    expect(() => StreamWorker.layer({ client, concurrency: 1.5 })).toThrow("concurrency must be a whole number of at least 1, got 1.5")
  })
})
