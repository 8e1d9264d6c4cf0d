import { BrokerJob } from "@cachefx/core"
import * as Effect from "effect/Effect"
import type PgBoss from "pg-boss"
import type * as PgBossWorker from "../PgBossWorker.js"
import { identifier, withBoss } from "./dispatcher.js"
import { attempt, defaults, ensure } from "./queue.js"

type Job = PgBoss.JobWithMetadata<unknown>

/** @internal */
export const check = (options: Omit<PgBossWorker.Options, "boss">) => {
  BrokerJob.requireWhole("PgBossWorker", { concurrency: [options.concurrency, 1] })
  return identifier("PgBossWorker", options.schema ?? "pgboss")
}

/** @internal */
export const make = (options: PgBossWorker.Options) => {
  const schema = check(options)
  return Effect.gen(function*() {
    const { boss } = options
    const queue = options.queue ?? defaults.queue
    const pollInterval = options.pollInterval ?? "500 millis"
    const fail = (job: Job, reason: string) => attempt("fail", () => boss.fail(queue, job.id, { reason }))
    // pg-boss counts the deliveries (the job's retry limit) and retries with the job's backoff
    const worker = yield* BrokerJob.worker<Job>({
      broker: "pg-boss",
      job: (job) => job.data,
      delivery: (job) => job.retryCount + 1,
      attempts: (job) => job.retryLimit + 1,
      annotations: (job) => ({ queue, job: job.id }),
      ack: (jobs) => attempt("complete", () => boss.complete(queue, jobs.map((job) => job.id))),
      retry: (job, { reason }) => fail(job, reason),
      // a job that retrying cannot mend skips the retries left: failed, it goes to the dead-letter queue now
      deadLetter: (job, { reason }) =>
        attempt("skip the retries", () =>
          boss.getDb().executeSql(`UPDATE ${schema}.job SET retry_limit = retry_count WHERE name = $1 AND id = $2`, [queue, job.id])
        ).pipe(Effect.zipRight(fail(job, reason)))
    })
    yield* ensure(boss, queue)
    // a fetched batch is always finished, so closing the worker never leaves a job active until it expires
    yield* worker.poll({
      receive: attempt(`fetch from "${queue}"`, () =>
        boss.fetch<unknown>(queue, { batchSize: options.concurrency ?? defaults.concurrency, includeMetadata: true })),
      acknowledge: "batch",
      idle: pollInterval,
      retryAfter: pollInterval
    })
  })
}

/** @internal */
export const layerConfig = BrokerJob.workerLayerConfig<PgBossWorker.ConfigOptions, PgBossWorker.Options, BrokerJob.BrokerError>({
  make,
  check,
  connect: (url, options) => withBoss(url, options.schema, options)
})
