/**
 * RabbitMQ, on the broker of RABBITMQ_URL (default amqp://guest:guest@127.0.0.1:5672):
 * each layer opens a connection of its own.
 */
import { RabbitMQDispatcher, RabbitMQWorker } from "@cachefx/rabbitmq"
import type { ChannelModel } from "amqplib"
import { Effect, Layer } from "effect"
import type { Broker } from "./brokers.js"

const withConnection = <A, E, R>(make: (connection: ChannelModel) => Layer.Layer<A, E, R>) =>
  Layer.unwrapScoped(
    Effect.map(RabbitMQDispatcher.connect(process.env["RABBITMQ_URL"] ?? "amqp://guest:guest@127.0.0.1:5672"), make)
  )

export const rabbitmq: Broker = {
  dispatcher: withConnection((connection) => RabbitMQDispatcher.layer({ connection })),
  worker: withConnection((connection) => RabbitMQWorker.layer({ connection }))
}
