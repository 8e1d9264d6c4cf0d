import { type Cached, CacheStore, Invalidation, InvalidationEngine, InvalidationEvent } from "@cachefx/core"
import { PgBossDispatcher, PgBossWorker } from "@cachefx/pg-boss"
import { describe, expect, layer } from "@effect/vitest"
import { Config, ConfigError, ConfigProvider, Context, Effect, Exit, Layer, Option, Schedule, Scope } from "effect"
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import pg from "pg"
import type PgBoss from "pg-boss"
import { url, users } from "./fixtures/users.js"

/** A worker whose job blocks, run as a child process a test kills. */
const blockedWorker = new URL("fixtures/blockedWorker.ts", import.meta.url)

/** pg-boss's schema for this file, so that no other test run shares its queues. */
const schema = `cachefx_pgboss_${process.pid}`

const sql = <Row extends Record<string, unknown>>(text: string, values: Array<unknown> = []) =>
  Effect.acquireUseRelease(
    Effect.promise(async () => {
      const client = new pg.Client(url)
      await client.connect()
      return client
    }),
    (client) => Effect.promise(() => client.query<Row>(text, values)),
    (client) => Effect.promise(() => client.end())
  )

class Boss extends Context.Tag("test/Boss")<Boss, PgBoss>() {}

/** One supervising client for the file (maintenance every second expires jobs quickly); the schema is dropped after. */
const BossLive = Layer.scoped(
  Boss,
  Effect.acquireRelease(Effect.void, () => sql(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)).pipe(
    Effect.zipRight(PgBossDispatcher.start({ connectionString: url, schema, maintenanceIntervalSeconds: 1 }))
  )
)

/** The cached values' engine with the pg-boss dispatcher, on a memory store, and a worker in this process when asked. */
const app = (
  caches: ReadonlyArray<Cached.Cached.Any>,
  worker: Omit<PgBossWorker.Options, "boss"> | undefined,
  policy: PgBossDispatcher.JobPolicy = {}
) =>
  Layer.unwrapEffect(Effect.map(Boss, (boss) => {
    const engine = InvalidationEngine.layer({ caches }).pipe(Layer.provide(PgBossDispatcher.layer({ boss, ...policy })))
    return worker === undefined
      ? engine
      : PgBossWorker.layer({ boss, schema, pollInterval: "100 millis", ...worker }).pipe(Layer.provideMerge(engine))
  })).pipe(Layer.provideMerge(CacheStore.layerMemory()))

const eventually = <A, R>(effect: Effect.Effect<A, never, R>, done: (a: A) => boolean) =>
  effect.pipe(
    Effect.filterOrFail(done, () => "not yet"),
    Effect.retry(Schedule.spaced("100 millis")),
    Effect.timeoutFail({ duration: "15 seconds", onTimeout: () => new Error("timed out waiting") })
  )

/** Users renamed: only their own keys are stale. */
const updated = (...ids: ReadonlyArray<number>) =>
  InvalidationEvent.make({ table: "users", operation: "update", rows: ids.map((id) => ({ id, name: "new" })), changed: ["name"] })

const jobs = (queue: string) =>
  Effect.map(
    sql<{ state: string; retry_count: number }>(
      `SELECT state, retry_count FROM ${schema}.job WHERE name = $1 ORDER BY created_on`,
      [queue]
    ),
    (result) => result.rows
  )

const deadLetters = (boss: PgBoss, queue: string) => Effect.orDie(PgBossDispatcher.deadLetters(boss, { queue, schema }))

describe("PgBossDispatcher", () => {
  layer(BossLive, { timeout: "30 seconds", excludeTestServices: true })((it) => {
    it.scoped("an event published is run by a worker: the entry is gone", () =>
      Effect.gen(function*() {
        const getUser = users({ queue: "e2e" })
        yield* Effect.gen(function*() {
          yield* Effect.forEach([1, 2], (id) => getUser({ id }))
          yield* Invalidation.publish(updated(1))
          yield* eventually(getUser.peek({ id: 1 }), Option.isNone)
          expect(yield* getUser.peek({ id: 2 })).toEqual(Option.some("user 2"))
        }).pipe(Effect.provide(yield* Layer.build(app([getUser], { queue: "e2e" }))))
        yield* eventually(jobs("e2e"), (jobs) => jobs.length === 1 && jobs[0]?.state === "completed")
        expect(yield* jobs("e2e")).toEqual([{ state: "completed", retry_count: 0 }])
      }))

    it.scoped("layerConfig: the dispatcher and the worker start their clients from the url and schema they read from Config", () =>
      Effect.gen(function*() {
        const getUser = users({ queue: "config" })
        const urlConfig = Config.redacted("PGBOSS_URL")
        const schemaConfig = Config.string("PGBOSS_SCHEMA")
        const context = yield* Layer.build(
          PgBossWorker.layerConfig({ url: urlConfig, schema: schemaConfig, queue: Config.succeed("config"), pollInterval: Config.succeed("100 millis") }).pipe(
            Layer.provideMerge(InvalidationEngine.layer({ caches: [getUser] })),
            Layer.provide(PgBossDispatcher.layerConfig({ url: urlConfig, schema: schemaConfig })),
            Layer.provideMerge(CacheStore.layerMemory())
          )
        ).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["PGBOSS_URL", url], ["PGBOSS_SCHEMA", schema]]))))
        yield* Effect.provide(getUser({ id: 1 }), context)
        yield* Effect.provide(Invalidation.publish(updated(1)), context)
        yield* eventually(Effect.provide(getUser.peek({ id: 1 }), context), Option.isNone)
        expect(yield* jobs("config")).toHaveLength(1)
      }))

    it.effect("layerConfig: an option read from Config that make refuses is a ConfigError with its reason", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(Layer.build(
          PgBossWorker.layerConfig({ url: Config.redacted("PGBOSS_URL"), concurrency: Config.integer("CONCURRENCY") }).pipe(
            Layer.provide(InvalidationEngine.layer({ caches: [] })),
            Layer.provide(CacheStore.layerMemory())
          )
        ).pipe(Effect.scoped, Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["PGBOSS_URL", url], ["CONCURRENCY", "0"]])))))
        expect(ConfigError.isConfigError(error)).toBe(true)
        expect(String(error)).toContain("concurrency must be a whole number of at least 1, got 0")
      }))

    it.scoped("an event over more rows than rowsPerJob is split into several jobs", () =>
      Effect.gen(function*() {
        const getUser = users({ queue: "fanout", rowsPerJob: 2 })
        const ids = [1, 2, 3, 4, 5]
        yield* Effect.gen(function*() {
          yield* Effect.forEach(ids, (id) => getUser({ id }))
          yield* Invalidation.publish(updated(...ids))
          yield* eventually(Effect.forEach(ids, (id) => getUser.peek({ id })), (peeks) => peeks.every(Option.isNone))
        }).pipe(Effect.provide(yield* Layer.build(app([getUser], { queue: "fanout" }))))
        yield* eventually(jobs("fanout"), (jobs) => jobs.length === 3 && jobs.every((job) => job.state === "completed"))
      }))

    it.scoped("send with the executor of a transaction enqueues only when the transaction commits", () =>
      Effect.gen(function*() {
        const boss = yield* Boss
        const client = yield* Effect.acquireRelease(
          Effect.promise(async () => {
            const client = new pg.Client(url)
            await client.connect()
            return client
          }),
          (client) => Effect.promise(() => client.end())
        )
        const query = (text: string) => Effect.promise(() => client.query(text))
        const enqueue = PgBossDispatcher.send(boss, { cache: "users", rule: "users(id=id)", event: updated(1) }, {
          queue: "tx",
          db: PgBossDispatcher.executor(client)
        })
        yield* query("BEGIN")
        yield* enqueue
        yield* query("ROLLBACK")
        expect(yield* jobs("tx")).toEqual([])
        yield* query("BEGIN")
        yield* enqueue
        expect(yield* jobs("tx")).toEqual([])
        yield* query("COMMIT")
        expect(yield* jobs("tx")).toEqual([{ state: "created", retry_count: 0 }])
      }))

    it.scoped("a worker killed mid-job: the job expires and a second worker runs it", () =>
      Effect.gen(function*() {
        const getUser = users({ queue: "killed" })
        const producer = yield* Layer.build(app([getUser], undefined, { expireIn: "2 seconds", attempts: 4 }))
        yield* Effect.provide(getUser({ id: 1 }), producer)
        yield* Effect.provide(Invalidation.publish(updated(1)), producer)

        const child = yield* Effect.acquireRelease(
          Effect.sync(() =>
            spawn(process.execPath, ["--import", "tsx", "--conditions=@cachefx/source", fileURLToPath(blockedWorker)], {
              env: { ...process.env, SCHEMA: schema, QUEUE: "killed" },
              stdio: ["ignore", "pipe", "inherit"]
            })
          ),
          (child) => Effect.sync(() => child.kill("SIGKILL"))
        )
        yield* Effect.async<void>((resume) => {
          child.stdout.on("data", (chunk: Buffer) => {
            if (chunk.toString().includes("blocked")) resume(Effect.void)
          })
        })
        expect(yield* jobs("killed")).toEqual([{ state: "active", retry_count: 0 }])
        child.kill("SIGKILL")
        yield* Effect.async<void>((resume) => {
          child.once("exit", () => resume(Effect.void))
        })

        const worker = yield* Layer.build(app([getUser], { queue: "killed" }))
        yield* Effect.provide(getUser({ id: 1 }), worker)
        yield* eventually(Effect.provide(getUser.peek({ id: 1 }), worker), Option.isNone)
        yield* eventually(jobs("killed"), (jobs) => jobs.length === 1 && jobs[0]?.state === "completed")
        expect(yield* jobs("killed")).toEqual([{ state: "completed", retry_count: 1 }])
      }))

    it.scoped("a job that always fails is retried with backoff, then dead-lettered with its reason", () =>
      Effect.gen(function*() {
        const boss = yield* Boss
        const failing = users({ queue: "failing" }, () => Effect.die(new Error("the rule's predicate is broken")))
        yield* Effect.provide(
          Invalidation.publish(updated(1)),
          yield* Layer.build(app([failing], { queue: "failing" }, { attempts: 2, backoff: "1 second" }))
        )
        const letters = yield* eventually(deadLetters(boss, "failing"), (letters) => letters.length > 0)
        expect(letters.map((letter) => [letter.reason, Option.map(letter.job, (job) => job.rule)])).toEqual([
          ["the rule's predicate is broken", Option.some("users(id=id)")]
        ])
        expect(yield* jobs("failing")).toEqual([{ state: "failed", retry_count: 1 }])
      }))

    it.scoped("a job naming a rule this process does not have is dead-lettered at once", () =>
      Effect.gen(function*() {
        const boss = yield* Boss
        yield* Layer.build(app([users({ queue: "unknown" })], { queue: "unknown" }))
        yield* PgBossDispatcher.send(boss, { cache: "users", rule: "users(gone=id)", event: updated(1) }, { queue: "unknown" })
        const letters = yield* eventually(deadLetters(boss, "unknown"), (letters) => letters.length > 0)
        expect(letters.map((letter) => letter.reason)).toEqual([
          `Cached value "users", invalidation rule "users(gone=id)": this engine has no such rule ` +
            "(does this process run the code that made the job?)"
        ])
        expect(yield* jobs("unknown")).toEqual([{ state: "failed", retry_count: 0 }])
      }))

    it.scoped("a job pg-boss cannot take runs in place", () =>
      Effect.gen(function*() {
        const getUser = users({ queue: "stopped" })
        const scope = yield* Scope.make()
        const boss = yield* Scope.extend(PgBossDispatcher.start({ connectionString: url, schema }), scope)
        yield* Scope.close(scope, Exit.void)
        const context = yield* Layer.build(
          InvalidationEngine.layer({ caches: [getUser] }).pipe(
            Layer.provide(PgBossDispatcher.layer({ boss })),
            Layer.provideMerge(CacheStore.layerMemory())
          )
        )
        yield* Effect.provide(getUser({ id: 1 }), context)
        yield* Effect.provide(Invalidation.publish(updated(1)), context)
        expect(yield* Effect.provide(getUser.peek({ id: 1 }), context)).toEqual(Option.none())
      }))

    it.effect("options that cannot work are definition errors, raised when the layer is made", () =>
      Effect.map(Boss, (boss) => {
        expect(() => PgBossWorker.layer({ boss, concurrency: 0 })).toThrow("concurrency must be a whole number of at least 1, got 0")
        expect(() => PgBossWorker.layer({ boss, schema: "pgboss; DROP TABLE users" })).toThrow("schema must be a plain PostgreSQL name")
        expect(() => PgBossDispatcher.layer({ boss, rowsPerJob: 2.5 })).toThrow("rowsPerJob must be a whole number")
      }))
  })
})
