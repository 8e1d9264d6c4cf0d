import { BrokerJob } from "@cachefx/core"
import * as amqp from "amqplib"
import { randomUUID } from "node:crypto"
import * as Effect from "effect/Effect"
import * as Predicate from "effect/Predicate"
import * as Runtime from "effect/Runtime"
import type * as RabbitMQDispatcher from "../RabbitMQDispatcher.js"
import { assertQueues, attempt, deadLetterQueue, defaults, headers, publish } from "./topology.js"

/** @internal */
export const check = (options: Omit<RabbitMQDispatcher.Options, "connection">) =>
  BrokerJob.requireWhole("RabbitMQDispatcher", { rowsPerJob: [options.rowsPerJob, 1] })

/** @internal */
export const make = (options: RabbitMQDispatcher.Options) => {
  check(options)
  return Effect.gen(function*() {
    // one confirm channel, opened again after it closes (a channel error, a lost connection)
    let channel: Promise<amqp.ConfirmChannel> | undefined
    const declared = new Set<string>()
    const open = () => {
      const opening = options.connection.createConfirmChannel().then((opened) => {
        opened.on("error", () => {}) // the close that follows is what counts
        opened.on("close", () => {
          channel = undefined
          declared.clear()
        })
        return opened
      })
      opening.catch(() => (channel = undefined))
      return opening
    }
    const current = attempt("open a channel", () => (channel ??= open()))
    const timeout = options.timeout ?? defaults.timeout
    // a broker that does not answer must not hold the scope's closing
    yield* Effect.addFinalizer(() =>
      attempt("close the channel", async () => (await channel)?.close()).pipe(
        Effect.interruptible,
        Effect.timeout(timeout),
        Effect.ignore
      )
    )

    const send = (queue: string, texts: ReadonlyArray<string>) =>
      Effect.flatMap(current, (channel) =>
        (declared.has(queue) ? Effect.void : Effect.tap(assertQueues(channel, queue), () => declared.add(queue))).pipe(
          Effect.zipRight(Effect.forEach(texts, (text) =>
            publish(channel, queue, Buffer.from(text), {
              messageId: randomUUID(),
              headers: { [headers.attempt]: 1 }
            }), { discard: true }))
        ))

    return BrokerJob.dispatcher({
      name: options.name ?? "rabbitmq",
      rowsPerJob: options.rowsPerJob ?? defaults.rowsPerJob,
      timeout,
      send: (queue = options.queue ?? defaults.queue, jobs) =>
        Effect.runPromise(send(queue, jobs.map(({ text }) => text)))
    })
  })
}

/** @internal */
export const connect = (url: string | amqp.Options.Connect, socketOptions: amqp.SocketOptions = {}) =>
  Effect.flatMap(Effect.runtime<never>(), (runtime) =>
    Effect.acquireRelease(
      // without noDelay, a confirm waits for Nagle's algorithm whenever the socket also carries deliveries
      attempt("connect", () => amqp.connect(url, { noDelay: true, ...socketOptions })),
      (connection) => Effect.ignore(attempt("close the connection", () => connection.close()))
    ).pipe(
      // unhandled, the error event of a lost connection would crash the process
      Effect.tap((connection) =>
        connection.on("error", (error) =>
          Runtime.runFork(runtime)(Effect.logWarning("cachefx: RabbitMQ connection error", error))))
    ))

const headerOf = (message: amqp.Message, name: string) => message.properties.headers?.[name] as unknown

/** @internal */
export const deadLetters = (connection: RabbitMQDispatcher.Connection, options: RabbitMQDispatcher.DeadLetterOptions = {}) => {
  const count = BrokerJob.deadLetterCount(options, "RabbitMQDispatcher.deadLetters")
  const queue = deadLetterQueue(options.queue ?? defaults.queue)
  // every message is taken unacknowledged; closing the channel puts them all back
  return Effect.acquireUseRelease(
    attempt("open a channel", () => connection.createChannel()),
    (channel) =>
      Effect.gen(function*() {
        channel.on("error", () => {}) // the failed call reports it; unheard, amqplib would close the connection
        yield* attempt(`declare "${queue}"`, () => channel.assertQueue(queue, { durable: true }))
        const letters: Array<BrokerJob.DeadLetter> = []
        while (true) {
          const message = yield* attempt(`read "${queue}"`, () => channel.get(queue))
          // the queue holds the oldest first
          if (message === false) return letters.reverse().slice(0, count)
          const reason = headerOf(message, headers.reason)
          const deliveries = headerOf(message, headers.attempt)
          const failedAt = headerOf(message, headers.failedAt)
          letters.push(BrokerJob.deadLetter({
            id: message.properties.messageId ?? String(message.fields.deliveryTag),
            text: message.content.toString(),
            reason: Predicate.isString(reason) ? reason : "unknown",
            deliveries: Predicate.isNumber(deliveries) ? deliveries : 0,
            failedAt: new Date(Predicate.isNumber(failedAt) ? failedAt : 0)
          }))
        }
      }),
    (channel) => Effect.ignore(attempt("close the channel", () => channel.close()))
  )
}

/** The connection a `layerConfig` opens to the `url` it reads (see `connect`). @internal */
export const connectTo = BrokerJob.connectAs("connection", (url: string) => connect(url))

/** @internal */
export const layerConfig = BrokerJob.dispatcherLayerConfig<
  RabbitMQDispatcher.ConfigOptions,
  RabbitMQDispatcher.Options,
  "rabbitmq",
  BrokerJob.BrokerError
>("rabbitmq", { make, check, connect: connectTo })
