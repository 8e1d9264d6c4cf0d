import { BrokerJob } from "@cachefx/core"
import type * as amqp from "amqplib"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Scope from "effect/Scope"
import type * as RabbitMQWorker from "../RabbitMQWorker.js"
import {
  assertQueues,
  assertRetryQueue,
  attempt,
  deadLetterQueue,
  defaults,
  headers,
  publish,
  retryQueue
} from "./topology.js"
import { connectTo } from "./dispatcher.js"

/** A delivery, with the channel that must acknowledge it. */
interface Delivery {
  readonly channel: amqp.ConfirmChannel
  readonly message: amqp.ConsumeMessage
}

/** @internal */
export const check = (options: Omit<RabbitMQWorker.Options, "connection">) =>
  BrokerJob.requireWhole("RabbitMQWorker", { concurrency: [options.concurrency, 1], attempts: [options.attempts, 1] })

/** Acknowledges a delivery; a closed channel throws, and RabbitMQ then delivers it again. */
const ack = ({ channel, message }: Delivery) =>
  Effect.try({
    try: () => channel.ack(message),
    catch: (cause) => new BrokerJob.BrokerError({ operation: "RabbitMQ: acknowledge", reason: String(cause) })
  })

/** @internal */
export const make = (options: RabbitMQWorker.Options) => {
  check(options)
  return Effect.gen(function*() {
    const queue = options.queue ?? defaults.queue
    // a retry or a dead letter is published (and confirmed) before the delivery is acknowledged
    const worker = yield* BrokerJob.worker<Delivery>({
      broker: "RabbitMQ",
      job: ({ message }) => message.content.toString(),
      delivery: ({ message }) => {
        const tries = message.properties.headers?.[headers.attempt] as unknown
        return Predicate.isNumber(tries) ? tries : 1
      },
      attempts: () => options.attempts ?? defaults.attempts,
      backoff: options.backoff ?? defaults.backoff,
      annotations: () => ({ queue }),
      ack: (deliveries) => Effect.forEach(deliveries, ack, { discard: true }),
      retry: (delivery, { delay, delivery: tries }) => {
        const ms = Math.round(Duration.toMillis(Option.getOrElse(delay, () => Duration.zero)))
        return assertRetryQueue(delivery.channel, queue, ms).pipe(
          Effect.zipRight(publish(delivery.channel, retryQueue(queue, ms), delivery.message.content, {
            headers: { [headers.attempt]: tries + 1 }
          })),
          Effect.zipRight(ack(delivery))
        )
      },
      deadLetter: (delivery, { deliveries, reason }) =>
        publish(delivery.channel, deadLetterQueue(queue), delivery.message.content, {
          headers: { [headers.attempt]: deliveries, [headers.reason]: reason, [headers.failedAt]: Date.now() }
        }).pipe(Effect.zipRight(ack(delivery)))
    })

    /** Consumes on a channel of its own; gives the signal that it stopped (the channel closed, or the consumer was cancelled). */
    const consume = Effect.gen(function*() {
      const channel = yield* Effect.acquireRelease(
        attempt("open a channel", () => options.connection.createConfirmChannel()),
        (channel) => Effect.ignore(attempt("close the channel", () => channel.close()))
      )
      const stopped = yield* Deferred.make<void>()
      // a channel error closes the channel, and its unacknowledged messages go back to the queue
      channel.on("error", () => {})
      channel.on("close", () => Deferred.unsafeDone(stopped, Exit.void))
      yield* attempt("set the prefetch", () => channel.prefetch(options.concurrency ?? defaults.concurrency))
      yield* assertQueues(channel, queue)
      const handle = yield* worker.consumer
      const { consumerTag } = yield* attempt(`consume "${queue}"`, () =>
        channel.consume(queue, (message) => {
          if (message === null) Deferred.unsafeDone(stopped, Exit.void) // cancelled by RabbitMQ (the queue was deleted)
          else handle({ channel, message })
        }, { noAck: false }))
      // on close: no new deliveries, then the jobs in hand finish (finalizers run in reverse order)
      yield* Effect.addFinalizer(() => Effect.ignore(attempt("cancel the consumer", () => channel.cancel(consumerTag))))
      return stopped
    })

    const replaced = Effect.logWarning("cachefx: the worker's channel stopped; opening another")
    const session = Effect.scoped(Effect.flatMap(consume, Deferred.await)).pipe(
      Effect.zipRight(replaced),
      Effect.catchAll((error) =>
        Effect.logWarning("cachefx: the worker could not open a channel; trying again in 1 second", error).pipe(
          Effect.zipRight(Effect.sleep("1 second"))
        )
      )
    )
    // the first channel opens with the layer (a broker that is down fails it); then each one that stops is replaced
    const first = yield* Scope.fork(yield* Effect.scope, ExecutionStrategy.sequential)
    const stopped = yield* Scope.extend(consume, first)
    yield* Effect.forkScoped(
      Deferred.await(stopped).pipe(
        Effect.ensuring(Scope.close(first, Exit.void)),
        Effect.zipRight(replaced),
        Effect.zipRight(Effect.forever(session))
      )
    )
  })
}

/** @internal */
export const layerConfig = BrokerJob.workerLayerConfig<RabbitMQWorker.ConfigOptions, RabbitMQWorker.Options, BrokerJob.BrokerError>({
  make,
  check,
  connect: connectTo
})
