import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Either from "effect/Either"
import { CacheDefinitionError } from "../CacheError.js"

/**
 * Options read from `Config` (`Config.Wrap`), given to `build`: an option `build` refuses
 * (it throws a `CacheDefinitionError`, as constructors do for bad options) becomes a
 * `ConfigError` with the same reason, where the layer would otherwise die.
 *
 * @internal
 */
export const unwrapWith = <A, B>(options: Config.Config.Wrap<A>, build: (options: A) => B): Config.Config<B> =>
  Config.mapOrFail(Config.unwrap(options), (unwrapped) =>
    Either.try({
      try: () => build(unwrapped),
      catch: (error) => ConfigError.InvalidData([], error instanceof CacheDefinitionError ? error.message : String(error))
    }))
