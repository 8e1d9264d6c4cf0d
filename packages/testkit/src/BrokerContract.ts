/**
 * One contract suite for the broker dispatchers (`@cachefx/bullmq`, `@cachefx/pg-boss`,
 * `@cachefx/rabbitmq`, `@cachefx/redis`'s streams), run by each package against its real
 * broker: an
 * event published through the engine is applied by a worker, an event with many rows
 * fans out, a worker killed mid-job (a child process, SIGKILL) loses nothing, a
 * job that always fails, or names a rule the worker does not have, is dead-lettered
 * with its reason, and `deadLetters` lists them newest first, `count` at most.
 *
 * A broker module exports `broker: Broker`; the child worker (`brokerWorker.ts`) imports
 * it by path, so both processes build their layers from one definition.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Dispatcher, Invalidation, InvalidationEvent } from "@cachefx/core"
import { Duration, Effect, Layer, Option, Schedule } from "effect"
import { type Broker, engine, hangingWorker, type Letter, users } from "./BrokerFixture.js"
import { cleanup } from "./SharedRedis.js"

/** The cached value of the fixture, to read the store with. */
const view = users("none")

/** Runs `effect` until its result passes `done` (up to 20 s). */
const eventually = <A, R>(effect: Effect.Effect<A, unknown, R>, done: (a: A) => boolean) =>
  effect.pipe(
    Effect.filterOrFail(done, () => "not yet"),
    Effect.retry(Schedule.spaced("50 millis").pipe(Schedule.upTo("20 seconds"))),
    Effect.orDie
  )

const absent = (id: number) => eventually(view.peek({ id }), Option.isNone)

const fill = (...ids: ReadonlyArray<number>) =>
  Effect.forEach(ids, (id) => view({ id }), { discard: true }).pipe(
    Effect.zipRight(Effect.forEach(ids, (id) => view.peek({ id }))),
    Effect.tap((values) => expect(values.every(Option.isSome)).toBe(true))
  )

/** The dead letters of the broker, once there are some; there must be one. */
const deadLetters = (broker: Broker, ns: string) =>
  eventually(broker.deadLetters(ns), (dead) => dead.length > 0).pipe(Effect.tap((dead) => expect(dead).toHaveLength(1)))

/** Hands a job straight to a fresh instance of the broker's dispatcher. */
const send = (broker: Broker, ns: string, job: Dispatcher.Job) =>
  Effect.flatMap(Dispatcher.tag(broker.name), (dispatcher) => dispatcher.dispatch({ job, config: {}, run: Effect.void })).pipe(
    Effect.provide(broker.dispatcher(ns))
  )

/**
 * Runs the contract against `broker`, exported as `broker` by the module at `module`
 * (the child worker imports it from there). The entries go to the shared Redis under
 * a marker of this run, removed after.
 */
export const contract = (broker: Broker, module: string) => {
  const marker = `cachefx-contract-${broker.name}-${process.pid}-${Date.now()}`
  const namespaces: Array<string> = []
  const namespace = () => {
    namespaces.push(`${marker}-${namespaces.length + 1}`)
    return namespaces[namespaces.length - 1]!
  }
  afterAll(async () => {
    await cleanup(marker)
    if (broker.cleanup !== undefined) await Effect.runPromise(Effect.orDie(broker.cleanup(namespaces)))
  })

  describe(`${broker.name} dispatcher`, () => {
    it.live("an event published is applied by a worker: the key is gone", () => {
      const ns = namespace()
      return Effect.gen(function*() {
        yield* fill(1, 2)
        yield* Invalidation.publish(InvalidationEvent.make({ table: "users", operation: "delete", rows: [{ id: 1 }] }))
        yield* Layer.build(broker.worker(ns))
        yield* absent(1)
        expect(Option.isSome(yield* view.peek({ id: 2 }))).toBe(true)
      }).pipe(Effect.provide(engine(broker, ns)), Effect.scoped)
    }, 30_000)

    it.live("an event with many rows fans out; every row's key is gone", () => {
      const ns = namespace()
      const ids = Array.from({ length: 7 }, (_, i) => i + 10)
      return Effect.gen(function*() {
        yield* fill(...ids)
        yield* Layer.build(broker.worker(ns))
        yield* Invalidation.publish(InvalidationEvent.make({ table: "users", operation: "delete", rows: ids.map((id) => ({ id })) }))
        yield* Effect.forEach(ids, absent, { discard: true })
      }).pipe(Effect.provide(engine(broker, ns)), Effect.scoped)
    }, 30_000)

    it.live("a job stays with its worker while it lives (past the lock / visibility timeout); killed mid-job, it runs again in another worker", () => {
      const ns = namespace()
      return Effect.gen(function*() {
        yield* fill(3)
        const { child, running } = yield* hangingWorker(module, ns)
        yield* Invalidation.publish(InvalidationEvent.make({ table: "users", operation: "update", rows: [{ id: 3 }] }))
        yield* running
        // while its worker lives, a job running longer than the lock / visibility timeout (2 s) stays with it
        yield* Layer.build(broker.worker(ns))
        yield* Effect.sleep("3 seconds")
        expect(Option.isSome(yield* view.peek({ id: 3 }))).toBe(true)
        child.kill("SIGKILL")
        yield* absent(3)
      }).pipe(Effect.provide(engine(broker, ns)), Effect.scoped)
    }, 40_000)

    it.live("a broker that does not answer: publish waits at most its timeout, and the job runs in place", () => {
      const ns = namespace()
      return Effect.gen(function*() {
        yield* fill(6)
        const [elapsed] = yield* Effect.timed(
          Invalidation.publish(InvalidationEvent.make({ table: "users", operation: "delete", rows: [{ id: 6 }] }))
        )
        expect(Duration.toMillis(elapsed)).toBeLessThan(3_000)
        expect(Option.isNone(yield* view.peek({ id: 6 }))).toBe(true)
      }).pipe(Effect.provide(engine(broker, ns, broker.unreachable("300 millis"))), Effect.scoped)
    }, 30_000)

    it.live("a job that always fails is dead-lettered with its reason after its retries", () => {
      const ns = namespace()
      return Effect.gen(function*() {
        yield* Layer.build(broker.worker(ns))
        yield* Invalidation.publish(InvalidationEvent.make({ table: "accounts", operation: "delete", rows: [{ id: 4 }] }))
        const [dead] = yield* deadLetters(broker, ns)
        expect(dead!.reason).toContain("the accounts rule always fails")
        expect(dead!.deliveries).toBe(2)
        expect(Option.map(dead!.job, (job) => job.rule)).toEqual(Option.some("always-fails"))
      }).pipe(Effect.provide(engine(broker, ns)), Effect.scoped)
    }, 30_000)

    it.live("a job naming a rule this process does not have is dead-lettered at once, with that reason", () => {
      const ns = namespace()
      return Effect.gen(function*() {
        yield* Layer.build(broker.worker(ns))
        const event = InvalidationEvent.make({ table: "users", operation: "delete", rows: [{ id: 5 }] })
        yield* send(broker, ns, { cache: "users", rule: "renamed-since", event })
        const [dead] = yield* deadLetters(broker, ns)
        expect(dead!.reason).toBe(
          `Cached value "users", invalidation rule "renamed-since": this engine has no such rule (does this process run the code that made the job?)`
        )
        expect(dead!.deliveries).toBe(1)
      }).pipe(Effect.provide(engine(broker, ns)), Effect.scoped)
    }, 30_000)

    it.live("dead letters are listed newest first, `count` of them at most", () => {
      const ns = namespace()
      const unknownRule = (id: number) =>
        send(broker, ns, {
          cache: "users",
          rule: "renamed-since",
          event: InvalidationEvent.make({ table: "users", operation: "delete", rows: [{ id }] })
        })
      const ids = (letters: ReadonlyArray<Letter>) =>
        letters.map((letter) => Option.map(letter.job, (job) => (job.event.rows[0] as { readonly id: number }).id))
      return Effect.gen(function*() {
        yield* Layer.build(broker.worker(ns))
        yield* unknownRule(7)
        yield* deadLetters(broker, ns)
        yield* unknownRule(8)
        const both = yield* eventually(broker.deadLetters(ns), (dead) => dead.length === 2)
        expect(ids(both)).toEqual([Option.some(8), Option.some(7)])
        expect(ids(yield* broker.deadLetters(ns, { count: 1 }))).toEqual([Option.some(8)])
      }).pipe(Effect.provide(engine(broker, ns)), Effect.scoped)
    }, 30_000)
  })
}
