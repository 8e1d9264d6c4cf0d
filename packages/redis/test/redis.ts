/**
 * Layers and clients of the tests: the shared Redis (`REDIS_URL`, default
 * 127.0.0.1:6379) through `RedisStore.layerConfig`, and the cleanup of what a test file
 * wrote there, and a client that counts what it sends.
 */
import { CacheSettings, type CacheStore } from "@cachefx/core"
import { RedisStore } from "@cachefx/redis"
import { sharedUrl } from "@cachefx/testkit"
import { Config, ConfigProvider, Effect, Layer } from "effect"
import { type Command, Redis } from "ioredis"

export { cleanup, sharedUrl } from "@cachefx/testkit"

/** Settings of the tests: a timeout loose enough for a busy 2-core machine. */
export const TestSettings = CacheSettings.layer({ operationTimeout: "1 second" })

/** `RedisStore.layerConfig` reading `REDIS_URL` = `url`, under the settings of its context. */
export const layerConfigAt = (url: string): Layer.Layer<CacheStore.CacheStore, unknown> =>
  RedisStore.layerConfig({ url: Config.redacted("REDIS_URL") }).pipe(
    Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["REDIS_URL", url]]))))
  )

/** `RedisStore.layerConfig` reading `REDIS_URL` = `url`, under `TestSettings`. */
export const layerAt = (url: string): Layer.Layer<CacheStore.CacheStore, unknown> =>
  layerConfigAt(url).pipe(Layer.provide(TestSettings))

/**
 * A client of the shared Redis that records each command it sends, as its name and
 * key count (an `EVALSHA`'s second argument): what the store asks of Redis, counted
 * on the client, since other test runs share the server's `INFO commandstats`.
 */
export const countingClient = Effect.acquireRelease(
  Effect.sync(() => {
    const client = new Redis(sharedUrl)
    const sent: Array<string> = []
    const send = client.sendCommand.bind(client)
    client.sendCommand = (command: Command, stream?: never) => {
      sent.push(`${command.name} ${command.name === "evalsha" ? command.args[1] : ""}`.trim())
      return send(command, stream)
    }
    return { client, sent }
  }),
  ({ client }) => Effect.promise(() => client.quit())
)
