import { InvalidationEngine } from "@cachefx/core"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { fileURLToPath } from "node:url"
import { Discovery } from "../src/index.js"
import * as handlers from "./fixtures/handlers.js"

const fixture = (name: string) => fileURLToPath(new URL(`fixtures/${name}.ts`, import.meta.url))

describe("Discovery", () => {
  it("finds cached values on their own, in handlers, middleware, arrays and nested engine options, each once", () => {
    const module = Discovery.inspect("handlers.ts", handlers)
    expect(module.found.map(({ cached, paths }) => [cached.name, paths])).toEqual([
      ["orders", ["caches[0]", "config.engine.caches[1]"]],
      ["countries", ["caches[1]"]],
      ["invoices", ["config.engine.caches[0]"]],
      [handlers.pages.cache.name, ["pages.cache"]],
      [handlers.userPage.cache.name, ["userPage.cache"]]
    ])
    expect(module.skipped).toEqual([{ path: "layer", kind: "Layer" }, { path: "makeCaches", kind: "function" }])
  })

  it("gives the engine every rule of what it found: 5 rules on 3 tables", () => {
    const description = InvalidationEngine.describe(Discovery.engineOptions(Discovery.inspect("handlers.ts", handlers)))
    expect(description.tables.map(({ rules, table }) => [table, rules.map((rule) => rule.cache)])).toEqual([
      ["orders", ["orders", "invoices"]],
      ["pages", [handlers.pages.cache.name]],
      ["users", [handlers.userPage.cache.name]]
    ])
  })

  it("reports the cached values without a rule and the exports it could not look into", () => {
    const report = Discovery.report(Discovery.inspect("handlers.ts", handlers))
    expect(report).toContain("handlers.ts: 5 cached values")
    expect(report).toContain("  countries (namespace countries): caches[1]")
    expect(report).toContain("no invalidation rule (so not in the description): countries")
    expect(report).toContain("not looked into: layer (Layer), makeCaches (function)")
  })

  it.effect("loads a TypeScript entry and fails with what it saw when it holds no cached value", () =>
    Effect.gen(function*() {
      const loaded = yield* Discovery.load(fixture("handlers"))
      expect(loaded.found).toHaveLength(5)
      const empty = yield* Effect.flip(Discovery.load(fixture("empty")))
      expect(empty.message).toBe(
        `Module "${
          fixture("empty")
        }": exports no cached value (on its own, as a handler's \`cache\`, in an array or in { caches }); not looked into: port (number)`
      )
    }))
})
