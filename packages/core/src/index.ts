/**
 * @since 0.1.0
 */
export * as BrokerJob from "./BrokerJob.js"

/**
 * @since 0.1.0
 */
export * as CacheEntry from "./CacheEntry.js"

/**
 * @since 0.1.0
 */
export * as CacheError from "./CacheError.js"

/**
 * @since 0.1.0
 */
export * as CacheKey from "./CacheKey.js"

/**
 * @since 0.1.0
 */
export * as CacheMetrics from "./CacheMetrics.js"

/**
 * @since 0.1.0
 */
export * as CacheSettings from "./CacheSettings.js"

/**
 * @since 0.1.0
 */
export * as CacheStore from "./CacheStore.js"

/**
 * @since 0.2.0
 */
export * as CacheSync from "./CacheSync.js"

/**
 * @since 0.1.0
 */
export * as Cached from "./Cached.js"

/**
 * @since 0.3.0
 */
export * as CircuitBreaker from "./CircuitBreaker.js"

/**
 * @since 0.1.0
 */
export * as KeyConstructor from "./KeyConstructor.js"

/**
 * @since 0.1.0
 */
export * as KeyField from "./KeyField.js"

/**
 * @since 0.1.0
 */
export * as TestCache from "./TestCache.js"

/**
 * @since 0.1.0
 */
export * as Ttl from "./Ttl.js"

export {
  /**
   * Wraps a function (or a single effect) in a cache: `Cached.cached`, exported at the
   * top level because it is the entry point of the library.
   *
   * @example
   * ```ts
   * import { Effect } from "effect"
   * import { cached, KeyConstructor, KeyField } from "@cachefx/core"
   *
   * const getUser = cached({
   *   key: KeyConstructor.make({ namespace: "users", fields: [KeyField.arg("id")] }),
   *   ttl: "5 minutes"
   * })((input: { readonly id: number }) => Effect.succeed({ id: input.id }))
   * ```
   *
   * @since 0.1.0
   * @category constructors
   */
  cached
} from "./Cached.js"

/**
 * @since 0.1.0
 */
export * as Dispatcher from "./Dispatcher.js"

/**
 * @since 0.1.0
 */
export * as Invalidation from "./Invalidation.js"

/**
 * @since 0.1.0
 */
export * as InvalidationBus from "./InvalidationBus.js"

/**
 * @since 0.1.0
 */
export * as InvalidationEngine from "./InvalidationEngine.js"

/**
 * @since 0.1.0
 */
export * as InvalidationEvent from "./InvalidationEvent.js"

/**
 * @since 0.1.0
 */
export * as InvalidationRule from "./InvalidationRule.js"
