import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as CacheMetrics from "../CacheMetrics.js"
import type * as CacheStore from "../CacheStore.js"
import type { Counts } from "./memoryStore.js"
import * as tracing from "./tracing.js"

type Operation = "get" | "getMany" | "set" | "delete" | "deletePartition" | "clear" | "deleteVersions"

/**
 * Times an operation of a store into `CacheMetrics.storeDuration`, and runs it in a span
 * `cachefx.store.<operation>` when a tracer exports spans. Tagged metrics are made once
 * per store and operation, not per call.
 */
const observe = (store: string, operation: Operation) => {
  const timer = CacheMetrics.storeDuration.pipe(Metric.tagged("store", store), Metric.tagged("operation", operation))
  const span = tracing.withSpan(`cachefx.store.${operation}`, { kind: "client", attributes: { "cachefx.store": store } })
  return <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> => span(Metric.trackDuration(effect, timer))
}

/** @internal */
export const withTelemetry = (store: CacheStore.Service, name: string): CacheStore.Service => {
  const get = observe(name, "get")
  const getMany = observe(name, "getMany")
  const set = observe(name, "set")
  const del = observe(name, "delete")
  const deletePartition = observe(name, "deletePartition")
  const clear = observe(name, "clear")
  const deleteVersions = observe(name, "deleteVersions")
  return {
    get: (key, options) => get(store.get(key, options)),
    ...(store.getMany === undefined ? {} : { getMany: (keys) => getMany(store.getMany!(keys)) }),
    set: (key, entry, guard) => set(store.set(key, entry, guard)),
    delete: (key, options) => del(store.delete(key, options)),
    deletePartition: (partition, options) => deletePartition(store.deletePartition(partition, options)),
    clear: (namespace, options) => clear(store.clear(namespace, options)),
    leases: store.leases,
    ...(store.deleteVersions === undefined ? {} : {
      deleteVersions: (namespace, previous) => deleteVersions(store.deleteVersions!(namespace, previous))
    })
  }
}

/**
 * The memory store with its telemetry, and its entries gauge and evictions counter
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
  const counted = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.ensuring(effect, Effect.sync(count))
  const observed = withTelemetry(memory, name)
  return {
    ...observed,
    set: (key, entry, guard) => counted(observed.set(key, entry, guard)),
    delete: (key, options) => counted(observed.delete(key, options)),
    deletePartition: (partition, options) => counted(observed.deletePartition(partition, options)),
    ...(observed.deleteVersions === undefined ? {} : {
      deleteVersions: (namespace, previous) => counted(observed.deleteVersions!(namespace, previous))
    })
  }
}
