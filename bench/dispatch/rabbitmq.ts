/**
 * The RabbitMQ dispatcher against the inline one (see ./measure.ts), on the broker of
 * RABBITMQ_URL (default amqp://guest:guest@127.0.0.1:5672), on a queue of its own that
 * is deleted afterwards. The worker's concurrency (its prefetch) is 64.
 *
 * Run: npm run bench:dispatch -- rabbitmq
 */
import { RabbitMQDispatcher, RabbitMQWorker } from "@cachefx/rabbitmq"
import { Effect } from "effect"
import { measureBroker } from "./measure.js"

const url = process.env["RABBITMQ_URL"] ?? "amqp://guest:guest@127.0.0.1:5672"
const queue = `cachefx-bench-${process.pid}`

export const bench = Effect.gen(function*() {
  const connection = yield* RabbitMQDispatcher.connect(url)
  yield* Effect.addFinalizer(() =>
    Effect.promise(async () => {
      const channel = await connection.createChannel()
      await channel.deleteQueue(queue)
      await channel.deleteQueue(`${queue}.dead`)
      await channel.close()
    })
  )
  yield* measureBroker(
    "rabbitmq",
    RabbitMQDispatcher.layer({ connection, queue }),
    RabbitMQWorker.layer({ connection, queue, concurrency: 64 })
  )
})

