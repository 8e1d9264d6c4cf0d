import { BrokerJob, InvalidationEngine } from "@cachefx/core"
import * as Arr from "effect/Array"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type PgBoss from "pg-boss"
import type * as PgBossWorker from "../PgBossWorker.js"
import { identifier } from "./dispatcher.js"
import { attempt, defaults, ensure } from "./queue.js"

/** Runs a received job with this worker's engine (see `BrokerJob.run` for what is retried). */
const runJob = (engine: InvalidationEngine.Service, received: unknown) =>
  Effect.provideService(BrokerJob.run(received), InvalidationEngine.InvalidationEngine, engine)

/** @internal */
export const check = (options: Omit<PgBossWorker.Options, "boss">) => {
  BrokerJob.requireWhole("PgBossWorker", { batchSize: [options.batchSize, 1] })
  return identifier("PgBossWorker", options.schema ?? "pgboss")
}

/** @internal */
export const make = (options: PgBossWorker.Options) => {
  const schema = check(options)
  return Effect.gen(function*() {
      const engine = yield* InvalidationEngine.InvalidationEngine
      const { boss } = options
      const queue = options.queue ?? defaults.queue
      const pollInterval = options.pollInterval ?? "500 millis"
      // a failure that retrying cannot mend skips the retries left: the job goes to the dead-letter queue now
      const skipRetries = (id: string) =>
        attempt("skip the retries", () =>
          boss.getDb().executeSql(`UPDATE ${schema}.job SET retry_limit = retry_count WHERE name = $1 AND id = $2`, [queue, id]))

      const fail = (job: PgBoss.JobWithMetadata<unknown>, failure: BrokerJob.JobFailure) =>
        Effect.logWarning(`cachefx: invalidation job failed: ${failure.reason}`).pipe(
          Effect.annotateLogs({ queue, job: job.id, attempt: job.retryCount + 1, final: !failure.retry }),
          Effect.zipRight(!failure.retry ? skipRetries(job.id) : Effect.void),
          Effect.zipRight(attempt("fail", () => boss.fail(queue, job.id, { reason: failure.reason })))
        )

      // runs a batch, then completes its successes in one statement and fails each failure with its reason
      const handle = (jobs: ReadonlyArray<PgBoss.JobWithMetadata<unknown>>) =>
        Effect.forEach(jobs, (job) => Effect.either(runJob(engine, job.data)), { concurrency: "unbounded" }).pipe(
          Effect.map((outcomes) =>
            Arr.partitionMap(Arr.zip(jobs, outcomes), ([job, outcome]) =>
              Either.mapBoth(outcome, { onLeft: (failure) => [job, failure] as const, onRight: () => job.id }))
          ),
          Effect.flatMap(([failed, done]) =>
            Effect.zipRight(
              done.length === 0 ? Effect.void : attempt("complete", () => boss.complete(queue, done)),
              Effect.forEach(failed, ([job, failure]) => fail(job, failure), { discard: true })
            )
          ),
          Effect.catchAll((error) =>
            Effect.logWarning("cachefx: could not record the outcome of jobs; they run again once they expire", error)
          )
        )

      const fetch = attempt(`fetch from "${queue}"`, () =>
        boss.fetch<unknown>(queue, { batchSize: options.batchSize ?? 8, includeMetadata: true }))
      // a fetched batch is always finished, so closing the worker never leaves a job active until it expires
      const poll = Effect.uninterruptibleMask((restore) =>
        Effect.flatMap(fetch, (jobs) =>
          jobs.length === 0
            ? restore(Effect.sleep(pollInterval))
            : handle(jobs))
      ).pipe(
        Effect.catchAll((error) =>
          Effect.logWarning("cachefx: pg-boss worker could not fetch", error).pipe(
            Effect.zipRight(Effect.sleep(pollInterval))
          )
        )
      )

      yield* ensure(boss, queue)
      yield* Effect.forkScoped(Effect.forever(poll))
    })
}
