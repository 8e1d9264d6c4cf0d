import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type { CacheStoreError, KeyError } from "../../CacheError.js"
import * as CacheKey from "../../CacheKey.js"
import { CacheSettings, type Settings } from "../../CacheSettings.js"
import type { CacheStore, InvalidateOptions } from "../../CacheStore.js"
import * as inFlight from "../inFlight.js"
import type { Definition } from "./definition.js"
import { keyOf, namespaceOf, partitionOf } from "./key.js"

type Any = Definition<any, any, any, any>

/**
 * Runs `f` with the fiber's context and the settings in force, in one step: every
 * invalidation of a write passes here, and `Effect.flatMap(CacheSettings, …)` then the
 * store's lookup took four (bench/versions.ts, the update without a database).
 */
const inContext = <A, E, R>(f: (context: Context.Context<never>, settings: Settings) => Effect.Effect<A, E, R>) =>
  Effect.withFiberRuntime<A, E, R>((fiber) => f(fiber.currentContext, Context.get(fiber.currentContext, CacheSettings)))

/**
 * Invalidates the key of `input` in a cached value: stops the computations of it under
 * way, then invalidates it in the store (softly with `soft`). What `Cached.delete` does,
 * and a rule's key target.
 *
 * @internal
 */
export const deleteKey = <KR>(
  def: Any,
  input: unknown,
  options?: InvalidateOptions
): Effect.Effect<void, KeyError | CacheStoreError, KR | CacheStore> =>
  inContext((context, settings) =>
    Effect.flatMap(keyOf<KR>(def, input, settings), (key) => inFlight.invalidateIn(context, CacheKey.key(key), options))
  )

/**
 * Invalidates the partition of `input` in a cached value, as `deleteKey` its key: what
 * `Cached.deletePartition` does, and a rule's partition target.
 *
 * @internal
 */
export const deletePartition = <KR>(
  def: Any,
  input: unknown,
  options?: InvalidateOptions
): Effect.Effect<void, KeyError | CacheStoreError, KR | CacheStore> =>
  inContext((context, settings) =>
    Effect.flatMap(
      partitionOf<KR>(def, input, settings),
      (scope) => inFlight.invalidateIn(context, CacheKey.partition(scope), options)
    )
  )

/**
 * Invalidates every entry of a cached value, all versions, as `deleteKey` a key: what
 * `Cached.invalidateAll` does, and a rule's namespace target.
 *
 * @internal
 */
export const wipe = (def: Any, options?: InvalidateOptions): Effect.Effect<void, CacheStoreError, CacheStore> =>
  inContext((context, settings) => inFlight.invalidateIn(context, namespaceOf(def, settings), options))
