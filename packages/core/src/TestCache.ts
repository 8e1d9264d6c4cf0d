/**
 * `TestCache.layer` is a `CacheStore` for tests: the in-memory store, a log of every
 * operation (which keys were read, written and deleted, and how each went) that tests
 * assert on, and fault injection (fail or delay the next operations). It reads time
 * from the test's `Clock`, so `TestClock.adjust` drives expiry and timeouts.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as CacheKey from "./CacheKey.js"
import type { CacheStore, MemoryOptions } from "./CacheStore.js"
import * as internal from "./internal/testCache.js"

/**
 * One store operation as the log records it. `target` is the key, partition or
 * namespace the operation addressed; an `invalidate` says which in `scope`, and a soft
 * one carries `soft: true`. A read of an entry invalidated softly has the outcome
 * `"stale"`. A `getMany` is logged as one entry per key it read, in order, all written
 * when it completes.
 *
 * @example
 * ```ts
 * import type { TestCache } from "@cachefx/core"
 *
 * const deleted = (log: ReadonlyArray<TestCache.Operation>) =>
 *   log.filter((op) => op.op === "invalidate" && op.scope === "Key").map((op) => op.target)
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Operation {
  readonly op: "get" | "getMany" | "set" | "invalidate" | "deleteVersions"
  readonly target: string
  readonly outcome: "hit" | "stale" | "miss" | "stored" | "refused" | "done" | "failed"
  /** On an `invalidate`: what `target` is (since 0.4.0). */
  readonly scope?: CacheKey.Target["_tag"] | undefined
  /** Present on a soft `invalidate` (since 0.2.0). */
  readonly soft?: true | undefined
}

/**
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { TestCache } from "@cachefx/core"
 *
 * const storeDown = Effect.flatMap(TestCache.TestCache, (cache) => cache.failNext(100))
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Every operation so far, oldest first. */
  readonly log: Effect.Effect<ReadonlyArray<Operation>>
  /** Empties the log. */
  readonly clearLog: Effect.Effect<void>
  /** The next `n` operations fail with a `CacheStoreError` (reason `"Injected"`). */
  readonly failNext: (n: number) => Effect.Effect<void>
  /** The next `n` operations first wait `duration` (so the operation timeout can fire). */
  readonly delayNext: (n: number, duration: Duration.DurationInput) => Effect.Effect<void>
}

/**
 * The test handle.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Cached, KeyConstructor, KeyField, TestCache } from "@cachefx/core"
 *
 * const getUser = Cached.cached({
 *   key: KeyConstructor.make({ namespace: "users", fields: [KeyField.arg("id")] })
 * })((input: { readonly id: number }) => Effect.succeed(input.id))
 *
 * const program = Effect.gen(function*() {
 *   const cache = yield* TestCache.TestCache
 *   yield* getUser({ id: 1 })
 *   yield* getUser({ id: 1 })
 *   const log = yield* cache.log
 *   console.log(log.map((entry) => `${entry.op} ${entry.outcome}`)) // ["get miss", "set stored", "get hit"]
 * }).pipe(Effect.provide(TestCache.layer()))
 * ```
 *
 * @since 0.1.0
 * @category tags
 */
export class TestCache extends Context.Tag("@cachefx/core/TestCache")<TestCache, Service>() {}

/**
 * The test store and its handle.
 *
 * @example
 * ```ts
 * import { TestCache } from "@cachefx/core"
 *
 * const TestLive = TestCache.layer({ capacity: 100 })
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: (options?: MemoryOptions) => Layer.Layer<CacheStore | TestCache> = internal.layer
