#!/usr/bin/env node
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Cli from "./Cli.js"

// @effect/cli prints its own usage errors; a module error is one line on stderr
Cli.run(process.argv).pipe(
  Effect.tapErrorTag("ModuleError", (error) => Console.error(error.message)),
  Effect.provide(NodeContext.layer),
  NodeRuntime.runMain({ disableErrorReporting: true })
)
