/**
 * Restflow's default dispatcher setting and batch, on the engine: `dispatcher` names the
 * dispatcher of every rule that names none; `batch` hands all the rules one write matched
 * that share a dispatcher and its config to it as one job.
 */
import { describe, expect, it } from "@effect/vitest"
import {
  BrokerJob,
  Cached,
  Dispatcher,
  Invalidation,
  InvalidationEngine,
  InvalidationEvent,
  InvalidationRule,
  KeyConstructor,
  KeyField,
  TestCache
} from "@cachefx/core"
import { Effect, Exit, Layer, Schema } from "effect"

const byId = (namespace: string) => KeyConstructor.make({ namespace, fields: [KeyField.arg("id")] })

/** A cached value over `table` with one rule, on `dispatcher` when given. */
const cacheOn = (namespace: string, options: { readonly dispatcher?: string; readonly config?: Record<string, unknown> } = {}) =>
  Cached.cached({
    key: byId(namespace),
    invalidatesOn: [
      InvalidationRule.make({
        table: "users",
        fieldMapping: { id: "id" },
        ...(options.dispatcher === undefined ? {} : { dispatcher: options.dispatcher }),
        ...(options.config === undefined ? {} : { dispatcherConfig: options.config })
      })
    ]
  })((input: { readonly id: number }) => Effect.succeed(input.id))

const deleted = (id: number) => InvalidationEvent.make({ table: "users", operation: "delete", rows: [{ id }] })

/** A dispatcher named "recording" that keeps each job it is given, then runs it in place. */
const recording = () => {
  const jobs: Array<Dispatcher.Job> = []
  const layer = Layer.succeed(Dispatcher.tag("recording"), {
    name: "recording",
    dispatch: ({ job, run }) => Effect.zipRight(Effect.sync(() => jobs.push(job)), run)
  })
  return { jobs, layer }
}

/** Keys the store deleted, as the test cache logged them. */
const keysDeleted = Effect.flatMap(TestCache.TestCache, (cache) => cache.log).pipe(
  Effect.map((log) => log.filter((op) => op.op === "invalidate" && op.scope === "Key" && op.outcome === "done").map((op) => op.target))
)

const publishWith = <R>(options: InvalidationEngine.Options, dispatchers: Layer.Layer<R>, event: InvalidationEvent.InvalidationEvent) =>
  Invalidation.publish(event).pipe(Effect.provide(InvalidationEngine.layer(options).pipe(Layer.provide(dispatchers))))

describe("InvalidationEngine options", () => {
  it.scoped("dispatcher: a rule that names no dispatcher goes to the engine's default; one that names inline stays inline", () =>
    Effect.gen(function*() {
      const { jobs, layer } = recording()
      const defaulted = cacheOn("defaulted")
      const inline = cacheOn("inline-named", { dispatcher: "inline" })
      yield* publishWith({ caches: [defaulted, inline], dispatcher: "recording" }, layer, deleted(1))
      expect(jobs.map((job) => job.cache)).toEqual(["defaulted"])
      expect((yield* keysDeleted).length).toBe(2)
    }).pipe(Effect.provide(TestCache.layer())))

  it.scoped("dispatcher: a default no layer provides fails the engine's layer, naming it", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(
        publishWith({ caches: [cacheOn("missing")], dispatcher: "nowhere" }, Layer.empty, deleted(1))
      )
      expect(Exit.isFailure(exit)).toBe(true)
      expect(String(Exit.isFailure(exit) ? exit.cause : "")).toContain(`no layer provides the dispatcher "nowhere"`)
    }).pipe(Effect.provide(TestCache.layer())))

  it.scoped("batch: the rules one write matched on one dispatcher and config are one job, which applies them all", () =>
    Effect.gen(function*() {
      const { jobs, layer } = recording()
      const caches = [
        cacheOn("a", { dispatcher: "recording" }),
        cacheOn("b", { dispatcher: "recording" }),
        cacheOn("c", { dispatcher: "recording", config: { queue: "other" } })
      ]
      yield* publishWith({ caches, batch: true }, layer, deleted(7))
      expect(jobs.map((job) => [job.cache, job.batch?.map((part) => part.cache) ?? []])).toEqual([["a", ["b"]], ["c", []]])
      expect((yield* keysDeleted).length).toBe(3)
    }).pipe(Effect.provide(TestCache.layer())))

  it.scoped("batch off (the default): one job per rule", () =>
    Effect.gen(function*() {
      const { jobs, layer } = recording()
      const caches = [cacheOn("a", { dispatcher: "recording" }), cacheOn("b", { dispatcher: "recording" })]
      yield* publishWith({ caches }, layer, deleted(7))
      expect(jobs.map((job) => job.batch)).toEqual([undefined, undefined])
    }).pipe(Effect.provide(TestCache.layer())))

  it.scoped("a batched job survives the wire and a worker's engine.run applies every rule in it; an unknown rule in it fails the job", () =>
    Effect.gen(function*() {
      const caches = [cacheOn("a"), cacheOn("b")]
      const job: Dispatcher.Job = { cache: "a", rule: caches[0]!.rules[0]!.name, event: deleted(9), batch: [{ cache: "b", rule: caches[1]!.rules[0]!.name }] }
      const received = Schema.decodeSync(BrokerJob.Wire)(Schema.encodeSync(BrokerJob.Wire)(job))
      expect(received.batch).toEqual(job.batch)
      const engine = yield* InvalidationEngine.InvalidationEngine.pipe(Effect.provide(InvalidationEngine.layer({ caches })))
      yield* engine.run(received)
      expect((yield* keysDeleted).length).toBe(2)
      const unknown = yield* Effect.flip(engine.run({ ...received, batch: [{ cache: "b", rule: "no such rule" }] }))
      expect(unknown._tag).toBe("InvalidationRuleError")
    }).pipe(Effect.provide(TestCache.layer())))
})
