/**
 * Finding an application's cached values: `Discovery.load` imports a module (TypeScript
 * entries too) and walks its exports for cached values, wherever they are held: exported
 * on their own, as the `cache` of a `ResponseCache` handler or middleware, in an array
 * (`export const caches = [...]`), or in the options given to `InvalidationEngine.layer`.
 * What it found, and what it could not look into, is part of the result.
 *
 * @since 0.1.0
 */
import type { Cached, InvalidationEngine } from "@cachefx/core"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as internal from "./internal/discovery.js"

/**
 * A module could not be imported, or exports nothing to describe.
 *
 * @example
 * ```ts
 * import { Discovery } from "@cachefx/cli"
 *
 * const error = new Discovery.ModuleError({ module: "./app.js", reason: "exports no cached value" })
 * console.log(error.message) // Module "./app.js": exports no cached value
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class ModuleError extends Data.TaggedError("ModuleError")<{
  readonly module: string
  readonly reason: string
  readonly cause?: unknown
}> {
  override get message(): string {
    return `Module "${this.module}": ${this.reason}`
  }
}

/**
 * One cached value found in a module, with every path under which the module exports it
 * (`getPost`, `caches[1]`, `authorPosts.cache`, `engine.caches[0]`).
 *
 * @example
 * ```ts
 * import type { Discovery } from "@cachefx/cli"
 *
 * const line = (found: Discovery.Found) => `${found.cached.name}: ${found.paths.join(", ")}`
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Found {
  readonly cached: Cached.Cached.Any
  readonly paths: ReadonlyArray<string>
}

/**
 * What `load` saw in a module: the cached values (in the order of the module's exports,
 * each once), and the exports it found none in, with what they are (`function`,
 * `Effect`, `object` …): values it cannot look into without running them, such as a
 * `Layer` or a function that builds the cached values when called.
 *
 * @example
 * ```ts
 * import type { Discovery } from "@cachefx/cli"
 *
 * const summary = (module: Discovery.Module) => `${module.found.length} cached values, ${module.skipped.length} other exports`
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Module {
  readonly module: string
  readonly found: ReadonlyArray<Found>
  readonly skipped: ReadonlyArray<{ readonly path: string; readonly kind: string }>
}

/**
 * Finds the cached values in a module's exports (see the module's doc for where it looks).
 *
 * @example
 * ```ts
 * import { Discovery } from "@cachefx/cli"
 *
 * const exports = { caches: [], port: 8080 }
 * console.log(Discovery.inspect("./app.js", exports).skipped) // [{ path: "port", kind: "number" }]
 * ```
 *
 * @since 0.1.0
 * @category finding
 */
export const inspect: (module: string, exports: Readonly<Record<string, unknown>>) => Module = internal.inspect

/**
 * Imports a module (a path, relative to the working directory) and finds its cached
 * values. A `.ts`, `.mts`, `.cts` or `.tsx` entry is loaded through tsx, with the
 * tsconfig.json of the working directory. Fails with a `ModuleError` when the module
 * cannot be imported or holds no cached value, naming the exports it could not look into.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Discovery } from "@cachefx/cli"
 *
 * const program = Effect.map(Discovery.load("./src/caches.ts"), (module) => module.found.length)
 * ```
 *
 * @since 0.1.0
 * @category finding
 */
export const load = (module: string): Effect.Effect<Module, ModuleError> =>
  Effect.tryPromise({
    try: () => internal.importModule(module),
    catch: (cause) => new ModuleError({ module, reason: `cannot be imported: ${String(cause)}`, cause })
  }).pipe(
    Effect.map((exports) => inspect(module, exports)),
    Effect.filterOrFail(
      (found) => found.found.length > 0,
      (found) =>
        new ModuleError({
          module,
          reason: `exports no cached value (on its own, as a handler's \`cache\`, in an array or in { caches }); ${
            internal.describeSkipped(found.skipped)
          }`
        })
    )
  )

/**
 * The engine options of a module's cached values, for `InvalidationEngine.describe`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { InvalidationEngine } from "@cachefx/core"
 * import { Discovery } from "@cachefx/cli"
 *
 * const description = Effect.map(Discovery.load("./src/caches.ts"), (module) =>
 *   InvalidationEngine.describe(Discovery.engineOptions(module))
 * )
 * ```
 *
 * @since 0.1.0
 * @category finding
 */
export const engineOptions = (module: Module): InvalidationEngine.Options => ({
  caches: module.found.map((found) => found.cached)
})

/**
 * What a module gave and what it did not, as lines for a person: each cached value with
 * the paths it was found under, the cached values without an invalidation rule (absent
 * from the description), and the exports that could not be looked into.
 *
 * @example
 * ```ts
 * import { Discovery } from "@cachefx/cli"
 *
 * console.log(Discovery.report({ module: "./app.js", found: [], skipped: [] }))
 * ```
 *
 * @since 0.1.0
 * @category formatting
 */
export const report: (module: Module) => string = internal.report
