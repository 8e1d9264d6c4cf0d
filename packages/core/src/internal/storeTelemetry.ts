import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import * as Metric from "effect/Metric"
import * as MetricLabel from "effect/MetricLabel"
import * as CacheMetrics from "../CacheMetrics.js"
import type * as CacheStore from "../CacheStore.js"
import { afterExit } from "./afterExit.js"
import { withGetSync } from "./getSync.js"
import type { Counts } from "./memoryStore.js"
import * as timer from "./timer.js"
import * as tracing from "./tracing.js"

type Operation = "get" | "getMany" | "set" | "invalidate" | "deleteVersions"

/**
 * Runs an operation of a store in a span `cachefx.store.<operation>` when a tracer
 * exports spans, and, when `timed`, times it into `CacheMetrics.storeDuration`. The
 * histogram's hook is taken once per store and operation, not per call.
 */
const observe = (store: string, operation: Operation, timed: boolean, attributes?: Record<string, string>) => {
  const name = `cachefx.store.${operation}`
  const options = { kind: "client" as const, attributes: { "cachefx.store": store, ...attributes } }
  if (!timed) {
    return tracing.withSpan(name, options)
  }
  const labels = [MetricLabel.make("store", store), MetricLabel.make("operation", operation)]
  const hook = timer.storeOperations.hook(labels)
  return <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.withFiberRuntime((fiber) => {
      const timed = trackDuration(fiber, effect, labels, hook)
      return tracing.isExporting(fiber) ? Effect.withSpan(timed, name, options) : timed
    })
}

/**
 * Times `effect` into `CacheMetrics.storeDuration` under `labels`, through `hook` (their
 * histogram, see `Timer.hook`: updating the timer itself cost about 3 µs of client CPU
 * per Redis operation), once it has succeeded or failed (a timed-out operation fails);
 * an operation interrupted by its caller answered nothing and is not timed, as a call
 * is not. The fiber's own metric labels (`Effect.tagMetrics`), when it has any, name
 * another histogram: that update goes through the timer.
 */
const trackDuration = <A, E, R>(
  fiber: Fiber.RuntimeFiber<unknown, unknown>,
  effect: Effect.Effect<A, E, R>,
  labels: ReadonlyArray<MetricLabel.MetricLabel>,
  hook: timer.Hook
): Effect.Effect<A, E, R> => {
  const clock = Context.get(fiber.currentDefaultServices, Clock.Clock)
  const start = timer.now(clock)
  const record = () => {
    const millis = timer.now(clock) - start
    const own = fiber.getFiberRef(FiberRef.currentMetricLabels)
    if (own.length === 0) {
      hook.update(millis)
    } else {
      CacheMetrics.storeDuration.unsafeUpdate(Duration.millis(millis), [...labels, ...own])
    }
  }
  return afterExit(effect, record)
}

/**
 * A store whose operations are observed (see `observe`): timed or not. A timed store
 * has no `getSync`: each read is timed through `get`. The memory store
 * is not timed: its operations take well under a microsecond, and timing them (two clock
 * reads and a histogram update) tripled the cost of a hit.
 *
 * @internal
 */
export const observed = (store: CacheStore.Service, name: string, timed: boolean): CacheStore.Service => {
  const get = observe(name, "get", timed)
  const getMany = observe(name, "getMany", timed)
  const set = observe(name, "set", timed)
  // one span per target kind, its kind an attribute: `cachefx.target` = Key, Partition or Namespace
  const invalidate = {
    Key: observe(name, "invalidate", timed, { "cachefx.target": "Key" }),
    Partition: observe(name, "invalidate", timed, { "cachefx.target": "Partition" }),
    Namespace: observe(name, "invalidate", timed, { "cachefx.target": "Namespace" })
  }
  const deleteVersions = observe(name, "deleteVersions", timed)
  return withGetSync({
    get: (key, options) => get(store.get(key, options)),
    getMany: (keys) => getMany(store.getMany(keys)),
    set: (key, entry, guard) => set(store.set(key, entry, guard)),
    invalidate: (target, options) => invalidate[target._tag](store.invalidate(target, options)),
    ...(store.leases === undefined ? {} : { leases: store.leases }),
    ...(store.deleteVersions === undefined ? {} : {
      deleteVersions: (namespace, previous) => deleteVersions(store.deleteVersions!(namespace, previous))
    })
  }, timed ? undefined : store.getSync?.bind(store))
}

/** @internal */
export const withTelemetry = (store: CacheStore.Service, name: string): CacheStore.Service => observed(store, name, true)

/**
 * The memory store with its spans (untimed), and its entries gauge and evictions counter
 * updated after every operation that can change them (fills and invalidations; reads
 * only drop dead entries, which the next of those counts).
 *
 * @internal
 */
export const withMemoryTelemetry = (memory: CacheStore.Service & Counts, name: string): CacheStore.Service => {
  const entries = CacheMetrics.memoryEntries.pipe(Metric.tagged("store", name))
  const evictions = CacheMetrics.memoryEvictions.pipe(Metric.tagged("store", name))
  let evicted = 0
  const count = () => {
    entries.unsafeUpdate(memory.size, [])
    if (memory.evictions > evicted) {
      evictions.unsafeUpdate(memory.evictions - evicted, [])
      evicted = memory.evictions
    }
  }
  // (an operation interrupted part-way, a long `deleteVersions`, is counted by the next one)
  const counted = <A, E, R>(effect: Effect.Effect<A, E, R>) => afterExit(effect, count)
  const store = observed(memory, name, false)
  return withGetSync({
    ...store,
    set: (key, entry, guard) => counted(store.set(key, entry, guard)),
    invalidate: (target, options) => counted(store.invalidate(target, options)),
    ...(store.deleteVersions === undefined ? {} : {
      deleteVersions: (namespace, previous) => counted(store.deleteVersions!(namespace, previous))
    })
  }, store.getSync)
}
