/**
 * A broker worker killed mid-job (a child process, SIGKILL) loses no invalidation: many
 * events are published, the child takes jobs and hangs in them, it is killed, and a
 * second worker finishes; every expected key is counted gone. BullMQ and Redis Streams,
 * through the broker contract's fixtures (`@cachefx/testkit`).
 */
import { Invalidation, InvalidationEvent } from "@cachefx/core"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option, Schedule } from "effect"
import { fileURLToPath } from "node:url"
import { afterAll } from "vitest"
import { broker as bullmq } from "../../bullmq/test/bullmqBroker.js"
import { type Broker, engine, hangingWorker, users } from "@cachefx/testkit"
import { broker as streams } from "../../redis/test/streamBroker.js"
import { cleanup, report } from "./support.js"

const modules: ReadonlyArray<{ readonly name: string; readonly broker: Broker; readonly module: string }> = [
  { name: "BullMQ", broker: bullmq, module: fileURLToPath(new URL("../../bullmq/test/bullmqBroker.ts", import.meta.url)) },
  { name: "Redis Streams", broker: streams, module: fileURLToPath(new URL("../../redis/test/streamBroker.ts", import.meta.url)) }
]

const marker = `proof-broker-${process.pid}`
afterAll(() => cleanup(marker))

/** The cached value of the fixture, to read the store with. */
const view = users("none")
const keys = 40

describe.each(modules)("$name worker killed mid-job", ({ broker, module }) => {
  it.live(`0 of ${keys} invalidations lost`, () => {
    const ns = `${marker}-${broker.name}`
    const ids = Array.from({ length: keys }, (_, i) => i + 1)
    return Effect.gen(function*() {
      yield* Effect.forEach(ids, (id) => view({ id }), { discard: true })
      const filled = yield* Effect.forEach(ids, (id) => view.peek({ id }))
      expect(filled.filter(Option.isSome)).toHaveLength(keys)

      // a worker that hangs in every job it takes
      const { child, running, started } = yield* hangingWorker(module, ns)
      // one event per row, some with several rows: jobs of either size
      for (const id of ids.slice(0, keys / 2)) {
        yield* Invalidation.publish(InvalidationEvent.make({ table: "users", operation: "update", rows: [{ id }] }))
      }
      yield* Invalidation.publish(
        InvalidationEvent.make({ table: "users", operation: "delete", rows: ids.slice(keys / 2).map((id) => ({ id })) })
      )
      yield* running
      yield* Effect.sleep("300 millis")
      child.kill("SIGKILL")
      const startedInChild = started()

      // nothing was applied while the only worker hung
      const before = yield* Effect.forEach(ids, (id) => view.peek({ id }))
      expect(before.filter(Option.isSome).length).toBe(keys)

      yield* Layer.build(broker.worker(ns))
      const gone = yield* Effect.forEach(ids, (id) => view.peek({ id })).pipe(
        Effect.map((found) => found.filter(Option.isNone).length),
        Effect.filterOrFail((count) => count === keys, (count) => `${count} of ${keys} gone`),
        Effect.retry(Schedule.spaced("100 millis").pipe(Schedule.upTo("25 seconds"))),
        Effect.catchAll((reason) => Effect.succeed(reason))
      )
      report(`broker/${broker.name}`, { keys, jobsStartedInKilledWorker: startedInChild, gone: typeof gone === "number" ? gone : -1 })
      expect(gone).toBe(keys)
    }).pipe(Effect.provide(engine(broker, ns)), Effect.scoped)
  }, 60_000)
})
