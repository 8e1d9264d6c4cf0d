import { BrokerJob, CacheError, Dispatcher } from "@cachefx/core"
import * as Effect from "effect/Effect"
import * as Predicate from "effect/Predicate"
import * as Redacted from "effect/Redacted"
import * as Runtime from "effect/Runtime"
import * as Schema from "effect/Schema"
import PgBoss from "pg-boss"
import type * as PgBossDispatcher from "../PgBossDispatcher.js"
import { attempt, deadLetterQueue, defaults, ensure, jobOptions } from "./queue.js"

/** @internal */
export const checkPolicy = (subject: string, options: PgBossDispatcher.SendOptions) =>
  BrokerJob.requireWhole(subject, { rowsPerJob: [options.rowsPerJob, 1], attempts: [options.attempts, 1] })

/** Inserts jobs into a queue, creating the queue if needed; gives the pg-boss ids. */
const insert = (boss: PgBoss, queue: string, jobs: ReadonlyArray<Dispatcher.Job>, options: PgBossDispatcher.SendOptions) => {
  const sendOptions = { ...jobOptions(queue, options), ...(options.db === undefined ? {} : { db: options.db }) }
  return ensure(boss, queue).pipe(
    Effect.zipRight(Effect.forEach(jobs, (job) =>
      attempt(`send to "${queue}"`, () => boss.send(queue, Schema.encodeSync(Dispatcher.Job)(job), sendOptions)))),
    Effect.map((ids) => ids.filter(Predicate.isNotNull))
  )
}

/** @internal */
export const send = (boss: PgBoss, job: Dispatcher.Job, options: PgBossDispatcher.SendOptions = {}) => {
  checkPolicy("PgBossDispatcher.send", options)
  return insert(boss, options.queue ?? defaults.queue, BrokerJob.fanOut(job, options.rowsPerJob ?? defaults.rowsPerJob), options)
}

/** @internal */
export const make = (options: PgBossDispatcher.Options) => {
  checkPolicy("PgBossDispatcher", options)
  // nothing to release: the client is the caller's
  return Effect.succeed(BrokerJob.dispatcher({
    name: options.name ?? "pg-boss",
    rowsPerJob: options.rowsPerJob ?? defaults.rowsPerJob,
    timeout: options.timeout ?? defaults.timeout,
    send: (queue = options.queue ?? defaults.queue, jobs) =>
      Effect.runPromise(insert(options.boss, queue, jobs.map(({ job }) => job), options))
  }))
}

/** @internal */
export const executor = (client: PgBossDispatcher.Queryable): PgBoss.Db => ({
  executeSql: (text, values) => client.query(text, values)
})

/** @internal */
export const start = (options: PgBoss.ConstructorOptions) =>
  Effect.flatMap(Effect.runtime<never>(), (runtime) =>
    Effect.acquireRelease(
      attempt("start", () => {
        const boss = new PgBoss(options)
        // pg-boss reports maintenance and polling failures as events; unhandled, one would crash the process
        boss.on("error", (error) => Runtime.runFork(runtime)(Effect.logWarning("cachefx: pg-boss error", error)))
        return boss.start()
      }),
      (boss) => Effect.ignoreLogged(attempt("stop", () => boss.stop({ graceful: true, wait: true })))
    ))

/** The client a `layerConfig` starts (in `schema`), with the options of `make`. @internal */
export const withBoss = <A>(url: Redacted.Redacted, schema: string | undefined, options: A) =>
  Effect.map(start({ connectionString: Redacted.value(url), schema: schema ?? "pgboss" }), (boss) => ({ ...options, boss }))

/** @internal */
export const layerConfig = BrokerJob.dispatcherLayerConfig<
  PgBossDispatcher.ConfigOptions,
  PgBossDispatcher.Options,
  "pg-boss",
  BrokerJob.BrokerError
>("pg-boss", {
  make,
  check: (options) => checkPolicy("PgBossDispatcher", options),
  connect: (url, { schema, ...options }) => withBoss(url, schema, options)
})

const reasonOf = (output: unknown): string =>
  Predicate.hasProperty(output, "reason") && Predicate.isString(output.reason)
    ? output.reason
    : Predicate.hasProperty(output, "message") && Predicate.isString(output.message)
    ? output.message
    : Predicate.hasProperty(output, "value")
    ? reasonOf(output.value)
    : Predicate.isString(output)
    ? output
    : JSON.stringify(output)

/** @internal */
export const identifier = (subject: string, name: string) => {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    throw new CacheError.CacheDefinitionError({ subject, reason: `schema must be a plain PostgreSQL name, got "${name}"` })
  }
  return name
}

/** @internal */
export const deadLetters = (boss: PgBoss, options: PgBossDispatcher.DeadLetterOptions = {}) => {
  const schema = identifier("PgBossDispatcher.deadLetters", options.schema ?? "pgboss")
  const count = BrokerJob.deadLetterCount(options, "PgBossDispatcher.deadLetters")
  const queue = deadLetterQueue(options.queue ?? defaults.queue)
  // a dead letter keeps the retry limit of its job, which the last delivery reached
  return attempt(`read "${queue}"`, () =>
    boss.getDb().executeSql(
      `SELECT id, data, output, retry_limit, created_on FROM ${schema}.job WHERE name = $1 AND state < 'active' ` +
        "ORDER BY created_on DESC, id DESC LIMIT $2",
      [queue, count]
    )).pipe(
      Effect.map(({ rows }) =>
        rows.map((row) =>
          BrokerJob.deadLetter({
            id: String(row.id),
            text: JSON.stringify(row.data),
            reason: reasonOf(row.output),
            deliveries: Number(row.retry_limit) + 1,
            failedAt: new Date(row.created_on)
          })
        )
      )
    )
}
