import type * as amqp from "amqplib"
import * as Effect from "effect/Effect"
import { BrokerJob } from "@cachefx/core"

/** @internal */
export const defaults = {
  ...BrokerJob.defaults,
  rowsPerJob: 500
} as const

/** @internal */
export const headers = {
  attempt: "x-cachefx-attempt",
  reason: "x-cachefx-reason",
  failedAt: "x-cachefx-failed-at"
} as const

/** @internal */
export const attempt = <A>(operation: string, f: () => Promise<A>): Effect.Effect<A, BrokerJob.BrokerError> =>
  BrokerJob.attempt("RabbitMQ", operation, f)

/** @internal */
export const deadLetterQueue = (queue: string) => `${queue}.dead`

/**
 * The queue a retry waits `delay` ms in: its messages expire back onto `queue`. One queue
 * per delay, so none waits behind a longer one.
 * @internal
 */
export const retryQueue = (queue: string, delay: number) => `${queue}.retry.${delay}`

/** Declares the durable queue and its dead-letter queue. @internal */
export const assertQueues = (channel: amqp.Channel, queue: string) =>
  attempt(`declare the queue "${queue}"`, async () => {
    await channel.assertQueue(queue, { durable: true })
    await channel.assertQueue(deadLetterQueue(queue), { durable: true })
  })

/** @internal */
export const assertRetryQueue = (channel: amqp.Channel, queue: string, delay: number) =>
  attempt(`declare the retry queue of "${queue}"`, () =>
    channel.assertQueue(retryQueue(queue, delay), {
      durable: true,
      messageTtl: delay,
      deadLetterExchange: "",
      deadLetterRoutingKey: queue
    }))

/** Publishes a persistent message and waits for the broker's confirm. @internal */
export const publish = (channel: amqp.ConfirmChannel, queue: string, content: Buffer, options: amqp.Options.Publish) =>
  Effect.async<void, BrokerJob.BrokerError>((resume) => {
    const fail = (cause: unknown) =>
      resume(Effect.fail(BrokerJob.failure("RabbitMQ", `publish to "${queue}"`, cause)))
    try {
      channel.sendToQueue(queue, content, { persistent: true, contentType: "application/json", ...options }, (error) =>
        error ? fail(error) : resume(Effect.void))
    } catch (error) {
      fail(error)
    }
  })

