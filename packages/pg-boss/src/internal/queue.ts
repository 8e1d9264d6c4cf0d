import { BrokerJob } from "@cachefx/core"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type PgBoss from "pg-boss"
import type * as PgBossDispatcher from "../PgBossDispatcher.js"

/** @internal */
export const defaults = {
  ...BrokerJob.defaults,
  rowsPerJob: 500,
  expireIn: "5 minutes"
} as const

/** @internal */
export const attempt = <A>(operation: string, f: () => Promise<A>): Effect.Effect<A, BrokerJob.BrokerError> =>
  BrokerJob.attempt("pg-boss", operation, f)

/** @internal */
export const deadLetterQueue = (queue: string) => `${queue}-dead`

/** Creates the queue and its dead-letter queue unless they exist (pg-boss 10 sends only to queues that do). */
const create = (boss: PgBoss, queue: string) =>
  attempt(`create the queue "${queue}"`, async () => {
    await boss.createQueue(deadLetterQueue(queue))
    await boss.createQueue(queue, { name: queue, deadLetter: deadLetterQueue(queue) })
  })

/** pg-boss's options of each job: the policy goes with the job, so it holds whoever created the queue. @internal */
export const jobOptions = (queue: string, policy: PgBossDispatcher.JobPolicy): PgBoss.SendOptions => ({
  retryLimit: (policy.attempts ?? defaults.attempts) - 1,
  retryDelay: Math.round(Duration.toSeconds(policy.backoff ?? defaults.backoff)),
  retryBackoff: true,
  expireInSeconds: Math.max(1, Math.round(Duration.toSeconds(policy.expireIn ?? defaults.expireIn))),
  deadLetter: deadLetterQueue(queue)
})

const created = new WeakMap<PgBoss, Set<string>>()

/** Creates a queue once per client and process. @internal */
export const ensure = (boss: PgBoss, queue: string) =>
  Effect.suspend(() => {
    const queues = created.get(boss) ?? new Set()
    created.set(boss, queues)
    return queues.has(queue) ? Effect.void : Effect.tap(create(boss, queue), () => queues.add(queue))
  })

