/** BullMQ as a broker of the Redis contract: 2 attempts, short locks and stalled checks. */
import { BullMQDispatcher, BullMQWorker } from "@cachefx/bullmq"
import { Effect, Layer } from "effect"
import { type Broker, client, unreachableRedis } from "@cachefx/testkit"

const queue = (ns: string) => ({ prefix: ns, queue: "invalidation" })

export const broker: Broker = {
  name: "bullmq",
  dispatcher: (ns) =>
    Layer.unwrapScoped(Effect.map(client(), (connection) =>
      BullMQDispatcher.layer({ connection, ...queue(ns), attempts: 2, backoff: "50 millis", rowsPerJob: 3 }))),
  worker: (ns) =>
    Layer.unwrapScoped(Effect.map(client({ maxRetriesPerRequest: null }), (connection) =>
      BullMQWorker.layer({
        connection,
        prefix: ns,
        queue: "invalidation",
        lockDuration: "2 seconds",
        stalledInterval: "300 millis"
      }))),
  unreachable: (timeout) => Layer.unwrapScoped(Effect.map(unreachableRedis, (connection) => BullMQDispatcher.layer({ connection, timeout }))),
  deadLetters: (ns, options) => Effect.scoped(Effect.flatMap(client(), (connection) => BullMQDispatcher.deadLetters(connection, { ...queue(ns), ...options })))
}
