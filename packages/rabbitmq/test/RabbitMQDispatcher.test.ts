import { type Cached, CacheStore, Dispatcher, Invalidation, InvalidationEngine, InvalidationEvent } from "@cachefx/core"
import { RabbitMQDispatcher, RabbitMQWorker } from "@cachefx/rabbitmq"
import { describe, expect, layer } from "@effect/vitest"
import * as amqp from "amqplib"
import { Config, ConfigError, ConfigProvider, Context, Effect, Either, Layer, Option, Schedule, Schema } from "effect"
import { execSync, spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { url, users } from "./fixtures/users.js"

/** A worker whose job blocks, run as a child process a test kills. */
const blockedWorker = new URL("fixtures/blockedWorker.ts", import.meta.url)

/** Queue names of this file, so that no other test run shares them; all deleted after. */
const names = new Set<string>()
const queueName = (name: string) => {
  const queue = `cachefx-test-${process.pid}-${name}`
  for (const suffix of ["", ".dead", ".retry.200", ".retry.400"]) names.add(queue + suffix)
  return queue
}

class Connection extends Context.Tag("test/Connection")<Connection, amqp.ChannelModel>() {}

/** Deletes this file's queues, on a connection of its own (a test may have broken the shared one). */
const deleteQueues = Effect.promise(async () => {
  const connection = await amqp.connect(url)
  const channel = await connection.createChannel()
  for (const name of names) await channel.deleteQueue(name)
  await connection.close()
})

const ConnectionLive = Layer.scoped(
  Connection,
  Effect.zipRight(Effect.addFinalizer(() => deleteQueues), RabbitMQDispatcher.connect(url))
)

/** The cached values' engine with the RabbitMQ dispatcher, on a memory store, and a worker in this process when asked. */
const app = (caches: ReadonlyArray<Cached.Cached.Any>, worker?: Omit<RabbitMQWorker.Options, "connection">) =>
  Layer.unwrapEffect(Effect.map(Connection, (connection) => {
    const engine = InvalidationEngine.layer({ caches }).pipe(Layer.provide(RabbitMQDispatcher.layer({ connection })))
    return worker === undefined
      ? engine
      : RabbitMQWorker.layer({ connection, ...worker }).pipe(Layer.provideMerge(engine))
  })).pipe(Layer.provideMerge(CacheStore.layerMemory()))

const eventually = <A, E, R>(effect: Effect.Effect<A, E, R>, done: (a: A) => boolean) =>
  effect.pipe(
    Effect.filterOrFail(done, () => "not yet"),
    Effect.retry(Schedule.spaced("50 millis")),
    Effect.timeoutFail({ duration: "15 seconds", onTimeout: () => new Error("timed out waiting") })
  )

/** Users renamed: only their own keys are stale. */
const updated = (...ids: ReadonlyArray<number>) =>
  InvalidationEvent.make({ table: "users", operation: "update", rows: ids.map((id) => ({ id, name: "new" })), changed: ["name"] })

/** Messages ready in a queue. */
const ready = (queue: string) =>
  Effect.flatMap(Connection, (connection) =>
    Effect.tryPromise(async () => {
      const channel = await connection.createChannel()
      channel.on("error", () => {}) // a missing queue closes the channel; unheard, amqplib would close the connection
      const { messageCount } = await channel.checkQueue(queue)
      await channel.close()
      return messageCount
    }))

const deadLetters = (queue: string) =>
  Effect.flatMap(Connection, (connection) => Effect.orDie(RabbitMQDispatcher.deadLetters(connection, { queue })))

describe("RabbitMQDispatcher", () => {
  layer(ConnectionLive, { timeout: "30 seconds", excludeTestServices: true })((it) => {
    it.scoped("an event published is run by a worker: the entry is gone", () =>
      Effect.gen(function*() {
        const queue = queueName("e2e")
        const getUser = users({ queue })
        yield* Effect.gen(function*() {
          yield* Effect.forEach([1, 2], (id) => getUser({ id }))
          yield* Invalidation.publish(updated(1))
          yield* eventually(getUser.peek({ id: 1 }), Option.isNone)
          expect(yield* getUser.peek({ id: 2 })).toEqual(Option.some("user 2"))
        }).pipe(Effect.provide(yield* Layer.build(app([getUser], { queue }))))
        expect(yield* Effect.orDie(ready(queue))).toBe(0)
      }))

    it.scoped("layerConfig: the dispatcher and the worker connect to the url they read from Config", () =>
      Effect.gen(function*() {
        const queue = queueName("config")
        const getUser = users({ queue })
        const urlConfig = Config.redacted("RABBITMQ_URL")
        const context = yield* Layer.build(
          RabbitMQWorker.layerConfig({ url: urlConfig, queue: Config.succeed(queue) }).pipe(
            Layer.provideMerge(InvalidationEngine.layer({ caches: [getUser] })),
            Layer.provide(RabbitMQDispatcher.layerConfig({ url: urlConfig })),
            Layer.provideMerge(CacheStore.layerMemory())
          )
        ).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["RABBITMQ_URL", url]]))))
        yield* Effect.provide(getUser({ id: 1 }), context)
        yield* Effect.provide(Invalidation.publish(updated(1)), context)
        yield* eventually(Effect.provide(getUser.peek({ id: 1 }), context), Option.isNone)
      }))

    it.effect("layerConfig: an option read from Config that make refuses is a ConfigError with its reason", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(Layer.build(
          RabbitMQDispatcher.layerConfig({ url: Config.redacted("RABBITMQ_URL"), rowsPerJob: Config.integer("ROWS") })
        ).pipe(Effect.scoped, Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["RABBITMQ_URL", url], ["ROWS", "0"]])))))
        expect(ConfigError.isConfigError(error)).toBe(true)
        expect(String(error)).toContain("rowsPerJob must be a whole number of at least 1, got 0")
      }))

    it.scoped("an event over more rows than rowsPerJob is split into several jobs", () =>
      Effect.gen(function*() {
        const queue = queueName("fanout")
        const getUser = users({ queue, rowsPerJob: 2 })
        const ids = [1, 2, 3, 4, 5]
        const producer = yield* Layer.build(app([getUser]))
        yield* Effect.provide(Effect.forEach(ids, (id) => getUser({ id })), producer)
        yield* Effect.provide(Invalidation.publish(updated(...ids)), producer)
        expect(yield* Effect.orDie(ready(queue))).toBe(3)
        const connection = yield* Connection
        yield* Layer.build(RabbitMQWorker.layer({ connection, queue }).pipe(Layer.provide(Layer.succeedContext(producer))))
        const peeks = Effect.provide(Effect.forEach(ids, (id) => getUser.peek({ id })), producer)
        yield* eventually(peeks, (peeks) => peeks.every(Option.isNone))
      }))

    it.scoped("a worker killed mid-job: RabbitMQ delivers the job again and a second worker runs it", () =>
      Effect.gen(function*() {
        const queue = queueName("killed")
        const getUser = users({ queue })
        const producer = yield* Layer.build(app([getUser]))
        yield* Effect.provide(getUser({ id: 1 }), producer)
        yield* Effect.provide(Invalidation.publish(updated(1)), producer)

        const child = yield* Effect.acquireRelease(
          Effect.sync(() =>
            spawn(process.execPath, ["--import", "tsx", "--conditions=@cachefx/source", fileURLToPath(blockedWorker)], {
              env: { ...process.env, QUEUE: queue },
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
        child.kill("SIGKILL")
        yield* Effect.async<void>((resume) => {
          child.once("exit", () => resume(Effect.void))
        })
        expect(yield* Effect.provide(getUser.peek({ id: 1 }), producer)).toEqual(Option.some("user 1"))

        const worker = yield* Layer.build(app([getUser], { queue }))
        yield* eventually(Effect.provide(getUser.peek({ id: 1 }), worker), Option.isNone)
        expect(yield* Effect.orDie(ready(queue))).toBe(0)
      }))

    it.scoped("a worker whose consumer is cancelled (its queue deleted) consumes again", () =>
      Effect.gen(function*() {
        const queue = queueName("cancelled")
        const getUser = users({ queue })
        const context = yield* Layer.build(app([getUser], { queue }))
        yield* Effect.provide(getUser({ id: 1 }), context)
        yield* Effect.flatMap(Connection, (connection) =>
          Effect.promise(async () => {
            const channel = await connection.createChannel()
            await channel.deleteQueue(queue)
            await channel.close()
          }))
        yield* eventually(Effect.either(ready(queue)), Either.isRight) // declared again by the worker
        yield* Effect.provide(Invalidation.publish(updated(1)), context)
        yield* eventually(Effect.provide(getUser.peek({ id: 1 }), context), Option.isNone)
      }))

    it.scoped("a recovering connection closed under the worker: it consumes again after the reconnect", () =>
      Effect.gen(function*() {
        const queue = queueName("recovery")
        const getUser = users({ queue })
        const name = `cachefx-test-${process.pid}-recovery`
        const connection = yield* Effect.acquireRelease(
          Effect.promise(() =>
            amqp.connect(url, { recovery: { initialDelay: 100 }, noDelay: true, clientProperties: { connection_name: name } })
          ),
          (connection) => Effect.promise(() => connection.close())
        )
        // the producer publishes over the test's connection; only the worker, over the recovering one, can invalidate
        const store = Layer.succeedContext(yield* Layer.build(CacheStore.layerMemory()))
        const stable = yield* Connection
        const context = yield* Layer.build(
          InvalidationEngine.layer({ caches: [getUser] }).pipe(
            Layer.provide(RabbitMQDispatcher.layer({ connection: stable })),
            Layer.provideMerge(store)
          )
        )
        yield* Layer.build(
          RabbitMQWorker.layer({ connection, queue }).pipe(
            Layer.provide(InvalidationEngine.layer({ caches: [getUser] })),
            Layer.provide(RabbitMQDispatcher.layer({ connection })),
            Layer.provide(store)
          )
        )
        const invalidated = (id: number) =>
          Effect.gen(function*() {
            yield* getUser({ id })
            yield* Invalidation.publish(updated(id))
            yield* eventually(getUser.peek({ id }), Option.isNone)
          }).pipe(Effect.provide(context))
        yield* invalidated(1)
        yield* Effect.sync(() =>
          execSync(
            `rabbitmqctl -q close_connection "$(rabbitmqctl -q list_connections pid client_properties | grep ${name} | cut -f1)" test`
          )
        )
        yield* invalidated(2)
      }))

    it.scoped("a job that always fails is retried with backoff, then dead-lettered with its reason", () =>
      Effect.gen(function*() {
        const queue = queueName("failing")
        const failing = users({ queue }, () => Effect.die(new Error("the rule's predicate is broken")))
        const started = Date.now()
        yield* Effect.provide(
          Invalidation.publish(updated(1)),
          yield* Layer.build(app([failing], { queue, attempts: 3, backoff: "200 millis" }))
        )
        const letters = yield* eventually(deadLetters(queue), (letters) => letters.length > 0)
        expect(Date.now() - started).toBeGreaterThanOrEqual(600)
        expect(letters.map((letter) => [letter.reason, letter.deliveries, Option.map(letter.job, (job) => job.rule)])).toEqual([
          ["the rule's predicate is broken", 3, Option.some("users(id=id)")]
        ])
        expect(yield* deadLetters(queue)).toHaveLength(1) // reading them leaves them there
      }))

    it.scoped("a job naming a rule this process does not have is dead-lettered at once", () =>
      Effect.gen(function*() {
        const queue = queueName("unknown")
        yield* Layer.build(app([users({ queue })], { queue }))
        const job = { cache: "users", rule: "users(gone=id)", event: updated(1) }
        yield* Effect.flatMap(Connection, (connection) =>
          Effect.promise(async () => {
            const channel = await connection.createConfirmChannel()
            channel.sendToQueue(queue, Buffer.from(JSON.stringify(Schema.encodeSync(Dispatcher.Job)(job))), { persistent: true })
            await channel.waitForConfirms()
            await channel.close()
          }))
        const letters = yield* eventually(deadLetters(queue), (letters) => letters.length > 0)
        expect(letters.map((letter) => [letter.reason, letter.deliveries])).toEqual([[
          `Cached value "users", invalidation rule "users(gone=id)": this engine has no such rule ` +
            "(does this process run the code that made the job?)",
          1
        ]])
      }))

    it.scoped("a job RabbitMQ cannot take runs in place", () =>
      Effect.gen(function*() {
        const queue = queueName("closed")
        const getUser = users({ queue })
        const connection = yield* RabbitMQDispatcher.connect(url)
        const context = yield* Layer.build(
          InvalidationEngine.layer({ caches: [getUser] }).pipe(
            Layer.provide(RabbitMQDispatcher.layer({ connection })),
            Layer.provideMerge(CacheStore.layerMemory())
          )
        )
        yield* Effect.provide(getUser({ id: 1 }), context)
        yield* Effect.promise(() => connection.close())
        yield* Effect.provide(Invalidation.publish(updated(1)), context)
        expect(yield* Effect.provide(getUser.peek({ id: 1 }), context)).toEqual(Option.none())
      }))

    it.effect("options that cannot work are definition errors, raised when the layer is made", () =>
      Effect.map(Connection, (connection) => {
        expect(() => RabbitMQWorker.layer({ connection, concurrency: 0 })).toThrow("concurrency must be a whole number of at least 1, got 0")
        expect(() => RabbitMQWorker.layer({ connection, attempts: 0 })).toThrow("attempts must be a whole number")
        expect(() => RabbitMQDispatcher.layer({ connection, rowsPerJob: 0 })).toThrow("rowsPerJob must be a whole number")
      }))
  })
})
