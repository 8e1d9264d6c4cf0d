/**
 * What the broker benchmarks measure, each against the inline dispatcher in the same
 * process, on a memory store:
 * - publish latency: `Invalidation.publish` of one event, one at a time (µs, median):
 *   inline runs the job before it returns, a broker only hands it over;
 * - end-to-end throughput: `events` events published by 32 fibers with a worker in this
 *   process, until every job has run (events/s, median of `rounds`).
 */
import {
  Cached,
  CacheMetrics,
  CacheStore,
  Dispatcher,
  Invalidation,
  InvalidationEngine,
  InvalidationBus,
  InvalidationEvent,
  InvalidationRule,
  KeyConstructor,
  KeyField
} from "@cachefx/core"
import { Effect, Layer, Metric } from "effect"
import { machine, median, microsPerRun, report } from "../harness.js"

const events = Number(process.env["BENCH_EVENTS"] ?? 2_000)
const rounds = 3
const publishers = 32

const users = (dispatcher: string) =>
  Cached.cached({
    key: KeyConstructor.make({ namespace: "users", fields: [KeyField.arg("id")] }),
    invalidatesOn: [InvalidationRule.make({ table: "users", fieldMapping: { id: "id" }, dispatcher })]
  })((input: { readonly id: number }) => Effect.succeed(input.id))

const renamed = (id: number) =>
  InvalidationEvent.make({ table: "users", operation: "update", rows: [{ id, name: "new" }], changed: ["name"] })

const jobsRun = Effect.map(
  Metric.value(Metric.tagged(Metric.tagged(CacheMetrics.invalidationJobs, "cache", "users"), "rule", "users(id=id)")),
  (state) => state.count
)

/** The engine over the cached value, with the dispatcher it names and, when given, a worker. */
const engine = <E>(dispatcher: string, layers: Layer.Layer<never, E, InvalidationEngine.InvalidationEngine>) =>
  layers.pipe(
    Layer.provideMerge(InvalidationEngine.layer({ caches: [users(dispatcher)] })),
    Layer.provideMerge(CacheStore.layerMemory())
  )

const publishLatency = <R, E>(layer: Layer.Layer<R | InvalidationBus.InvalidationBus, E>) =>
  Effect.scoped(Effect.flatMap(Layer.build(layer), (context) =>
    Effect.provide(microsPerRun((round) => Invalidation.publish(renamed(round)), 300), context)))

/** Events per second from the first publish until the worker has run every job. */
const throughput = <R, E>(layer: Layer.Layer<R | InvalidationBus.InvalidationBus, E>) =>
  Effect.scoped(Effect.gen(function*() {
    const context = yield* Layer.build(layer)
    const rates: Array<number> = []
    for (let round = 0; round < rounds; round++) {
      const target = (yield* jobsRun) + events
      const start = process.hrtime.bigint()
      yield* Effect.forEach(Array.from({ length: events }, (_, i) => i), (id) => Invalidation.publish(renamed(id)), {
        concurrency: publishers,
        discard: true
      }).pipe(Effect.provide(context))
      while ((yield* jobsRun) < target) yield* Effect.sleep("5 millis")
      rates.push(events / (Number(process.hrtime.bigint() - start) / 1e9))
    }
    return median(rates)
  }))

/**
 * Runs both measures for a broker: `dispatcher` provides the dispatcher named `name`,
 * `worker` a worker of its queue (it is given the engine).
 */
export const measure = <E>(
  name: string,
  dispatcher: Layer.Layer<Dispatcher.Named<string>, E>,
  worker: Layer.Layer<never, E, InvalidationEngine.InvalidationEngine>
) =>
  Effect.gen(function*() {
    console.log(`cachefx ${name} dispatcher on ${machine()}; ${events} events per round`)
    const inline = engine("inline", Layer.empty)
    const producer = engine(name, Layer.empty).pipe(Layer.provide(dispatcher))
    const both = engine(name, worker).pipe(Layer.provide(dispatcher))
    const [brokerMicros, inlineMicros] = [yield* publishLatency(producer), yield* publishLatency(inline)]
    report(`publish latency (${name} vs inline)`, brokerMicros, inlineMicros, "µs", "inline")
    console.log(`${"added latency of publish".padEnd(44)} ${(brokerMicros - inlineMicros).toFixed(0).padStart(8)} µs`)
    report(`end to end, ${publishers} publishers (${name} vs inline)`, yield* throughput(both), yield* throughput(inline), "ev/s", "inline")
  })
