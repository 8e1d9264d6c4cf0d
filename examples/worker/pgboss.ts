/**
 * pg-boss, on the PostgreSQL of PGBOSS_URL (default postgres://postgres@127.0.0.1:5432/test)
 * in the schema `cachefx_example`: each layer starts a client of its own. The worker's
 * client also runs pg-boss's maintenance, which retries the jobs of workers that died.
 */
import { PgBossDispatcher, PgBossWorker } from "@cachefx/pg-boss"
import { Effect, Layer } from "effect"
import type PgBoss from "pg-boss"
import type { Broker } from "./brokers.js"

const schema = "cachefx_example"

const withBoss = <A, E, R>(make: (boss: PgBoss) => Layer.Layer<A, E, R>) =>
  Layer.unwrapScoped(Effect.map(
    PgBossDispatcher.start({
      connectionString: process.env["PGBOSS_URL"] ?? "postgres://postgres@127.0.0.1:5432/test",
      schema
    }),
    make
  ))

export const pgBoss: Broker = {
  dispatcher: withBoss((boss) => PgBossDispatcher.layer({ boss })),
  worker: withBoss((boss) => PgBossWorker.layer({ boss, schema, pollInterval: "100 millis" }))
}
