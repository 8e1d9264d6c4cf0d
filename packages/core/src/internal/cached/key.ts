import * as Effect from "effect/Effect"
import { KeyError } from "../../CacheError.js"
import * as CacheKey from "../../CacheKey.js"
import type { Settings } from "../../CacheSettings.js"
import * as keys from "../keyConstructor.js"
import type { Definition } from "./definition.js"

type Any = Definition<any, any, any, any>

/** The fingerprint slice a key carries under the settings. */
const extra = (def: Any, settings: Settings) => settings.fingerprint ? def.fingerprint : undefined

/**
 * The key of an input, built in one step when every field is synchronous: `undefined`
 * when a field is not, or the error that refused the input.
 *
 * @internal
 */
export const keyNow = (def: Any, input: unknown, settings: Settings): CacheKey.CacheKey | KeyError | undefined => {
  if (!def.sync) {
    return undefined
  }
  try {
    return keys.assemble(
      def.constructor,
      settings,
      keys.slicesSync(def.constructor, input, def.constructor.fields.length),
      extra(def, settings),
      def.identity
    )
  } catch (error) {
    return error as KeyError
  }
}

/**
 * The key of an input, through the effects of its fields when they are not synchronous.
 * `KR` is what those fields need.
 *
 * @internal
 */
export const keyOf = <KR>(def: Any, input: unknown, settings: Settings): Effect.Effect<CacheKey.CacheKey, KeyError, KR> => {
  const now = keyNow(def, input, settings)
  if (now !== undefined) {
    return now instanceof KeyError ? Effect.fail(now) : Effect.succeed(now)
  }
  return Effect.flatMap(
    keys.slices(def.constructor, input, def.constructor.fields.length),
    (slices) => keys.assembleEffect(def.constructor, settings, slices, extra(def, settings), def.identity)
  ) as Effect.Effect<CacheKey.CacheKey, KeyError, KR>
}

/**
 * The partition of an input, built at once when every field is synchronous.
 *
 * @internal
 */
export const partitionOf = <KR>(def: Any, input: unknown, settings: Settings): Effect.Effect<CacheKey.Partition, KeyError, KR> => {
  const { constructor } = def
  if (!def.sync) {
    return Effect.map(
      keys.slices(constructor, input, constructor.partitionSize),
      (slices) => keys.assemblePartition(constructor, settings, slices, def.identity)
    ) as Effect.Effect<CacheKey.Partition, KeyError, KR>
  }
  try {
    return Effect.succeed(
      keys.assemblePartition(constructor, settings, keys.slicesSync(constructor, input, constructor.partitionSize), def.identity)
    )
  } catch (error) {
    return Effect.fail(error as KeyError)
  }
}

/**
 * The namespace of a cached value: every entry it holds, all versions.
 *
 * @internal
 */
export const namespaceOf = (def: Any, settings: Settings): CacheKey.Target =>
  CacheKey.namespace(keys.scopeOf(def.constructor, settings.keyPrefix, def.identity))
