/**
 * pg-boss as a broker of the contract (`@cachefx/testkit/BrokerContract`): one queue per
 * test in a schema of the test file's own (both named from the namespace, so the child
 * worker finds them), 2 deliveries, jobs that expire after 2 s, maintenance every second.
 */
import { PgBossDispatcher, PgBossWorker } from "@cachefx/pg-boss"
import { type Broker, proxied } from "@cachefx/testkit"
import { Effect, Layer } from "effect"
import pg from "pg"
import { url } from "./fixtures/users.js"

/** The schema of the test file that made `ns` (`…-<pid>-<time>-<n>`): one per test run. */
const schemaOf = (ns: string) => `cachefx_contract_${ns.split("-").slice(-3, -1).join("_")}`

const start = (ns: string, connectionString = url) =>
  PgBossDispatcher.start({ connectionString, schema: schemaOf(ns), maintenanceIntervalSeconds: 1 })

const policy = { attempts: 2, backoff: "0 seconds", expireIn: "2 seconds" } as const

export const broker: Broker = {
  name: "pg-boss",
  dispatcher: (ns) =>
    Layer.unwrapScoped(Effect.map(start(ns), (boss) => PgBossDispatcher.layer({ boss, queue: ns, rowsPerJob: 3, ...policy }))),
  worker: (ns) =>
    Layer.unwrapScoped(Effect.map(start(ns), (boss) =>
      PgBossWorker.layer({ boss, queue: ns, schema: schemaOf(ns), pollInterval: "100 millis" }))),
  // pg-boss started through a proxy that then black-holes: the database stops answering, nothing closes
  unreachable: (timeout) =>
    Layer.unwrapScoped(Effect.gen(function*() {
      const proxy = yield* proxied(url, 5432)
      const boss = yield* start(`cachefx-contract-pg-boss-${process.pid}-unreachable-1`, proxy.url)
      yield* proxy.blackhole
      return PgBossDispatcher.layer({ boss, queue: "unreachable", timeout })
    })),
  deadLetters: (ns, options) =>
    Effect.scoped(Effect.flatMap(start(ns), (boss) => PgBossDispatcher.deadLetters(boss, { queue: ns, schema: schemaOf(ns), ...options }))),
  cleanup: (namespaces) =>
    Effect.promise(async () => {
      const client = new pg.Client(url)
      await client.connect()
      for (const schema of new Set([...namespaces.map(schemaOf), schemaOf(`x-${process.pid}-unreachable-1`)])) {
        await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
      }
      await client.end()
    })
}
