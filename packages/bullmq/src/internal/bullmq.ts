import { BrokerJob } from "@cachefx/core"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Runtime from "effect/Runtime"
import { type Job, Queue, UnrecoverableError, Worker } from "bullmq"
import { type Cluster, Redis } from "ioredis"
import type * as BullMQDispatcher from "../BullMQDispatcher.js"
import type * as BullMQWorker from "../BullMQWorker.js"

/** @internal */
export const defaultQueue = BrokerJob.defaults.queue

/**
 * A connection to `url`, closed with the scope. BullMQ's workers require
 * `maxRetriesPerRequest: null`; its producers wait for Redis, within `timeout`.
 *
 * @internal
 */
export const connect = (url: string) =>
  Effect.acquireRelease(
    Effect.sync(() => new Redis(url, { maxRetriesPerRequest: null }).on("error", () => {})),
    (client) =>
      Effect.promise(() => client.quit()).pipe(
        Effect.timeout("2 seconds"),
        Effect.ignore,
        Effect.ensuring(Effect.sync(() => client.disconnect()))
      )
  )

/** A queue over the caller's client. Its errors reach callers through the promises of its calls. */
const openQueue = (options: BullMQDispatcher.Connection, name: string) =>
  new Queue(name, { connection: options.connection, ...(options.prefix === undefined ? {} : { prefix: options.prefix }) })
    .on("error", () => {})

const close = (closeable: { readonly close: () => Promise<unknown> }) => Effect.promise(() => closeable.close())

/** Closes a queue, without waiting long for a Redis that does not answer. */
const closeQueue = (queue: Queue) => close(queue).pipe(Effect.timeout("2 seconds"), Effect.ignore)

/** @internal */
export const checkDispatcher = (options: Omit<BullMQDispatcher.Options, "connection">) =>
  BrokerJob.requireWhole("BullMQDispatcher", { rowsPerJob: [options.rowsPerJob, 1], attempts: [options.attempts, 1] })

/** @internal */
export const makeDispatcher = (options: BullMQDispatcher.Options) => {
  checkDispatcher(options)
  return Effect.gen(function*() {
    const queues = new Map<string, Queue>()
    yield* Effect.addFinalizer(() => Effect.forEach(queues.values(), closeQueue, { concurrency: "unbounded", discard: true }))
    const jobOptions = {
      attempts: options.attempts ?? BrokerJob.defaults.attempts,
      backoff: { type: "exponential", delay: Duration.toMillis(options.backoff ?? BrokerJob.defaults.backoff) },
      removeOnComplete: true,
      removeOnFail: false
    }
    return BrokerJob.dispatcher({
      name: options.name ?? "bullmq",
      rowsPerJob: options.rowsPerJob ?? 100,
      timeout: options.timeout ?? BrokerJob.defaults.timeout,
      send: (name = options.queue ?? defaultQueue, jobs) => {
        const queue = queues.get(name) ?? openQueue(options, name)
        queues.set(name, queue)
        return queue.addBulk(jobs.map(({ job, text }) => ({ name: `${job.cache} / ${job.rule}`, data: text, opts: jobOptions })))
      }
    })
  })
}

/** @internal */
export const deadLetters = (connection: Redis | Cluster, options: BullMQDispatcher.DeadLetterOptions = {}) => {
  const count = BrokerJob.deadLetterCount(options, "BullMQDispatcher.deadLetters")
  return Effect.acquireUseRelease(
    Effect.sync(() => openQueue({ connection, prefix: options.prefix }, options.queue ?? defaultQueue)),
    (queue) =>
      BrokerJob.attempt("BullMQ", `read the failed jobs of "${queue.name}"`, () => queue.getFailed(0, count - 1)),
    closeQueue
  ).pipe(
    Effect.map((jobs) =>
      jobs.map((job) =>
        BrokerJob.deadLetter({
          id: job.id ?? "",
          text: typeof job.data === "string" ? job.data : JSON.stringify(job.data),
          reason: job.failedReason,
          deliveries: job.attemptsMade,
          failedAt: new Date(job.finishedOn ?? job.timestamp)
        })
      )
    )
  )
}

/** @internal */
export const checkWorker = (options: Omit<BullMQWorker.Options, "connection">) =>
  BrokerJob.requireWhole("BullMQWorker", { concurrency: [options.concurrency, 1], maxStalledCount: [options.maxStalledCount, 0] })

/** @internal */
export const makeWorker = (options: BullMQWorker.Options) => {
  checkWorker(options)
  return Effect.gen(function*() {
    const runtime = yield* Effect.runtime<never>()
    // BullMQ counts the attempts (the job's own `attempts`) and records the outcome: the processor only says which
    const outcomeOf = yield* BrokerJob.runner<Job>({
      broker: "BullMQ",
      job: (job) => job.data,
      delivery: (job) => job.attemptsMade + 1,
      attempts: (job) => job.opts.attempts ?? 1,
      annotations: (job) => ({ queue: job.queueName, job: job.id })
    })
    const runPromise = Runtime.runPromise(runtime)
    const processJob = async (job: Job) => {
      const outcome = await runPromise(outcomeOf(job))
      // BullMQ retries a plain error with backoff, and fails an UnrecoverableError at once
      if (outcome._tag === "Retry") throw new Error(outcome.reason)
      if (outcome._tag === "Dead") throw new UnrecoverableError(outcome.reason)
    }
    const settings = {
      connection: options.connection,
      concurrency: options.concurrency ?? BrokerJob.defaults.concurrency,
      lockDuration: Duration.toMillis(options.lockDuration ?? "30 seconds"),
      stalledInterval: Duration.toMillis(options.stalledInterval ?? "30 seconds"),
      maxStalledCount: options.maxStalledCount ?? 1,
      ...(options.prefix === undefined ? {} : { prefix: options.prefix })
    }
    yield* Effect.acquireRelease(
      Effect.sync(() => {
        const worker = new Worker(options.queue ?? defaultQueue, processJob, settings)
        worker.on("error", (error) =>
          Runtime.runFork(runtime)(Effect.logWarning("cachefx: the BullMQ worker reports an error", error)))
        return worker
      }),
      close
    )
  })
}

/** The queues and workers of a `layerConfig` share one kind of connection (see `connect`). */
const connectTo = BrokerJob.connectAs("connection", connect)

/** @internal */
export const dispatcherLayerConfig = BrokerJob.dispatcherLayerConfig<BullMQDispatcher.ConfigOptions, BullMQDispatcher.Options, "bullmq">(
  "bullmq",
  { make: makeDispatcher, check: checkDispatcher, connect: connectTo }
)

/** @internal */
export const workerLayerConfig = BrokerJob.workerLayerConfig<BullMQWorker.ConfigOptions, BullMQWorker.Options>(
  { make: makeWorker, check: checkWorker, connect: connectTo }
)
