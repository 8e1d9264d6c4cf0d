import { BrokerJob, Dispatcher } from "@cachefx/core"
import * as amqp from "amqplib"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Runtime from "effect/Runtime"
import * as Schema from "effect/Schema"
import type * as RabbitMQDispatcher from "../RabbitMQDispatcher.js"
import { assertQueues, attempt, deadLetterQueue, defaults, headers, publish } from "./topology.js"

/** What a rule may set in `dispatcherConfig`. */
const RuleConfig = Schema.Struct({
  queue: Schema.optional(Schema.String),
  rowsPerJob: Schema.optional(Schema.Int.pipe(Schema.positive()))
})

/** A job on the wire: the JSON of the Schema-encoded job. */
const encode = (job: Dispatcher.Job) => Buffer.from(JSON.stringify(Schema.encodeSync(Dispatcher.Job)(job)))

/** @internal */
export const check = (options: Omit<RabbitMQDispatcher.Options<string>, "connection">) =>
  BrokerJob.requireWhole("RabbitMQDispatcher", { rowsPerJob: [options.rowsPerJob, 1] })

/** @internal */
export const make = <N extends string>(options: RabbitMQDispatcher.Options<N>) => {
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
    yield* Effect.addFinalizer(() =>
      Effect.ignore(attempt("close the channel", async () => (await channel)?.close()))
    )

    const send = (queue: string, jobs: ReadonlyArray<Dispatcher.Job>) =>
      Effect.flatMap(current, (channel) =>
        (declared.has(queue) ? Effect.void : Effect.tap(assertQueues(channel, queue), () => declared.add(queue))).pipe(
          Effect.zipRight(Effect.forEach(jobs, (job) => publish(channel, queue, encode(job), {
            headers: { [headers.attempt]: 1 }
          }), { discard: true }))
        ))

    const dispatcher: Dispatcher.Dispatcher = {
      name: options.name ?? "rabbitmq",
      dispatch: ({ config, job, run }) =>
        Schema.decodeUnknown(RuleConfig)(config).pipe(
          Effect.flatMap((rule) =>
            send(
              rule.queue ?? options.queue ?? defaults.queue,
              BrokerJob.fanOut(job, rule.rowsPerJob ?? options.rowsPerJob ?? defaults.rowsPerJob)
            )
          ),
          Effect.catchAllCause((cause) =>
            Effect.logWarning("cachefx: RabbitMQ did not take the job; running it in place", cause).pipe(
              Effect.annotateLogs({ cache: job.cache, rule: job.rule }),
              Effect.zipRight(run)
            )
          )
        )
    }
    return dispatcher
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
  const queue = deadLetterQueue(options.queue ?? defaults.queue)
  // every message is taken unacknowledged; closing the channel puts them all back
  return Effect.acquireUseRelease(
    attempt("open a channel", () => connection.createChannel()),
    (channel) =>
      Effect.gen(function*() {
        channel.on("error", () => {}) // the failed call reports it; unheard, amqplib would close the connection
        yield* attempt(`declare "${queue}"`, () => channel.assertQueue(queue, { durable: true }))
        const letters: Array<RabbitMQDispatcher.DeadLetter> = []
        while (true) {
          const message = yield* attempt(`read "${queue}"`, () => channel.get(queue))
          if (message === false) return letters
          const content = message.content.toString()
          const reason = headerOf(message, headers.reason)
          const attempts = headerOf(message, headers.attempt)
          letters.push({
            job: Option.getRight(Schema.decodeUnknownEither(Schema.parseJson(Dispatcher.Job))(content)),
            content,
            reason: Predicate.isString(reason) ? reason : "unknown",
            attempts: Predicate.isNumber(attempts) ? attempts : 0
          })
        }
      }),
    (channel) => Effect.ignore(attempt("close the channel", () => channel.close()))
  )
}
