/**
 * The `cachefx` command. `cachefx rules <module>` imports an application module that
 * exports its cached values (or the options it gives `InvalidationEngine.layer`) and
 * prints what its invalidation engine would do: tables → rules → cached values →
 * dispatchers (`InvalidationEngine.describe`), as text or, with `--json`, as JSON.
 *
 * @since 0.1.0
 */
import { Cached, InvalidationEngine } from "@cachefx/core"
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Console from "effect/Console"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import { hasProperty } from "effect/Predicate"
import { resolve } from "node:path"
import { pathToFileURL } from "node:url"
import { cdc } from "./Cdc.js"

/**
 * A module could not be imported, or exports nothing to describe.
 *
 * @example
 * ```ts
 * import { Cli } from "@cachefx/cli"
 *
 * const error = new Cli.ModuleError({ module: "./app.js", reason: "exports no cached value" })
 * console.log(error.message)
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

const isEngineOptions = (u: unknown): u is InvalidationEngine.Options =>
  hasProperty(u, "caches") && Array.isArray(u.caches) && u.caches.every(Cached.isCached)

/**
 * Imports a module (a path, relative to the working directory) and gathers the engine
 * options it exports: every exported cached value, and the cached values of every
 * exported engine options object (`{ caches: [...] }`).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { InvalidationEngine } from "@cachefx/core"
 * import { Cli } from "@cachefx/cli"
 *
 * const program = Effect.map(Cli.load("./dist/app.js"), InvalidationEngine.describe)
 * ```
 *
 * @since 0.1.0
 * @category loading
 */
export const load = (module: string): Effect.Effect<InvalidationEngine.Options, ModuleError> =>
  Effect.tryPromise({
    try: (): Promise<Record<string, unknown>> => import(pathToFileURL(resolve(module)).href),
    catch: (cause) => new ModuleError({ module, reason: `cannot be imported: ${String(cause)}`, cause })
  }).pipe(
    Effect.flatMap((exports) => {
      const caches = Object.values(exports).flatMap((value) =>
        Cached.isCached(value) ? [value] : isEngineOptions(value) ? value.caches : []
      )
      return caches.length === 0
        ? Effect.fail(new ModuleError({ module, reason: "exports no cached value and no engine options ({ caches })" }))
        : Effect.succeed({ caches })
    })
  )

/**
 * A description as text: one block per table, one line per rule.
 *
 * @example
 * ```ts
 * import { Cli } from "@cachefx/cli"
 *
 * console.log(Cli.format({ tables: [] })) // "no invalidation rules"
 * ```
 *
 * @since 0.1.0
 * @category formatting
 */
export const format = (description: InvalidationEngine.Description): string =>
  description.tables.length === 0 ? "no invalidation rules" : description.tables.map(({ rules, table }) =>
    [
      table,
      ...rules.map((rule) => {
        const mapping = Object.entries(rule.fieldMapping).map(([input, column]) => `${input}=${column}`).join(", ")
        const reads = rule.kind === "custom" ? "custom invalidator" : `reads ${mapping}`
        const rewarm = rule.rewarm ? ", rewarm" : ""
        const soft = rule.soft ? ", soft" : ""
        return `  ${rule.rule} → ${rule.cache} (namespace ${rule.namespace}): ${reads}; on ${rule.on.join("/")}${rewarm}${soft}; dispatcher ${rule.dispatcher}`
      })
    ].join("\n")
  ).join("\n\n")

/**
 * `cachefx rules <module> [--json]`.
 *
 * @example
 * ```ts
 * import { Command } from "@effect/cli"
 * import { Cli } from "@cachefx/cli"
 *
 * const main = Command.run(Cli.rules, { name: "rules", version: "0.1.0" })
 * ```
 *
 * @since 0.1.0
 * @category commands
 */
export const rules = Command.make(
  "rules",
  { module: Args.text({ name: "module" }), json: Options.boolean("json") },
  ({ json, module }) =>
    Effect.flatMap(load(module), (options) => {
      const description = InvalidationEngine.describe(options)
      return Console.log(json ? JSON.stringify(description, null, 2) : format(description))
    })
).pipe(Command.withDescription("print the invalidation rules of the cached values a module exports"))

/**
 * The `cachefx` command and its subcommands, as a function of the arguments.
 *
 * @example
 * ```ts
 * import { NodeContext, NodeRuntime } from "@effect/platform-node"
 * import { Effect } from "effect"
 * import { Cli } from "@cachefx/cli"
 *
 * Cli.run(process.argv).pipe(Effect.provide(NodeContext.layer), NodeRuntime.runMain)
 * ```
 *
 * @since 0.1.0
 * @category commands
 */
export const run = Command.make("cachefx").pipe(
  Command.withSubcommands([rules, cdc]),
  Command.run({ name: "cachefx", version: "0.1.0" })
)
