import { BrokerJob, InvalidationEngine } from "@cachefx/core"
import type * as amqp from "amqplib"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as FiberSet from "effect/FiberSet"
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

/** Runs a received job with this worker's engine (see `BrokerJob.run` for what is retried). */
const runJob = (engine: InvalidationEngine.Service, received: unknown) =>
  Effect.provideService(BrokerJob.run(received), InvalidationEngine.InvalidationEngine, engine)

/** @internal */
export const check = (options: Omit<RabbitMQWorker.Options, "connection">) =>
  BrokerJob.requireWhole("RabbitMQWorker", { prefetch: [options.prefetch, 1], attempts: [options.attempts, 1] })

/** @internal */
export const make = (options: RabbitMQWorker.Options) => {
  check(options)
  return Effect.gen(function*() {
    const engine = yield* InvalidationEngine.InvalidationEngine
    const queue = options.queue ?? defaults.queue
    const attempts = options.attempts ?? 5
    const backoff = Duration.toMillis(options.backoff ?? "1 second")
    const delayOf = (attempt: number) =>
      Math.round(backoff * 2 ** (attempt - 1))

    const settle = (channel: amqp.ConfirmChannel, message: amqp.Message, failure: BrokerJob.JobFailure, tries: number) => {
      const annotations = { queue, attempt: tries, final: !failure.retry }
      if (!failure.retry || tries >= attempts) {
        return publish(channel, deadLetterQueue(queue), message.content, {
          headers: { [headers.attempt]: tries, [headers.reason]: failure.reason, [headers.failedAt]: Date.now() }
        }).pipe(
          Effect.zipRight(Effect.logWarning(`cachefx: invalidation job dead-lettered: ${failure.reason}`)),
          Effect.annotateLogs(annotations)
        )
      }
      const delay = delayOf(tries)
      return assertRetryQueue(channel, queue, delay).pipe(
        Effect.zipRight(
          publish(channel, retryQueue(queue, delay), message.content, { headers: { [headers.attempt]: tries + 1 } })
        ),
        Effect.zipRight(Effect.logWarning(`cachefx: invalidation job failed, retried in ${delay} ms: ${failure.reason}`)),
        Effect.annotateLogs(annotations)
      )
    }

    // the message is acknowledged only once it is done, or its retry or dead letter is confirmed
    const handle = (channel: amqp.ConfirmChannel, message: amqp.ConsumeMessage) => {
      const tries = message.properties.headers?.[headers.attempt] as unknown
      return runJob(engine, message.content.toString()).pipe(
        Effect.catchAll((failure) => settle(channel, message, failure, Predicate.isNumber(tries) ? tries : 1)),
        Effect.zipRight(Effect.try(() => channel.ack(message))),
        Effect.catchAll((error) =>
          Effect.logWarning("cachefx: a job stays unacknowledged; RabbitMQ delivers it again", error)
        )
      )
    }

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
      yield* attempt("set the prefetch", () => channel.prefetch(options.prefetch ?? 8))
      yield* assertQueues(channel, queue)
      const running = yield* FiberSet.make()
      const runFork = yield* FiberSet.runtime(running)<never>()
      const { consumerTag } = yield* attempt(`consume "${queue}"`, () =>
        channel.consume(queue, (message) => {
          if (message === null) Deferred.unsafeDone(stopped, Exit.void) // cancelled by RabbitMQ (the queue was deleted)
          else runFork(handle(channel, message))
        }, { noAck: false }))
      // on close: no new deliveries, then the jobs in hand finish (finalizers run in reverse order)
      yield* Effect.addFinalizer(() => FiberSet.awaitEmpty(running))
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
