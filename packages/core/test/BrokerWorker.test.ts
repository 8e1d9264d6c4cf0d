/**
 * The worker skeleton the broker packages share (`BrokerJob.runner`, `BrokerJob.worker`),
 * against a broker in memory: what it decides for each job, what it asks the broker to
 * record, and what it finishes when its scope closes.
 */
import { describe, expect, it } from "@effect/vitest"
import {
  BrokerJob,
  Cached,
  type Dispatcher,
  InvalidationEvent,
  InvalidationRule,
  KeyConstructor,
  KeyField
} from "@cachefx/core"
import { Deferred, Duration, Effect, Exit, Fiber, Layer, Option, Schema, Scope } from "effect"
import { engine, wipes } from "./posts.js"

/** A message of the broker in memory: its id, the job it carries, which delivery it is and how many its job may have. */
interface Message {
  readonly id: string
  readonly job: unknown
  readonly delivery?: number
  readonly attempts?: number
}

const Users = KeyConstructor.make({ namespace: "users", fields: [KeyField.arg("id")] })

/** Held open by a test: the users rule waits for it before it applies. */
let gate: Effect.Effect<void> = Effect.void

const users = Cached.cached({
  key: Users,
  invalidatesOn: [
    InvalidationRule.make({ table: "users", fieldMapping: { id: "id" }, when: () => Effect.as(Effect.suspend(() => gate), true) }),
    InvalidationRule.make({
      table: "accounts",
      fieldMapping: { id: "id" },
      name: "always-fails",
      when: () => Effect.dieMessage("the accounts rule always fails")
    })
  ]
})((input: { readonly id: number }) => Effect.succeed(`user ${input.id}`))

const text = (job: Dispatcher.Job) => Schema.encodeSync(BrokerJob.Wire)(job)
const deleted = (id: number) =>
  text({ cache: "users", rule: "users(id=id)", event: InvalidationEvent.make({ table: "users", operation: "delete", rows: [{ id }] }) })
const failing = text({
  cache: "users",
  rule: "always-fails",
  event: InvalidationEvent.make({ table: "accounts", operation: "delete", rows: [{ id: 1 }] })
})
const unknownRule = text({
  cache: "users",
  rule: "renamed-since",
  event: InvalidationEvent.make({ table: "users", operation: "delete", rows: [{ id: 1 }] })
})

/** A broker in memory: what the worker asked it to record, in order; `refuse` makes every record fail. */
const memoryBroker = (refuse = false) => {
  const records: Array<string> = []
  const record = (line: string) =>
    refuse
      ? Effect.fail(new BrokerJob.BrokerError({ operation: "record", reason: "the broker is down" }))
      : Effect.sync(() => {
        records.push(line)
      })
  const options: BrokerJob.WorkerOptions<Message> = {
    broker: "memory",
    job: (message) => message.job,
    delivery: (message) => message.delivery ?? 1,
    attempts: (message) => message.attempts ?? 3,
    backoff: "100 millis",
    annotations: (message) => ({ id: message.id }),
    ack: (messages) => record(`ack ${messages.map((message) => message.id).join(",")}`),
    retry: (message, retry) =>
      record(`retry ${message.id} #${retry.delivery} in ${Option.getOrThrow(retry.delay).pipe(Duration.toMillis)} ms: ${retry.reason}`),
    deadLetter: (message, dead) => record(`dead ${message.id} after ${dead.deliveries}: ${dead.reason}`)
  }
  return { records, options }
}


const Engine = engine([users])

describe("BrokerJob.worker", () => {
  it.scoped("a job done is applied, then acknowledged", () =>
    Effect.gen(function*() {
      const broker = memoryBroker()
      const worker = yield* BrokerJob.worker(broker.options)
      yield* worker.handle({ id: "a", job: deleted(1) })
      expect(yield* wipes).toEqual(["invalidate key cachefx:users:1:#1"])
      expect(broker.records).toEqual(["ack a"])
    }).pipe(Effect.provide(Engine)))

  it.scoped("a job that fails is retried after the backoff, doubled at each delivery, and dead-lettered on its last attempt", () =>
    Effect.gen(function*() {
      const broker = memoryBroker()
      const worker = yield* BrokerJob.worker(broker.options)
      for (const delivery of [1, 2, 3]) {
        yield* worker.handle({ id: "f", job: failing, delivery })
      }
      expect(broker.records).toEqual([
        "retry f #1 in 100 ms: the accounts rule always fails",
        "retry f #2 in 200 ms: the accounts rule always fails",
        "dead f after 3: the accounts rule always fails"
      ])
    }).pipe(Effect.provide(Engine)))

  it.scoped("a job no retry can mend is dead-lettered on its first delivery: an unknown rule, a job that does not decode", () =>
    Effect.gen(function*() {
      const broker = memoryBroker()
      const worker = yield* BrokerJob.worker(broker.options)
      yield* worker.handle({ id: "u", job: unknownRule, attempts: 5 })
      yield* worker.handle({ id: "x", job: "{not json", attempts: 5 })
      expect(broker.records[0]).toBe(
        `dead u after 1: Cached value "users", invalidation rule "renamed-since": this engine has no such rule (does this process run the code that made the job?)`
      )
      expect(broker.records[1]).toMatch(/^dead x after 1: the job does not decode: /)
      expect(broker.records).toHaveLength(2)
    }).pipe(Effect.provide(Engine)))

  it.scoped("the outcome of a job for a broker that records it itself: runner decides, and records nothing", () =>
    Effect.gen(function*() {
      const outcomeOf = yield* BrokerJob.runner<Message>({
        broker: "memory",
        job: (message) => message.job,
        delivery: (message) => message.delivery ?? 1,
        attempts: () => 2
      })
      expect(yield* outcomeOf({ id: "a", job: deleted(2) })).toEqual({ _tag: "Done" })
      // without a backoff, a retry has no delay: the broker applies its own
      expect(yield* outcomeOf({ id: "f", job: failing })).toEqual({
        _tag: "Retry",
        reason: "the accounts rule always fails",
        delivery: 1,
        delay: Option.none()
      })
      expect(yield* outcomeOf({ id: "f", job: failing, delivery: 2 })).toEqual({
        _tag: "Dead",
        reason: "the accounts rule always fails",
        deliveries: 2
      })
    }).pipe(Effect.provide(Engine)))

  it.scoped("a broker that cannot record an outcome fails no handle: the job is left to be delivered again", () =>
    Effect.gen(function*() {
      const broker = memoryBroker(true)
      const worker = yield* BrokerJob.worker(broker.options)
      const exits = yield* Effect.forEach(
        [{ id: "a", job: deleted(3) }, { id: "f", job: failing }, { id: "u", job: unknownRule }],
        (message) => Effect.exit(worker.handle(message))
      )
      expect(exits.every(Exit.isSuccess)).toBe(true)
      yield* worker.handleBatch([{ id: "b", job: deleted(4) }, { id: "g", job: failing }])
      expect(broker.records).toEqual([])
    }).pipe(Effect.provide(Engine)))

  it.scoped("handleBatch runs the jobs at once, acknowledges those done in one call, and records each failure", () =>
    Effect.gen(function*() {
      const broker = memoryBroker()
      const worker = yield* BrokerJob.worker(broker.options)
      yield* worker.handleBatch([
        { id: "a", job: deleted(5) },
        { id: "f", job: failing },
        { id: "b", job: deleted(6) },
        { id: "u", job: unknownRule }
      ])
      expect(broker.records[0]).toBe("ack a,b")
      expect(broker.records.slice(1).map((line) => line.slice(0, 6))).toEqual(["retry ", "dead u"])
    }).pipe(Effect.provide(Engine)))

  it.live("whileRunning runs beside a job, and is interrupted when it ends", () =>
    Effect.gen(function*() {
      const broker = memoryBroker()
      const beats: Array<string> = []
      const stopped = yield* Deferred.make<void>()
      const worker = yield* BrokerJob.worker({
        ...broker.options,
        whileRunning: (message) =>
          Effect.sync(() => beats.push(message.id)).pipe(
            Effect.zipRight(Effect.never),
            Effect.onInterrupt(() => Deferred.succeed(stopped, undefined))
          )
      })
      const open = yield* Deferred.make<void>()
      gate = Deferred.await(open)
      const running = yield* Effect.fork(worker.handle({ id: "a", job: deleted(7) }))
      yield* Effect.sleep("20 millis")
      expect(beats).toEqual(["a"])
      expect(broker.records).toEqual([])
      yield* Deferred.succeed(open, undefined)
      yield* Fiber.join(running)
      yield* Deferred.await(stopped)
      expect(broker.records).toEqual(["ack a"])
    }).pipe(Effect.ensuring(Effect.sync(() => (gate = Effect.void))), Effect.provide(Engine), Effect.scoped))
})

describe("Worker.poll and Worker.consumer", () => {
  it.live("poll: a batch received is run and recorded even when the scope closes meanwhile; no batch is taken after", () =>
    Effect.gen(function*() {
      const broker = memoryBroker()
      const open = yield* Deferred.make<void>()
      gate = Deferred.await(open)
      let received = 0
      const scope = yield* Scope.make()
      const worker = yield* BrokerJob.worker(broker.options)
      yield* worker.poll({
        receive: Effect.sync(() => {
          received++
          return [{ id: `a${received}`, job: deleted(8) }]
        }),
        retryAfter: "1 second"
      }).pipe(Scope.extend(scope))
      yield* Effect.sleep("20 millis")
      const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
      yield* Effect.sleep("20 millis")
      expect(yield* Fiber.poll(closing)).toEqual(Option.none()) // waits for the job in hand
      yield* Deferred.succeed(open, undefined)
      yield* Fiber.join(closing)
      expect(received).toBe(1)
      expect(broker.records).toEqual(["ack a1"])
    }).pipe(Effect.ensuring(Effect.sync(() => (gate = Effect.void))), Effect.provide(Engine), Effect.scoped))

  it.live("poll: a receive that fails is tried again after retryAfter; an empty batch waits idle", () =>
    Effect.gen(function*() {
      const broker = memoryBroker()
      const worker = yield* BrokerJob.worker(broker.options)
      const calls: Array<number> = []
      const started = Date.now()
      yield* worker.poll({
        receive: Effect.suspend(() => {
          calls.push(Date.now() - started)
          return calls.length === 1
            ? Effect.fail(new BrokerJob.BrokerError({ operation: "receive", reason: "down" }))
            : calls.length === 2
            ? Effect.succeed([])
            : calls.length === 3
            ? Effect.succeed([{ id: "a", job: deleted(9) }])
            : Effect.succeed([])
        }),
        idle: "100 millis",
        retryAfter: "200 millis"
      })
      yield* Effect.sleep("450 millis")
      expect(calls.length).toBeGreaterThanOrEqual(4)
      expect(calls[1]! - calls[0]!).toBeGreaterThanOrEqual(190)
      expect(calls[2]! - calls[1]!).toBeGreaterThanOrEqual(90)
      expect(broker.records).toEqual(["ack a"])
    }).pipe(Effect.provide(Engine), Effect.scoped))

  it.live("poll with interruptReceive: closing does not wait for a receive in flight", () =>
    Effect.gen(function*() {
      const broker = memoryBroker()
      const worker = yield* BrokerJob.worker(broker.options)
      const scope = yield* Scope.make()
      yield* worker.poll({ receive: Effect.never, retryAfter: "1 second", interruptReceive: true }).pipe(Scope.extend(scope))
      yield* Effect.sleep("20 millis")
      const closed = yield* Scope.close(scope, Exit.void).pipe(Effect.timeoutOption("1 second"))
      expect(Option.isSome(closed)).toBe(true)
    }).pipe(Effect.provide(Engine), Effect.scoped))

  it.live("consumer: each pushed message runs in a fiber; the scope waits for those in hand when it closes", () =>
    Effect.gen(function*() {
      const broker = memoryBroker()
      const open = yield* Deferred.make<void>()
      gate = Deferred.await(open)
      const worker = yield* BrokerJob.worker(broker.options)
      const scope = yield* Scope.make()
      const push = yield* Scope.extend(worker.consumer, scope)
      push({ id: "a", job: deleted(10) })
      push({ id: "b", job: deleted(11) })
      const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
      yield* Effect.sleep("20 millis")
      expect(yield* Fiber.poll(closing)).toEqual(Option.none())
      yield* Deferred.succeed(open, undefined)
      yield* Fiber.join(closing)
      expect([...broker.records].sort()).toEqual(["ack a", "ack b"])
    }).pipe(Effect.ensuring(Effect.sync(() => (gate = Effect.void))), Effect.provide(Engine), Effect.scoped))
})

describe("BrokerJob layer shapes", () => {
  it.scoped("dispatcherLayer names the dispatcher by its option, or by the broker's default name", () =>
    Effect.gen(function*() {
      const layer = BrokerJob.dispatcherLayer("memory", (options: { readonly name?: string | undefined }) =>
        Effect.succeed(BrokerJob.dispatcher({ name: options.name ?? "memory", rowsPerJob: 1, timeout: "1 second", send: async () => {} })))
      const context = yield* Layer.build(Layer.merge(layer({}), layer({ name: "audit" })))
      expect([...context.unsafeMap.keys()].sort()).toEqual(["@cachefx/core/Dispatcher/audit", "@cachefx/core/Dispatcher/memory"])
    }))
})
