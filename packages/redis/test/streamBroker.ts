/** The Redis Streams dispatcher as a broker of the contract: a 2 s visibility timeout, 2 deliveries. */
import { StreamDispatcher, StreamWorker } from "@cachefx/redis"
import { Effect, Layer } from "effect"
import { type Broker, client, unreachableRedis } from "@cachefx/testkit"

const stream = (ns: string) => `{${ns}}:invalidation`

export const broker: Broker = {
  name: "redis-stream",
  dispatcher: (ns) =>
    Layer.unwrapScoped(Effect.map(client(), (client) => StreamDispatcher.layer({ client, queue: stream(ns), rowsPerJob: 3 }))),
  worker: (ns) =>
    Layer.unwrapScoped(Effect.map(client(), (client) =>
      StreamWorker.layer({ client, queue: stream(ns), visibilityTimeout: "2 seconds", attempts: 2 }))),
  unreachable: (timeout) => Layer.unwrapScoped(Effect.map(unreachableRedis, (client) => StreamDispatcher.layer({ client, timeout }))),
  deadLetters: (ns, options) => Effect.scoped(Effect.flatMap(client(), (client) => StreamDispatcher.deadLetters(client, { queue: stream(ns), ...options })))
}
