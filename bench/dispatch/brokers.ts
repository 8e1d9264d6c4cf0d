/**
 * The dispatchers `npm run bench:dispatch` measures: one entry each, the scoped program
 * of its module (which calls `measure` from ./measure.ts). Add a broker with one line.
 */
import type { Effect, Scope } from "effect"
import { bench as bullmq } from "./bullmq.js"
import { bench as pgBoss } from "./pgboss.js"
import { bench as rabbitmq } from "./rabbitmq.js"
import { bench as redisStream } from "./redisStream.js"

export const brokers: Record<string, Effect.Effect<void, unknown, Scope.Scope>> = {
  bullmq,
  "redis-stream": redisStream,
  "pg-boss": pgBoss,
  rabbitmq
}
