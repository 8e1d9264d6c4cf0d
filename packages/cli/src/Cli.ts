/**
 * The `cachefx` command. `cachefx rules <module>` imports an application module
 * (TypeScript too), finds its cached values (`Discovery`) and prints what its
 * invalidation engine would do, exactly as `InvalidationEngine.describe` gives it:
 * tables → rules → cached values → dispatchers, with `--format text|json|mermaid`. What
 * it found, and the exports it could not look into, go to stderr.
 *
 * @since 0.1.0
 */
import { InvalidationEngine } from "@cachefx/core"
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Discovery from "./Discovery.js"
import * as Format from "./Format.js"
import { cdc } from "./Cdc.js"

/**
 * `cachefx rules <module> [--format text|json|mermaid]` (`--json` is `--format json`).
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
  {
    module: Args.text({ name: "module" }).pipe(
      Args.withDescription("a module that exports cached values, ResponseCache handlers, arrays of them or { caches }")
    ),
    format: Options.choice("format", Format.formats).pipe(Options.withDefault("text")),
    json: Options.boolean("json").pipe(Options.withDescription("the same as --format json"))
  },
  ({ format, json, module }) =>
    Effect.flatMap(Discovery.load(module), (found) =>
      Effect.zipRight(
        Console.error(Discovery.report(found)),
        Console.log(Format.render(InvalidationEngine.describe(Discovery.engineOptions(found)), json ? "json" : format))
      ))
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
