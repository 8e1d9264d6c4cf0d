/**
 * What the broker packages (`@cachefx/bullmq`, `@cachefx/redis`'s streams,
 * `@cachefx/pg-boss`, `@cachefx/rabbitmq`) share: how an invalidation job crosses the
 * wire, how a partition-heavy job fans out into several, the dispatcher that sends
 * jobs, the worker that runs them (it tells a failure worth retrying from one that is
 * not, and has the broker acknowledge, retry or dead-letter each job), what a
 * dead-lettered job looks like, one error for a broker that fails, and the shapes of
 * every broker's `make`, `layer` and `layerConfig`.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import type * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import { CacheDefinitionError } from "./CacheError.js"
import * as Dispatcher from "./Dispatcher.js"
import * as internal from "./internal/brokerWorker.js"
import * as config from "./internal/config.js"
import * as InvalidationEngine from "./InvalidationEngine.js"

/**
 * A job on the wire: the JSON text of the Schema-encoded `Dispatcher.Job`.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { BrokerJob, InvalidationEvent } from "@cachefx/core"
 *
 * const text = Schema.encodeSync(BrokerJob.Wire)({
 *   cache: "users",
 *   rule: "users(id=id)",
 *   event: InvalidationEvent.make({ table: "users", operation: "delete", rows: [{ id: 1 }] })
 * })
 * ```
 *
 * @since 0.1.0
 * @category schemas
 */
export const Wire: Schema.Schema<Dispatcher.Job, string> = Schema.parseJson(Dispatcher.Job)

/**
 * Splits a job whose event has more than `rowsPerJob` rows into jobs of at most
 * `rowsPerJob` rows each (the rows before the write travel with their rows), so one
 * partition-heavy write becomes several jobs that workers run in parallel and retry
 * one by one. A job with fewer rows, or none, is returned as it is.
 *
 * @example
 * ```ts
 * import { BrokerJob, InvalidationEvent } from "@cachefx/core"
 *
 * const jobs = BrokerJob.fanOut({
 *   cache: "posts",
 *   rule: "posts(author=author_id)",
 *   event: InvalidationEvent.make({ table: "posts", operation: "delete", rows: [{ author_id: 1 }, { author_id: 2 }] })
 * }, 1)
 * console.log(jobs.length) // 2
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const fanOut = (job: Dispatcher.Job, rowsPerJob: number): ReadonlyArray<Dispatcher.Job> => {
  const { event } = job
  const before = Option.getOrElse(event.before, (): ReadonlyArray<unknown> => [])
  const count = Math.max(event.rows.length, before.length)
  if (!(rowsPerJob >= 1) || count <= rowsPerJob) {
    return [job]
  }
  const size = Math.floor(rowsPerJob)
  return Array.from({ length: Math.ceil(count / size) }, (_, i) => ({
    ...job,
    event: {
      ...event,
      rows: event.rows.slice(i * size, (i + 1) * size),
      before: Option.map(event.before, (rows) => rows.slice(i * size, (i + 1) * size))
    }
  }))
}

/**
 * Why a worker could not run a job. `retry` is false when running it again cannot help
 * (it does not decode, or it names a cached value or rule the worker's engine does not
 * have): such a job is dead-lettered at once.
 *
 * @example
 * ```ts
 * import { BrokerJob } from "@cachefx/core"
 *
 * const failure = new BrokerJob.JobFailure({ reason: "Redis is down", retry: true })
 * console.log(failure.message) // "Redis is down"
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class JobFailure extends Data.TaggedError("JobFailure")<{
  readonly reason: string
  readonly retry: boolean
}> {
  override get message(): string {
    return this.reason
  }
}

/** A received job: JSON text, or the object a broker that carries JSON gives. */
const Received = Schema.Union(Wire, Dispatcher.Job)

/**
 * Runs a job received from a broker (its JSON text, or the decoded JSON object for
 * brokers that carry JSON) once with the engine in context.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { BrokerJob } from "@cachefx/core"
 *
 * const onMessage = (text: string) =>
 *   BrokerJob.run(text).pipe(Effect.catchTag("JobFailure", (failure) => Effect.logWarning(failure.reason)))
 * ```
 *
 * @since 0.1.0
 * @category running
 */
export const run = (text: unknown): Effect.Effect<void, JobFailure, InvalidationEngine.InvalidationEngine> =>
  Schema.decodeUnknown(Received)(text).pipe(
    Effect.mapError((error) =>
      new JobFailure({ reason: `the job does not decode: ${ParseResult.TreeFormatter.formatErrorSync(error)}`, retry: false })
    ),
    Effect.flatMap((job) =>
      InvalidationEngine.run(job).pipe(
        Effect.catchAllCause((cause) =>
          Effect.fail(
            Option.match(Cause.failureOption(cause), {
              onNone: () => {
                const defect = Cause.squash(cause)
                return new JobFailure({ reason: defect instanceof Error ? defect.message : String(defect), retry: true })
              },
              onSome: (error) =>
                new JobFailure({
                  reason: error.message,
                  retry: error._tag !== "InvalidationRuleError"
                })
            })
          )
        )
      )
    )
  )

/**
 * What a worker made of a job it ran: `Done` (the broker acknowledges it), `Retry` (the
 * broker runs it again; `delay` is set when the worker sets the backoff itself) or
 * `Dead` (the broker dead-letters it: no retry can mend it, or it failed its last
 * attempt).
 *
 * @example
 * ```ts
 * import type { BrokerJob } from "@cachefx/core"
 *
 * const describe = (outcome: BrokerJob.Outcome): string =>
 *   outcome._tag === "Done" ? "done" : outcome._tag === "Retry" ? `retry: ${outcome.reason}` : `dead: ${outcome.reason}`
 * ```
 *
 * @since 0.3.0
 * @category models
 */
export type Outcome = Data.TaggedEnum<{
  Done: {}
  Retry: { readonly reason: string; readonly delivery: number; readonly delay: Option.Option<Duration.Duration> }
  Dead: { readonly reason: string; readonly deliveries: number }
}>

/**
 * The members of `Outcome`, by tag.
 *
 * @example
 * ```ts
 * import type { BrokerJob } from "@cachefx/core"
 *
 * const line = (dead: BrokerJob.Outcome.Dead) => `dead after ${dead.deliveries} deliveries: ${dead.reason}`
 * ```
 *
 * @since 0.3.0
 * @category models
 */
export declare namespace Outcome {
  /**
   * @example
   * ```ts
   * import type { BrokerJob } from "@cachefx/core"
   *
   * const when = (retry: BrokerJob.Outcome.Retry) => retry.delay
   * ```
   *
   * @since 0.3.0
   * @category models
   */
  export type Retry = Data.TaggedEnum.Value<Outcome, "Retry">
  /**
   * @example
   * ```ts
   * import type { BrokerJob } from "@cachefx/core"
   *
   * const reason = (dead: BrokerJob.Outcome.Dead) => dead.reason
   * ```
   *
   * @since 0.3.0
   * @category models
   */
  export type Dead = Data.TaggedEnum.Value<Outcome, "Dead">
}

/**
 * What `runner` needs to know of a broker's messages: the job a message carries, which
 * delivery of it this is and how many it may have, and (when the worker schedules
 * retries itself) the `backoff`. `attempts` is the worker's own option where the worker
 * counts deliveries (RabbitMQ, Redis Streams), or the one the job was sent with where the
 * broker does (BullMQ, pg-boss): either way a job is dead-lettered on its last attempt.
 *
 * @example
 * ```ts
 * import type { BrokerJob } from "@cachefx/core"
 *
 * interface Message { readonly id: string; readonly body: string; readonly tries: number }
 *
 * const options: BrokerJob.RunnerOptions<Message> = {
 *   broker: "my broker",
 *   job: (message) => message.body,
 *   delivery: (message) => message.tries,
 *   attempts: () => 5,
 *   backoff: "1 second",
 *   annotations: (message) => ({ id: message.id })
 * }
 * ```
 *
 * @since 0.3.0
 * @category models
 */
export interface RunnerOptions<M> {
  /** The broker, as the logs name it. */
  readonly broker: string
  /** The job a message carries: its JSON text, or the object a broker that carries JSON gives. */
  readonly job: (message: M) => unknown
  /** Which delivery of its job a message is, counting from 1. */
  readonly delivery: (message: M) => number
  /** How many deliveries its job may have in all. */
  readonly attempts: (message: M) => number
  /** Where the worker schedules retries: the first retry delay, doubled at each retry (`Outcome.Retry.delay`). */
  readonly backoff?: Duration.DurationInput | undefined
  /** The log annotations of a message (its queue, its id). */
  readonly annotations?: ((message: M) => Readonly<Record<string, unknown>>) | undefined
  /** Runs beside a job while it runs (a heartbeat that keeps it from looking abandoned), interrupted when it ends. */
  readonly whileRunning?: ((message: M) => Effect.Effect<unknown>) | undefined
}

/**
 * Makes, with the engine of its context, the function that runs a message's job (`run`)
 * and gives its `Outcome`: a failure is logged, and dead-lettered when no retry can mend
 * it or it was the job's last attempt. It never fails. For a broker client that records
 * outcomes itself (BullMQ's `Worker` retries a job whose processor throws); otherwise
 * `worker` does that part too.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { BrokerJob } from "@cachefx/core"
 *
 * const processor = Effect.map(
 *   BrokerJob.runner({ broker: "my broker", job: (text: string) => text, delivery: () => 1, attempts: () => 1 }),
 *   (outcomeOf) => (text: string) => Effect.runPromise(outcomeOf(text))
 * )
 * ```
 *
 * @since 0.3.0
 * @category running
 */
export const runner: <M>(
  options: RunnerOptions<M>
) => Effect.Effect<(message: M) => Effect.Effect<Outcome>, never, InvalidationEngine.InvalidationEngine> = internal
  .runner(run)

/**
 * What `worker` needs besides `RunnerOptions`: how the broker acknowledges jobs done
 * (several at once when the worker runs batches), retries a job and dead-letters one.
 * A failure of these is logged, and the job stays with the broker, which delivers it
 * again.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import type { BrokerJob } from "@cachefx/core"
 *
 * interface Message { readonly id: string; readonly body: string }
 *
 * const options: BrokerJob.WorkerOptions<Message> = {
 *   broker: "my broker",
 *   job: (message) => message.body,
 *   delivery: () => 1,
 *   attempts: () => 1,
 *   ack: (messages) => Effect.log(`done: ${messages.map((message) => message.id)}`),
 *   retry: (message, retry) => Effect.log(`again: ${message.id} (${retry.reason})`),
 *   deadLetter: (message, dead) => Effect.log(`dead: ${message.id} (${dead.reason})`)
 * }
 * ```
 *
 * @since 0.3.0
 * @category models
 */
export interface WorkerOptions<M> extends RunnerOptions<M> {
  readonly ack: (messages: ReadonlyArray<M>) => Effect.Effect<void, BrokerError>
  readonly retry: (message: M, retry: Outcome.Retry) => Effect.Effect<void, BrokerError>
  readonly deadLetter: (message: M, dead: Outcome.Dead) => Effect.Effect<void, BrokerError>
}

/**
 * How `Worker.poll` takes jobs from a broker that is asked for them: `receive` gives a
 * batch (its size bounds how many jobs run at once); the jobs of a batch are acknowledged
 * each once done (`"each"`, the default) or together once all are (`"batch"`: one call
 * for the batch); `idle` is the pause after an empty batch (none for a blocking read);
 * `retryAfter` the pause after a `receive` that failed. A batch once received is run and
 * recorded even when the worker is closing; `interruptReceive` lets closing interrupt a
 * long blocking read in flight instead (whatever it took is delivered again later).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import type { BrokerJob } from "@cachefx/core"
 *
 * const poll: BrokerJob.PollOptions<string> = {
 *   receive: Effect.succeed([]),
 *   acknowledge: "batch",
 *   idle: "500 millis",
 *   retryAfter: "1 second"
 * }
 * ```
 *
 * @since 0.3.0
 * @category models
 */
export interface PollOptions<M> {
  readonly receive: Effect.Effect<ReadonlyArray<M>, BrokerError>
  readonly acknowledge?: "each" | "batch" | undefined
  readonly idle?: Duration.DurationInput | undefined
  readonly retryAfter: Duration.DurationInput
  readonly interruptReceive?: boolean | undefined
}

/**
 * A broker's worker, given its options (`worker`): `outcome` runs a message's job
 * (`runner`); `handle` also has the broker record the outcome; `handleBatch` runs
 * messages at once and acknowledges those done in one call; `poll` takes batches until
 * the scope closes (then the batch in hand finishes); `consumer` is, for a client that
 * pushes messages, the callback that runs each in a fiber the scope waits for when it
 * closes. None of them fails: what the broker does not record, it delivers again.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import type { BrokerJob } from "@cachefx/core"
 *
 * const serve = (worker: BrokerJob.Worker<string>, receive: Effect.Effect<ReadonlyArray<string>, BrokerJob.BrokerError>) =>
 *   worker.poll({ receive, retryAfter: "1 second" })
 * ```
 *
 * @since 0.3.0
 * @category models
 */
export interface Worker<M> {
  readonly outcome: (message: M) => Effect.Effect<Outcome>
  readonly handle: (message: M) => Effect.Effect<void>
  readonly handleBatch: (messages: ReadonlyArray<M>) => Effect.Effect<void>
  readonly poll: (options: PollOptions<M>) => Effect.Effect<void, never, Scope.Scope>
  readonly consumer: Effect.Effect<(message: M) => void, never, Scope.Scope>
}

/**
 * The worker skeleton every broker package builds on: a message's job is run with the
 * engine of the context (`run`), its outcome decided (`runner`) and recorded through
 * the broker's `ack`, `retry` or `deadLetter`; a broker package supplies only those and
 * how it receives (`Worker.poll` or `Worker.consumer`).
 *
 * @example
 * ```ts
 * import { Effect, Queue } from "effect"
 * import { BrokerJob } from "@cachefx/core"
 *
 * // a broker in memory: a queue of job texts, a list of dead letters
 * const serve = (queue: Queue.Queue<string>, dead: Array<string>) =>
 *   Effect.gen(function*() {
 *     const worker = yield* BrokerJob.worker<string>({
 *       broker: "memory",
 *       job: (text) => text,
 *       delivery: () => 1,
 *       attempts: () => 1,
 *       ack: () => Effect.void,
 *       retry: (text) => Queue.offer(queue, text),
 *       deadLetter: (_text, outcome) => Effect.sync(() => dead.push(outcome.reason))
 *     })
 *     yield* worker.poll({ receive: Effect.map(Queue.take(queue), (text) => [text]), retryAfter: "1 second" })
 *   })
 * ```
 *
 * @since 0.3.0
 * @category running
 */
export const worker: <M>(
  options: WorkerOptions<M>
) => Effect.Effect<Worker<M>, never, InvalidationEngine.InvalidationEngine> = internal.worker(run)

/**
 * A job a broker gave up on: its broker id, the job (none when it does not decode) and
 * its text, why it was given up, how many times it was delivered, and when.
 *
 * @example
 * ```ts
 * import type { BrokerJob } from "@cachefx/core"
 *
 * const line = (dead: BrokerJob.DeadLetter) => `${dead.id} after ${dead.deliveries}: ${dead.reason}`
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface DeadLetter {
  readonly id: string
  readonly job: Option.Option<Dispatcher.Job>
  readonly text: string
  readonly reason: string
  readonly deliveries: number
  readonly failedAt: Date
}

/**
 * Makes a `DeadLetter`, decoding its job where it decodes.
 *
 * @example
 * ```ts
 * import { BrokerJob } from "@cachefx/core"
 *
 * const dead = BrokerJob.deadLetter({ id: "7", text: "{}", reason: "gone", deliveries: 1, failedAt: new Date() })
 * console.log(dead.job._tag) // "None"
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const deadLetter = (fields: Omit<DeadLetter, "job">): DeadLetter => ({
  ...fields,
  job: Schema.decodeUnknownOption(Wire)(fields.text)
})

/**
 * What every broker package's `deadLetters` takes after its client: the queue whose
 * dead letters to read (the stream, with Redis Streams; default the broker's default
 * queue) and how many to read at most, newest first (default 100). A broker may add
 * options of its own (BullMQ's key `prefix`, pg-boss's `schema`).
 *
 * @example
 * ```ts
 * import type { BrokerJob } from "@cachefx/core"
 *
 * const options: BrokerJob.DeadLetterOptions = { queue: "users", count: 10 }
 * ```
 *
 * @since 0.3.0
 * @category models
 */
export interface DeadLetterOptions {
  readonly queue?: string | undefined
  readonly count?: number | undefined
}

/**
 * The `deadLetters` of every broker package: given the client the application already
 * has (never closed by it) and `DeadLetterOptions`, it reads the dead letters of a queue
 * without taking them, newest first.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import type { BrokerJob } from "@cachefx/core"
 *
 * declare const deadLetters: BrokerJob.ReadDeadLetters<{ readonly url: string }>
 * const report = Effect.map(deadLetters({ url: "broker://127.0.0.1" }, { queue: "users", count: 10 }), (letters) =>
 *   letters.map((letter) => `${letter.id} after ${letter.deliveries}: ${letter.reason}`))
 * ```
 *
 * @since 0.3.0
 * @category inspecting
 */
export interface ReadDeadLetters<Client, Options extends DeadLetterOptions = DeadLetterOptions> {
  (client: Client, options?: Options): Effect.Effect<ReadonlyArray<DeadLetter>, BrokerError>
}

/**
 * How many dead letters a `deadLetters` reads: its `count`, or 100. A `count` that is not
 * a whole number of at least 1 throws a `CacheDefinitionError` naming `subject`.
 *
 * @example
 * ```ts
 * import { BrokerJob } from "@cachefx/core"
 *
 * console.log(BrokerJob.deadLetterCount({ queue: "users" })) // 100
 * ```
 *
 * @since 0.3.0
 * @category inspecting
 */
export const deadLetterCount = (options: DeadLetterOptions, subject = "deadLetters"): number => {
  requireWhole(subject, { count: [options.count, 1] })
  return options.count ?? 100
}

/**
 * A broker could not be reached or answered with an error.
 *
 * @example
 * ```ts
 * import { BrokerJob } from "@cachefx/core"
 *
 * const error = new BrokerJob.BrokerError({ operation: "deadLetters", reason: "Connection is closed." })
 * console.log(error.message) // "deadLetters: Connection is closed."
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class BrokerError extends Data.TaggedError("BrokerError")<{
  readonly operation: string
  readonly reason: string
}> {
  override get message(): string {
    return `${this.operation}: ${this.reason}`
  }
}

/**
 * The `BrokerError` of a call to a broker's client that failed: its `operation` names
 * the broker (`"RabbitMQ: publish to \"users\""`), its `reason` is the client's message.
 *
 * @example
 * ```ts
 * import { BrokerJob } from "@cachefx/core"
 *
 * const error = BrokerJob.failure("RabbitMQ", "connect", new Error("ECONNREFUSED"))
 * console.log(error.message) // "RabbitMQ: connect: ECONNREFUSED"
 * ```
 *
 * @since 0.3.0
 * @category errors
 */
export const failure = (broker: string, operation: string, cause: unknown): BrokerError =>
  new BrokerError({ operation: `${broker}: ${operation}`, reason: cause instanceof Error ? cause.message : String(cause) })

/**
 * Runs a call to a broker's client, failing with its `failure` when the promise rejects.
 *
 * @example
 * ```ts
 * import { BrokerJob } from "@cachefx/core"
 *
 * const ping = BrokerJob.attempt("my broker", "ping", () => Promise.resolve("PONG"))
 * ```
 *
 * @since 0.3.0
 * @category errors
 */
export const attempt = <A>(broker: string, operation: string, f: () => Promise<A>): Effect.Effect<A, BrokerError> =>
  Effect.tryPromise({ try: f, catch: (cause) => failure(broker, operation, cause) })

/**
 * Options of `dispatcher`: its name, the fan-out threshold (a rule's
 * `dispatcherConfig.rowsPerJob` overrides it), how long to wait for the broker, and how
 * to hand a batch of encoded jobs to it (on the queue the rule's
 * `dispatcherConfig.queue` names, none when it names none), all or none.
 *
 * @example
 * ```ts
 * import type { BrokerJob } from "@cachefx/core"
 *
 * const options: BrokerJob.DispatcherOptions = { name: "log", rowsPerJob: 100, timeout: "2 seconds", send: async () => {} }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface DispatcherOptions {
  readonly name: string
  readonly rowsPerJob: number
  readonly timeout: Duration.DurationInput
  readonly send: (
    queue: string | undefined,
    jobs: ReadonlyArray<{ readonly job: Dispatcher.Job; readonly text: string }>
  ) => Promise<unknown>
}

/**
 * A dispatcher that fans each job out (`fanOut`), encodes the jobs and sends them. A
 * job that cannot be encoded or sent within `timeout` runs in place (with its retries)
 * and a warning is logged, so no invalidation is lost, and no write call hangs, while
 * the broker is down. (A send that times out may still land later: the job then runs
 * twice, which invalidation tolerates.)
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { BrokerJob, Dispatcher } from "@cachefx/core"
 *
 * const sent: Array<string> = []
 * const layerList = Layer.succeed(Dispatcher.tag("list"), BrokerJob.dispatcher({
 *   name: "list",
 *   rowsPerJob: 100,
 *   timeout: "2 seconds",
 *   send: async (_queue, jobs) => sent.push(...jobs.map((entry) => entry.text))
 * }))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const dispatcher = (options: DispatcherOptions): Dispatcher.Dispatcher => ({
  name: options.name,
  durable: true,
  dispatch: ({ config, job, run }) => {
    const rowsPerJob = typeof config["rowsPerJob"] === "number" ? config["rowsPerJob"] : options.rowsPerJob
    const queue = typeof config["queue"] === "string" ? config["queue"] : undefined
    return Effect.forEach(fanOut(job, rowsPerJob), (job) => Effect.map(Schema.encode(Wire)(job), (text) => ({ job, text }))).pipe(
      Effect.flatMap((jobs) =>
        Effect.tryPromise({
          try: () => options.send(queue, jobs),
          catch: (error) => error instanceof Error ? error.message : String(error)
        }).pipe(
          // the engine dispatches uninterruptibly: without this, the timeout would wait for the promise
          Effect.interruptible,
          Effect.timeoutFail({ duration: options.timeout, onTimeout: () => `no answer within ${Duration.format(options.timeout)}` })
        )
      ),
      Effect.catchAll((error) =>
        Effect.logWarning(`cachefx: the ${options.name} broker did not take the job (${error}); running it in place`).pipe(
          Effect.annotateLogs({ cache: job.cache, rule: job.rule }),
          Effect.zipRight(run)
        )
      )
    )
  }
})

/**
 * How a broker retries a job, in the words every broker package uses. Where they go
 * depends on who counts the deliveries: the dispatcher's options with BullMQ and
 * pg-boss (the policy travels with each job), the worker's with RabbitMQ and Redis
 * Streams (which retries a job once its visibility timeout passes, so it has no
 * `backoff`).
 *
 * @example
 * ```ts
 * import type { BrokerJob } from "@cachefx/core"
 *
 * const retries: BrokerJob.RetryOptions = { attempts: 8, backoff: "500 millis" }
 * ```
 *
 * @since 0.3.0
 * @category models
 */
export interface RetryOptions {
  /** How many times a job is tried in all before it is dead-lettered. Default 5. */
  readonly attempts?: number | undefined
  /** The first retry delay, doubled at each retry. Default 1 second. */
  readonly backoff?: Duration.DurationInput | undefined
}

/**
 * What every broker package's dispatcher takes besides its client and its queue: the
 * name rules use, the fan-out threshold, and how long it waits for the broker.
 *
 * @example
 * ```ts
 * import type { BrokerJob } from "@cachefx/core"
 *
 * const options: BrokerJob.ProducerOptions<"audit"> = { name: "audit", rowsPerJob: 50, timeout: "1 second" }
 * ```
 *
 * @since 0.3.0
 * @category models
 */
export interface ProducerOptions<N extends string = string> {
  /** The name rules use. Default: the broker's (`"bullmq"`, `"pg-boss"`, `"rabbitmq"`, `"redis-stream"`). */
  readonly name?: N | undefined
  /**
   * An event with more rows than this becomes several jobs of at most this many rows (a
   * rule's `dispatcherConfig.rowsPerJob` overrides it). Default 100 (BullMQ, Redis
   * Streams) or 500 (pg-boss, RabbitMQ).
   */
  readonly rowsPerJob?: number | undefined
  /** How long `dispatch` waits for the broker to take a job before running it in place. Default 2 seconds. */
  readonly timeout?: Duration.DurationInput | undefined
}

/**
 * What every broker package's worker takes besides its client and its queue.
 *
 * @example
 * ```ts
 * import type { BrokerJob } from "@cachefx/core"
 *
 * const options: BrokerJob.ConsumerOptions = { concurrency: 16 }
 * ```
 *
 * @since 0.3.0
 * @category models
 */
export interface ConsumerOptions {
  /** How many jobs the worker takes and runs at once (BullMQ's concurrency, RabbitMQ's prefetch, pg-boss's batch). Default 8. */
  readonly concurrency?: number | undefined
}

/**
 * The defaults every broker package shares: a job is tried `attempts` times in all,
 * retried after `backoff` (doubled at each retry), a dispatcher waits `timeout` for its
 * broker before it runs a job in place, jobs go to `queue` unless a rule names another,
 * and a worker runs `concurrency` jobs at once.
 *
 * @example
 * ```ts
 * import { BrokerJob } from "@cachefx/core"
 *
 * console.log(BrokerJob.defaults.attempts) // 5
 * ```
 *
 * @since 0.3.0
 * @category defaults
 */
export const defaults = {
  attempts: 5,
  backoff: "1 second",
  timeout: "2 seconds",
  queue: "cachefx-invalidation",
  concurrency: 8
} as const

/**
 * Checks numeric options of a broker layer when it is made: each given value must be a
 * whole number of at least its minimum. Throws a `CacheDefinitionError` naming the
 * option.
 *
 * @example
 * ```ts
 * import { BrokerJob } from "@cachefx/core"
 *
 * BrokerJob.requireWhole("MyWorker", { concurrency: [8, 1], attempts: [5, 1] })
 * ```
 *
 * @since 0.1.0
 * @category validation
 */
export const requireWhole = (
  subject: string,
  options: Readonly<Record<string, readonly [number | undefined, number]>>
): void => {
  for (const [name, [value, min]] of Object.entries(options)) {
    if (value !== undefined && !(Number.isInteger(value) && value >= min)) {
      throw new CacheDefinitionError({ subject, reason: `${name} must be a whole number of at least ${min}, got ${value}` })
    }
  }
}

/**
 * The options of a broker's `layerConfig`, read from `Config` (`Config.Wrap`: one `Config`
 * for the whole record or one per field) and checked by `check` (e.g. with
 * `requireWhole`): an option it refuses makes a `ConfigError` with its reason, where the
 * layer would otherwise die.
 *
 * @example
 * ```ts
 * import { Config } from "effect"
 * import { BrokerJob } from "@cachefx/core"
 *
 * interface Options { readonly concurrency?: number | undefined }
 *
 * const options = BrokerJob.unwrapConfig<Options>(
 *   { concurrency: Config.integer("WORKER_CONCURRENCY") },
 *   (options) => BrokerJob.requireWhole("MyWorker", { concurrency: [options.concurrency, 1] })
 * )
 * ```
 *
 * @since 0.3.0
 * @category validation
 */
export const unwrapConfig = <A>(options: Config.Config.Wrap<A>, check: (options: A) => void): Config.Config<A> =>
  config.unwrapWith(options, (unwrapped) => {
    check(unwrapped)
    return unwrapped
  })

/**
 * The `make` of every broker package's worker module: starts the worker in a scope, with
 * the engine of its context; closing the scope finishes the jobs in hand, then stops.
 * Options a worker cannot work with throw a `CacheDefinitionError` when it is called.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import type { BrokerJob } from "@cachefx/core"
 *
 * interface Options { readonly queue: string }
 * const make: BrokerJob.MakeWorker<Options> = (options) => Effect.log(`serving ${options.queue}`)
 * ```
 *
 * @since 0.3.0
 * @category constructors
 */
export interface MakeWorker<Options, E = BrokerError> {
  (options: Options): Effect.Effect<void, E, InvalidationEngine.InvalidationEngine | Scope.Scope>
}

/**
 * The `layer` of every broker package's worker module: its `make` as a layer, to be
 * given the engine (built over the same cached values as the producer's).
 *
 * @example
 * ```ts
 * import type { Layer } from "effect"
 * import type { BrokerJob, InvalidationEngine } from "@cachefx/core"
 *
 * declare const layer: BrokerJob.WorkerLayer<{ readonly queue: string }>
 * const live: Layer.Layer<never, BrokerJob.BrokerError, InvalidationEngine.InvalidationEngine> = layer({ queue: "users" })
 * ```
 *
 * @since 0.3.0
 * @category layers
 */
export interface WorkerLayer<Options, E = BrokerError> {
  (options: Options): Layer.Layer<never, E, InvalidationEngine.InvalidationEngine>
}

/**
 * The `layerConfig` of every broker package's worker module: the options of `make` read
 * from `Config` (`Config.Wrap`), with the `url` of the broker in place of a client,
 * which the layer opens and closes. An option `make` refuses is a `ConfigError`.
 *
 * @example
 * ```ts
 * import { Config } from "effect"
 * import type { Redacted } from "effect"
 * import type { BrokerJob } from "@cachefx/core"
 *
 * declare const layerConfig: BrokerJob.WorkerLayerConfig<{ readonly url: Redacted.Redacted; readonly queue: string }>
 * const live = layerConfig({ url: Config.redacted("BROKER_URL"), queue: Config.string("QUEUE") })
 * ```
 *
 * @since 0.3.0
 * @category layers
 */
export interface WorkerLayerConfig<ConfigOptions, E = BrokerError> {
  (options: Config.Config.Wrap<ConfigOptions>): Layer.Layer<never, E | ConfigError.ConfigError, InvalidationEngine.InvalidationEngine>
}

/**
 * The options of every broker package's `layerConfig`: those of `make` but its client
 * (`Client`) and its name (given in code, since rules name it), and the `url` of the
 * broker (with its credentials, hence redacted), to which the layer opens a client of
 * its own and closes it with its scope.
 *
 * @example
 * ```ts
 * import { Redacted } from "effect"
 * import type { BrokerJob } from "@cachefx/core"
 *
 * interface Options { readonly client: unknown; readonly queue?: string | undefined }
 * const options: BrokerJob.ConfigOptions<Options, "client"> = { url: Redacted.make("amqp://127.0.0.1"), queue: "users" }
 * ```
 *
 * @since 0.3.0
 * @category models
 */
export type ConfigOptions<Options, Client extends keyof Options> = Omit<Options, Client | "name"> & {
  readonly url: Redacted.Redacted
}

/**
 * How a `layerConfig` makes what `make` makes from the options it read: `check` refuses
 * what `make` would (it throws a `CacheDefinitionError`, which becomes a `ConfigError`),
 * `connect` opens a client to `url`, closed with the scope, and gives the options of
 * `make` with it.
 *
 * @example
 * ```ts
 * import { Effect, Redacted } from "effect"
 * import { BrokerJob } from "@cachefx/core"
 *
 * interface Options { readonly client: { readonly url: string }; readonly concurrency?: number | undefined }
 * const fromConfig: BrokerJob.FromConfig<BrokerJob.ConfigOptions<Options, "client">, Options, void> = {
 *   make: (options) => Effect.log(`serving ${options.client.url}`),
 *   check: (options) => BrokerJob.requireWhole("MyWorker", { concurrency: [options.concurrency, 1] }),
 *   connect: (url, options) => Effect.succeed({ ...options, client: { url: Redacted.value(url) } })
 * }
 * ```
 *
 * @since 0.3.0
 * @category models
 */
export interface FromConfig<ConfigOptions extends { readonly url: Redacted.Redacted }, Options, A, E = never, R = never> {
  readonly make: (options: Options) => Effect.Effect<A, E, R>
  readonly check: (options: Omit<ConfigOptions, "url">) => void
  readonly connect: (url: Redacted.Redacted, options: Omit<ConfigOptions, "url">) => Effect.Effect<Options, E, Scope.Scope>
}

/**
 * The `connect` of a `FromConfig` whose client `open(url)` opens (in the scope of the
 * layer): it gives the options read with the client under `key`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { BrokerJob } from "@cachefx/core"
 *
 * const connect = BrokerJob.connectAs("client", (url: string) => Effect.succeed({ url }))
 * ```
 *
 * @since 0.3.0
 * @category layers
 */
export const connectAs = <K extends string, Client, E>(key: K, open: (url: string) => Effect.Effect<Client, E, Scope.Scope>) =>
<A>(url: Redacted.Redacted, options: A): Effect.Effect<A & { readonly [_ in K]: Client }, E, Scope.Scope> =>
  Effect.map(open(Redacted.value(url)), (client) => ({ ...options, [key]: client }) as A & { readonly [_ in K]: Client })

/** Reads the options, checks them, connects to their url and makes what `make` makes with the client. */
const fromConfig = <C extends { readonly url: Redacted.Redacted }, Options, A, E, R>(
  options: Config.Config.Wrap<C>,
  from: FromConfig<C, Options, A, E, R>
): Effect.Effect<A, E | ConfigError.ConfigError, Scope.Scope | R> =>
  Effect.flatMap(
    unwrapConfig(options, ({ url: _, ...rest }: C) => from.check(rest)),
    ({ url, ...rest }: C) => Effect.flatMap(from.connect(url, rest), from.make)
  )

/**
 * A worker's `layer`, from its `make`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { BrokerJob } from "@cachefx/core"
 *
 * const make: BrokerJob.MakeWorker<{ readonly queue: string }> = (options) => Effect.log(`serving ${options.queue}`)
 * const layer = BrokerJob.workerLayer(make)
 * ```
 *
 * @since 0.3.0
 * @category layers
 */
export const workerLayer = <Options, E>(make: MakeWorker<Options, E>): WorkerLayer<Options, E> => (options) =>
  Layer.scopedDiscard(make(options))

/**
 * A worker's `layerConfig`, from its `make` and how its options are read (`FromConfig`).
 *
 * @example
 * ```ts
 * import { Effect, Redacted } from "effect"
 * import { BrokerJob } from "@cachefx/core"
 *
 * interface Options { readonly url: string }
 * const layerConfig = BrokerJob.workerLayerConfig<BrokerJob.ConfigOptions<Options, "url">, Options>({
 *   make: (options) => Effect.log(`serving ${options.url}`),
 *   check: () => {},
 *   connect: (url) => Effect.succeed({ url: Redacted.value(url) })
 * })
 * ```
 *
 * @since 0.3.0
 * @category layers
 */
export const workerLayerConfig = <C extends { readonly url: Redacted.Redacted }, Options, E = never>(
  from: FromConfig<C, Options, void, E, InvalidationEngine.InvalidationEngine | Scope.Scope>
): WorkerLayerConfig<C, E> =>
(options) => Layer.scopedDiscard(fromConfig(options, from))

/**
 * The `make` of every broker package's dispatcher module: the dispatcher in a scope
 * (what it opens closes with it). Options it cannot work with throw a
 * `CacheDefinitionError` when it is called.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { BrokerJob } from "@cachefx/core"
 *
 * const make: BrokerJob.MakeDispatcher<{ readonly name?: string | undefined }> = (options) =>
 *   Effect.succeed(BrokerJob.dispatcher({ name: options.name ?? "log", rowsPerJob: 100, timeout: "2 seconds", send: async () => {} }))
 * ```
 *
 * @since 0.3.0
 * @category constructors
 */
export interface MakeDispatcher<Options> {
  (options: Options): Effect.Effect<Dispatcher.Dispatcher, never, Scope.Scope>
}

/**
 * The `layer` of every broker package's dispatcher module: the dispatcher under
 * `Dispatcher.tag(name)`, its `name` option, or the broker's default name `Name`.
 *
 * @example
 * ```ts
 * import type { Layer } from "effect"
 * import type { BrokerJob, Dispatcher } from "@cachefx/core"
 *
 * declare const layer: BrokerJob.DispatcherLayer<{ readonly name?: string | undefined }, "log">
 * const byDefault: Layer.Layer<Dispatcher.Named<"log">> = layer({})
 * const named: Layer.Layer<Dispatcher.Named<"audit">> = layer({ name: "audit" })
 * ```
 *
 * @since 0.3.0
 * @category layers
 */
export interface DispatcherLayer<Options extends { readonly name?: string | undefined }, Name extends string> {
  <const N extends string = Name>(options: Options & { readonly name?: N | undefined }): Layer.Layer<Dispatcher.Named<N>>
}

/**
 * The `layerConfig` of every broker package's dispatcher module: the options of `make`
 * read from `Config` (`Config.Wrap`), with the `url` of the broker in place of a client,
 * which the layer opens and closes; the name is given in code (rules name it). An option
 * `make` refuses is a `ConfigError`.
 *
 * @example
 * ```ts
 * import { Config } from "effect"
 * import type { Redacted } from "effect"
 * import type { BrokerJob } from "@cachefx/core"
 *
 * declare const layerConfig: BrokerJob.DispatcherLayerConfig<{ readonly url: Redacted.Redacted }, "log">
 * const live = layerConfig({ url: Config.redacted("BROKER_URL") }, "audit")
 * ```
 *
 * @since 0.3.0
 * @category layers
 */
export interface DispatcherLayerConfig<ConfigOptions, Name extends string, E = never> {
  <const N extends string = Name>(
    options: Config.Config.Wrap<ConfigOptions>,
    name?: N
  ): Layer.Layer<Dispatcher.Named<N>, E | ConfigError.ConfigError>
}

/**
 * A dispatcher's `layer`, from its default name and its `make`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { BrokerJob } from "@cachefx/core"
 *
 * const layer = BrokerJob.dispatcherLayer("log", (options: { readonly name?: string | undefined }) =>
 *   Effect.succeed(BrokerJob.dispatcher({ name: options.name ?? "log", rowsPerJob: 100, timeout: "2 seconds", send: async () => {} })))
 * ```
 *
 * @since 0.3.0
 * @category layers
 */
export const dispatcherLayer = <Options extends { readonly name?: string | undefined }, const Name extends string>(
  name: Name,
  make: MakeDispatcher<Options>
): DispatcherLayer<Options, Name> =>
<N extends string>(options: Options & { readonly name?: N | undefined }) =>
  Layer.scoped(Dispatcher.tag((options.name ?? name) as N), make(options))

/**
 * A dispatcher's `layerConfig`, from its default name, its `make` and how its options
 * are read (`FromConfig`).
 *
 * @example
 * ```ts
 * import { Effect, Redacted } from "effect"
 * import { BrokerJob } from "@cachefx/core"
 *
 * interface Options { readonly url: string; readonly name?: string | undefined }
 * const layerConfig = BrokerJob.dispatcherLayerConfig<BrokerJob.ConfigOptions<Options, "url">, Options, "log">("log", {
 *   make: (options) =>
 *     Effect.succeed(BrokerJob.dispatcher({ name: options.name ?? "log", rowsPerJob: 100, timeout: "2 seconds", send: async () => {} })),
 *   check: () => {},
 *   connect: (url, options) => Effect.succeed({ ...options, url: Redacted.value(url) })
 * })
 * ```
 *
 * @since 0.3.0
 * @category layers
 */
export const dispatcherLayerConfig = <
  C extends { readonly url: Redacted.Redacted },
  Options extends { readonly name?: string | undefined },
  const Name extends string,
  E = never
>(
  name: Name,
  from: FromConfig<C, Options, Dispatcher.Dispatcher, E, Scope.Scope>
): DispatcherLayerConfig<C, Name, E> =>
<N extends string>(options: Config.Config.Wrap<C>, named?: N) =>
  Layer.scoped(
    Dispatcher.tag((named ?? name) as N),
    fromConfig(options, { ...from, make: (options: Options) => from.make({ ...options, name: named ?? name }) })
  )
