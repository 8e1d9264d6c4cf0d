/**
 * Settings of the response cache: the names of the headers it sets when a cached
 * handler asks for them (`headers: true`). Defaults apply without a layer; `layer`
 * overrides them in code and `layerConfig` reads them from `Config`.
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Layer from "effect/Layer"

/**
 * The header names.
 *
 * @example
 * ```ts
 * import type { ResponseCacheSettings } from "@cachefx/http"
 *
 * const settings: ResponseCacheSettings.Settings = {
 *   statusHeader: "Cache-Status",
 *   cachedAtHeader: "Cached-At",
 *   resetAtHeader: "Cache-Reset-At"
 * }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Settings {
  /** How the response was answered: HIT, MISS, STALE, BYPASS or REFRESH. Default `X-Cache-Status`. */
  readonly statusHeader: string
  /** When the response was stored (ISO). Default `X-Cached-At`. */
  readonly cachedAtHeader: string
  /** When the stored response stops being fresh (ISO), with a TTL. Default `X-Cache-Reset-At`. */
  readonly resetAtHeader: string
}

/**
 * The default settings.
 *
 * @example
 * ```ts
 * import { ResponseCacheSettings } from "@cachefx/http"
 *
 * console.log(ResponseCacheSettings.defaults.statusHeader) // "X-Cache-Status"
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const defaults: Settings = {
  statusHeader: "X-Cache-Status",
  cachedAtHeader: "X-Cached-At",
  resetAtHeader: "X-Cache-Reset-At"
}

/**
 * The settings in force: a `Context.Reference`, so it has defaults without a layer.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { ResponseCacheSettings } from "@cachefx/http"
 *
 * const program = Effect.map(ResponseCacheSettings.ResponseCacheSettings, (settings) => settings.statusHeader)
 * ```
 *
 * @since 0.1.0
 * @category tags
 */
export class ResponseCacheSettings extends Context.Reference<ResponseCacheSettings>()(
  "@cachefx/http/ResponseCacheSettings",
  { defaultValue: (): Settings => defaults }
) {}

/**
 * A layer that overrides some settings in code.
 *
 * @example
 * ```ts
 * import { ResponseCacheSettings } from "@cachefx/http"
 *
 * const SettingsLive = ResponseCacheSettings.layer({ statusHeader: "Cache-Status" })
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (input: Partial<Settings>): Layer.Layer<never> =>
  Layer.succeed(ResponseCacheSettings, { ...defaults, ...input })

/**
 * The settings as a `Config`: `CACHEFX_HEADER_STATUS`, `CACHEFX_HEADER_CACHED_AT` and
 * `CACHEFX_HEADER_RESET_AT`, each falling back to its default.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { ResponseCacheSettings } from "@cachefx/http"
 *
 * const program = Effect.map(ResponseCacheSettings.config, (settings) => settings.cachedAtHeader)
 * ```
 *
 * @since 0.1.0
 * @category config
 */
export const config: Config.Config<Settings> = Config.all({
  statusHeader: Config.withDefault(Config.string("CACHEFX_HEADER_STATUS"), defaults.statusHeader),
  cachedAtHeader: Config.withDefault(Config.string("CACHEFX_HEADER_CACHED_AT"), defaults.cachedAtHeader),
  resetAtHeader: Config.withDefault(Config.string("CACHEFX_HEADER_RESET_AT"), defaults.resetAtHeader)
})

/**
 * A layer that reads the settings from `Config` (see `config`).
 *
 * @example
 * ```ts
 * import { ResponseCacheSettings } from "@cachefx/http"
 *
 * const SettingsLive = ResponseCacheSettings.layerConfig
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig: Layer.Layer<never, ConfigError.ConfigError> = Layer.effect(ResponseCacheSettings, config)
