/**
 * What the broker benchmarks measure, each against the inline dispatcher in the same
 * process, on a memory store, interleaved round by round (../harness.ts):
 * - end-to-end throughput: events (at least `BENCH_EVENTS`, default 2,000, a sample)
 *   published by 32 fibers with a worker in this process, timed until every job has run
 *   (events/s);
 * - publish latency: `Invalidation.publish` of one event, one at a time (µs): inline runs
 *   the job before it returns, a broker only hands it over (measured after the
 *   throughput, so the jobs it leaves in the queue are not counted there).
 */
import {
  Cached,
  CacheMetrics,
  CacheStore,
  Dispatcher,
  Invalidation,
  InvalidationEngine,
  InvalidationEvent,
  InvalidationRule,
  KeyConstructor,
  KeyField
} from "@cachefx/core"
import { Context, Effect, Layer, Metric } from "effect"
import { compare, fiberLoop, fiberWorkers, measure } from "../harness.js"

const publishers = 32
/** The fewest events of a throughput sample (`BENCH_EVENTS`): a sample also waits for the worker's last jobs. */
const events = Number(process.env["BENCH_EVENTS"] ?? 2_000)

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

/** Builds `layer` in the scope; `run` then runs its operations with the layer's services. */
const within = <ROut, E>(layer: Layer.Layer<ROut, E>) =>
  Effect.map(Layer.build(layer), (context: Context.Context<ROut>) =>
  <A, E2>(effect: Effect.Effect<A, E2, ROut>) => Effect.provide(effect, context))

/** `n` events published by `publishers` fibers, then until the worker has run every job. */
const publishAll = (from: number, n: number) =>
  Effect.gen(function*() {
    const target = (yield* jobsRun) + n
    yield* fiberWorkers(publishers, (id) => Invalidation.publish(renamed(id)))(from, n)
    while ((yield* jobsRun) < target) yield* Effect.sleep("5 millis")
  })

/**
 * Runs both measures for a broker: `dispatcher` provides the dispatcher named `name`,
 * `worker` a worker of its queue (it is given the engine).
 */
export const measureBroker = <E>(
  name: string,
  dispatcher: Layer.Layer<Dispatcher.Named<string>, E>,
  worker: Layer.Layer<never, E, InvalidationEngine.InvalidationEngine>
) =>
  Effect.gen(function*() {
    console.log(`${name} dispatcher against inline`)
    const inline = yield* within(engine("inline", Layer.empty))
    const both = yield* within(engine(name, worker).pipe(Layer.provide(dispatcher)))
    const throughput = yield* measure([
      { name: `${name}, with a worker`, run: (from: number, n: number) => both(publishAll(from, n)), minOps: events },
      { name: "inline", run: (from: number, n: number) => inline(publishAll(from, n)), minOps: events }
    ])
    compare(throughput, [{
      name: `end to end, ${publishers} publishers (${name} vs inline)`,
      subject: `${name}, with a worker`,
      baseline: "inline",
      quantity: { of: "rate", unit: "ev/s" }
    }])
    const producer = yield* within(engine(name, Layer.empty).pipe(Layer.provide(dispatcher)))
    const publishOne = fiberLoop((i) => Invalidation.publish(renamed(i)))
    const latency = yield* measure([
      { name: `${name} publish`, run: (from: number, n: number) => producer(publishOne(from, n)) },
      { name: "inline publish", run: (from: number, n: number) => inline(publishOne(from, n)) }
    ])
    compare(latency, [{
      name: `publish latency (${name} vs inline)`,
      subject: `${name} publish`,
      baseline: "inline publish",
      quantity: { of: "time", unit: "µs" }
    }])
  })
