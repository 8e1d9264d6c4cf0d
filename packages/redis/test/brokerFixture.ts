/**
 * What the broker contract's two processes share (the test and its child worker,
 * which must not load vitest): the broker's layers, the cached value and the engine.
 */
import {
  Cached,
  CacheSettings,
  type Dispatcher,
  InvalidationEngine,
  InvalidationRule,
  KeyConstructor,
  KeyField
} from "@cachefx/core"
import type { BrokerJob } from "@cachefx/core"
import { RedisStore } from "@cachefx/redis"
import { type Duration, Effect, Layer } from "effect"
import { Redis } from "ioredis"
import { sharedUrl } from "./redis.js"

/** A broker under test: its layers for one test namespace `ns` (queue names, key prefixes). */
export interface Broker {
  readonly name: string
  readonly dispatcher: (ns: string) => Layer.Layer<Dispatcher.Named<string>>
  /** A worker that picks up an abandoned job quickly. */
  readonly worker: (ns: string) => Layer.Layer<never, unknown, InvalidationEngine.InvalidationEngine>
  readonly deadLetters: (ns: string) => Effect.Effect<ReadonlyArray<BrokerJob.DeadLetter>, unknown>
  /** The dispatcher over a client of a Redis that does not answer, waiting `timeout` for it. */
  readonly unreachable: (client: Redis, timeout: Duration.DurationInput) => Layer.Layer<Dispatcher.Named<string>>
}

/** A client of the shared Redis, closed with the scope. */
export const client = (options: { readonly maxRetriesPerRequest?: null } = {}) =>
  Effect.acquireRelease(
    Effect.sync(() => new Redis(sharedUrl, options)),
    (redis) => Effect.promise(() => redis.quit())
  )

/** A child worker blocks in its job until it is killed. */
const hang = process.env["CACHEFX_TEST_HANG"] === "1"

const Users = KeyConstructor.make({ namespace: "users", fields: [KeyField.arg("id")] })

/** The cached value of both processes: a rule per behaviour under test. */
export const users = (dispatcher: string) =>
  Cached.cached({
    key: Users,
    ttl: "1 minute",
    invalidatesOn: [
      InvalidationRule.make({
        table: "users",
        fieldMapping: { id: "id" },
        dispatcher,
        when: () =>
          hang ? Effect.zipRight(Effect.sync(() => process.stdout.write("running\n")), Effect.never) : Effect.succeed(true)
      }),
      InvalidationRule.make({
        table: "accounts",
        fieldMapping: { id: "id" },
        dispatcher,
        name: "always-fails",
        when: () => Effect.dieMessage("the accounts rule always fails")
      })
    ]
  })((input: { readonly id: number }) => Effect.succeed(`user ${input.id}`))

/** The store, the engine with the broker's dispatcher, and their settings, for namespace `ns`. */
export const engine = (broker: Broker, ns: string, dispatcher = broker.dispatcher(ns)) =>
  InvalidationEngine.layer({ caches: [users(broker.name)] }).pipe(
    Layer.provide(dispatcher),
    Layer.provideMerge(Layer.unwrapScoped(Effect.map(client(), (client) => RedisStore.layer({ client })))),
    Layer.provideMerge(CacheSettings.layer({ keyPrefix: ns, operationTimeout: "2 seconds" }))
  )
