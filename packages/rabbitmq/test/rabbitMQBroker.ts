/**
 * RabbitMQ as a broker of the contract (`@cachefx/testkit/BrokerContract`): one queue per
 * test, 2 deliveries 50 ms apart. A worker that dies loses its connection, and RabbitMQ
 * gives its unacknowledged jobs to another at once.
 */
import { RabbitMQDispatcher, RabbitMQWorker } from "@cachefx/rabbitmq"
import { type Broker, proxied } from "@cachefx/testkit"
import * as amqp from "amqplib"
import { Effect, Layer } from "effect"
import { url } from "./fixtures/users.js"

export const broker: Broker = {
  name: "rabbitmq",
  dispatcher: (ns) =>
    Layer.unwrapScoped(Effect.map(RabbitMQDispatcher.connect(url), (connection) =>
      RabbitMQDispatcher.layer({ connection, queue: ns, rowsPerJob: 3 }))),
  worker: (ns) =>
    Layer.unwrapScoped(Effect.map(RabbitMQDispatcher.connect(url), (connection) =>
      RabbitMQWorker.layer({ connection, queue: ns, attempts: 2, backoff: "50 millis" }))),
  // connected through a proxy that then black-holes: RabbitMQ stops answering, nothing closes
  unreachable: (timeout) =>
    Layer.unwrapScoped(Effect.gen(function*() {
      const proxy = yield* proxied(url, 5672)
      const connection = yield* RabbitMQDispatcher.connect(proxy.url)
      yield* proxy.blackhole
      return RabbitMQDispatcher.layer({ connection, queue: "cachefx-contract-unreachable", timeout })
    })),
  deadLetters: (ns, options) =>
    Effect.scoped(Effect.flatMap(RabbitMQDispatcher.connect(url), (connection) => RabbitMQDispatcher.deadLetters(connection, { queue: ns, ...options }))),
  cleanup: (namespaces) =>
    Effect.promise(async () => {
      const connection = await amqp.connect(url)
      const channel = await connection.createChannel()
      for (const ns of namespaces) {
        for (const queue of [ns, `${ns}.dead`, `${ns}.retry.50`]) await channel.deleteQueue(queue)
      }
      await connection.close()
    })
}
