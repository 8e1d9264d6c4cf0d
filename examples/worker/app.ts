/**
 * What the producer and the worker share: the cached value (its rule names the broker's
 * dispatcher), and the store and engine over Redis. Both processes must build the same
 * cached values: a job names its cached value and rule, and the worker looks them up.
 */
import { Cached, CacheSettings, InvalidationEngine, InvalidationRule, KeyConstructor, KeyField } from "@cachefx/core"
import { RedisStore } from "@cachefx/redis"
import { Effect, Layer } from "effect"
import { type Broker, redisUrl } from "./brokers.js"

export const getUser = (broker: string) =>
  Cached.cached({
    key: KeyConstructor.make({ namespace: "users", fields: [KeyField.arg("id")] }),
    ttl: "10 minutes",
    invalidatesOn: [InvalidationRule.make({ table: "users", fieldMapping: { id: "id" }, dispatcher: broker })]
  })((input: { readonly id: number }) =>
    Effect.sync(() => ({ id: input.id, name: `user ${input.id}`, computedAt: new Date().toISOString() }))
  )

/** The Redis store, and the engine with the broker's dispatcher. */
export const layer = (name: string, broker: Broker) =>
  InvalidationEngine.layer({ caches: [getUser(name)] }).pipe(
    Layer.provide(broker.dispatcher),
    Layer.provideMerge(RedisStore.layerConfig({ url: redisUrl })),
    Layer.provideMerge(CacheSettings.layer({ keyPrefix: "cachefx-example-worker" }))
  )
