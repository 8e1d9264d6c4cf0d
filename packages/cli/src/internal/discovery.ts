import { Cached } from "@cachefx/core"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { hasProperty } from "effect/Predicate"
import { resolve } from "node:path"
import { pathToFileURL } from "node:url"
import type * as Discovery from "../Discovery.js"

/** How deep `inspect` follows arrays and plain objects below an export (`engine.caches[0]` is depth 2). */
const maxDepth = 3

const typescript = /\.[cm]?tsx?$/

let typescriptLoader: Promise<void> | undefined

/** Registers tsx's loader once, for the process: the module's own imports are TypeScript too. */
const loadTypeScript = (): Promise<void> =>
  typescriptLoader ??= import("tsx/esm/api").then((tsx) => {
    tsx.register()
  })

/** @internal */
export const importModule = async (module: string): Promise<Readonly<Record<string, unknown>>> => {
  if (typescript.test(module)) {
    await loadTypeScript()
  }
  return import(pathToFileURL(resolve(module)).href)
}

const isPlainObject = (u: unknown): u is Readonly<Record<string, unknown>> => {
  if (typeof u !== "object" || u === null) {
    return false
  }
  const prototype = Object.getPrototypeOf(u)
  return prototype === Object.prototype || prototype === null
}

/** What an export is, in the words of a message: the values `inspect` cannot look into without running them. */
const kindOf = (u: unknown): string =>
  Layer.isLayer(u) ? "Layer" : Effect.isEffect(u) ? "Effect" : Array.isArray(u) ? "array" : u === null ? "null" : typeof u

/** @internal */
export const inspect = (module: string, exports: Readonly<Record<string, unknown>>): Discovery.Module => {
  const found = new Map<Cached.Cached.Any, Array<string>>()
  const add = (cached: Cached.Cached.Any, path: string) => found.set(cached, [...found.get(cached) ?? [], path])
  // whether it found a cached value at or below `value`
  const walk = (value: unknown, path: string, depth: number): boolean => {
    if (Cached.isCached(value)) {
      add(value, path)
      return true
    }
    // a ResponseCache handler (an Effect) or middleware (a function) holds its cached value as `cache`
    if (hasProperty(value, "cache") && Cached.isCached(value.cache)) {
      add(value.cache, `${path}.cache`)
      return true
    }
    if (depth >= maxDepth) {
      return false
    }
    const children: ReadonlyArray<readonly [string, unknown]> = Array.isArray(value)
      ? value.map((item, index) => [`${path}[${index}]`, item] as const)
      : isPlainObject(value)
      ? Object.entries(value).map(([key, item]) => [`${path}.${key}`, item] as const)
      : []
    // every child is walked: no short-circuit
    return children.map(([childPath, child]) => walk(child, childPath, depth + 1)).includes(true)
  }
  // by name, as an ES module namespace lists them, whatever loaded the module
  const sorted = Object.entries(exports).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0)
  // arrays and options first: the order the application gives its engine is the order it describes
  const isContainer = ([, value]: readonly [string, unknown]) => Array.isArray(value) || isPlainObject(value)
  const empty = new Set(
    [...sorted.filter(isContainer), ...sorted.filter((entry) => !isContainer(entry))].flatMap(([name, value]) =>
      walk(value, name, 0) ? [] : [name]
    )
  )
  const skipped = sorted.flatMap(([name, value]) => empty.has(name) ? [{ path: name, kind: kindOf(value) }] : [])
  return { module, found: [...found].map(([cached, paths]) => ({ cached, paths })), skipped }
}

/** @internal */
export const describeSkipped = (skipped: Discovery.Module["skipped"]): string =>
  skipped.length === 0
    ? "it has no other export"
    : `not looked into: ${skipped.map(({ kind, path }) => `${path} (${kind})`).join(", ")}`

/** @internal */
export const report = (module: Discovery.Module): string => {
  const withoutRules = module.found.filter(({ cached }) => cached.rules.length === 0)
  return [
    `${module.module}: ${module.found.length} cached value${module.found.length === 1 ? "" : "s"}`,
    ...module.found.map(({ cached, paths }) => `  ${cached.name} (namespace ${cached.key.namespace}): ${paths.join(", ")}`),
    ...(withoutRules.length === 0 ? [] : [
      `no invalidation rule (so not in the description): ${withoutRules.map(({ cached }) => cached.name).join(", ")}`
    ]),
    describeSkipped(module.skipped)
  ].join("\n")
}
