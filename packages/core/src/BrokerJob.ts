/**
 * What broker dispatchers (`@cachefx/bullmq`, `@cachefx/redis`'s streams,
 * `@cachefx/pg-boss`, `@cachefx/rabbitmq`) share: how an invalidation job crosses the wire, how a partition-heavy job fans out into
 * several, how a worker runs one and tells a failure worth retrying from one that is
 * not, and what a dead-lettered job looks like.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import type * as Config from "effect/Config"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { CacheDefinitionError } from "./CacheError.js"
import * as Dispatcher from "./Dispatcher.js"
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
