import type { PGlite } from "@electric-sql/pglite"
import { describe, expect, it } from "@effect/vitest"
import { DrizzleHooks } from "@cachefx/drizzle"
import { CacheStore, InvalidationEngine } from "@cachefx/core"
import Database from "better-sqlite3"
import { drizzle } from "drizzle-orm/better-sqlite3"
import { MySqlDatabase } from "drizzle-orm/mysql-core"
import { drizzle as drizzlePg } from "drizzle-orm/node-postgres"
import { drizzle as drizzlePglite } from "drizzle-orm/pglite"
import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core"
import { Effect, Layer } from "effect"
import { readFileSync } from "node:fs"
import type pg from "pg"
import type { Dialect } from "../src/internal/dialect.js"
import { pg as pgDialect } from "../src/internal/dialect/pg.js"
import { sqlite as sqliteDialect } from "../src/internal/dialect/sqlite.js"
import { findings, firstProblem, type Probe } from "../src/internal/surface.js"
import { testedRange } from "../src/internal/version.js"
import { makeCaches } from "./fixtures.js"

// Instrumenting a database probes builders and runs nothing: the table need not exist.
const posts = sqliteTable("posts", { id: integer("id").primaryKey(), authorId: integer("author_id"), title: text("title") })
const raw = drizzle(new Database(":memory:"))
const { caches, layer } = makeCaches(posts, () => Effect.succeed([]))

const manifest = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"))
const peerRange: string = manifest.peerDependencies["drizzle-orm"]
const installed: string = JSON.parse(
  readFileSync(new URL("../../../node_modules/drizzle-orm/package.json", import.meta.url), "utf8")
).version

/**
 * `raw`, except that the builders `update(t).set(…)` gives lack `member`: what a
 * drizzle-orm that renamed it would give.
 */
const withoutOnUpdate = (member: string) =>
  new Proxy(raw, {
    get: (target, property, receiver) =>
      property === "update"
        ? (table: typeof posts) => {
          const entry = target.update(table)
          const set = entry.set.bind(entry)
          return Object.assign(entry, {
            set: (values: Parameters<typeof set>[0]) => Object.defineProperty(set(values), member, { value: undefined })
          })
        }
        : Reflect.get(target, property, receiver)
  })

describe("the Drizzle surface the hooks rely on", () => {
  it.effect("an update builder without `_prepare`: instrument fails, naming it and drizzle-orm's version", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(DrizzleHooks.instrument(withoutOnUpdate("_prepare"), { caches }))
      expect(error._tag).toBe("UnsupportedDrizzleError")
      expect(error).toMatchObject({ dialect: "SQLite", member: "_prepare", version: installed })
      expect(error.message).toContain("`_prepare`")
      expect(error.message).toContain(`drizzle-orm ${installed}`)
      expect(error.message).toContain(peerRange)
    }).pipe(Effect.provide(layer)))

  it.effect("a database of neither dialect: instrument, relayOnce and layerRelay fail", () =>
    Effect.gen(function*() {
      const mysql = Object.create(MySqlDatabase.prototype) as object
      for (const db of [mysql, { insert: () => ({}), update: () => ({}), delete: () => ({}) }]) {
        const errors = [
          yield* Effect.flip(DrizzleHooks.instrument(db as DrizzleHooks.Database, { caches })),
          yield* Effect.flip(DrizzleHooks.relayOnce(db as DrizzleHooks.Database)),
          yield* Effect.flip(Layer.build(DrizzleHooks.layerRelay(db as DrizzleHooks.Database)).pipe(Effect.scoped))
        ]
        for (const error of errors) {
          expect(error._tag).toBe("UnsupportedDrizzleError")
          expect(error.message).toMatch(/neither PostgreSQL .* nor SQLite/)
        }
      }
    }).pipe(Effect.provide(InvalidationEngine.layer({ caches }).pipe(Layer.provideMerge(CacheStore.layerMemory())))))
})

/*
 * The surface, pinned: every member of Drizzle's objects the hooks rely on, per dialect
 * and per builder (insert, update, delete, without and with `.returning()`). The
 * relational query API (`db.query`) only reads and is not hooked. A change to this list
 * is a change to what the hooks need from drizzle-orm: the README's section on it says so.
 */
const builder = ["_prepare", "dialect.sqlToQuery", "execute", "session", "config.returning"]
const update = ["_prepare", "dialect.sqlToQuery", "execute", "config.set", "session", "config.returning", "config.where", "config.from"]
const run = ["then", "prepare"]
const sqliteRuns = [...run, "run", "all", "get", "values"]

const surfaceOf = (runs: ReadonlyArray<string>, prepared: ReadonlyArray<string>) => ({
  "database": ["insert", "update", "delete", "transaction", "session"],
  "db.insert(table)": ["values", "select"],
  "db.update(table)": ["set"],
  "db.insert(table).values(…)": [...builder, ...runs, "onConflictDoUpdate"],
  "db.insert(table).values(…).returning()": [...builder, ...runs],
  "db.update(table).set(…).where(…)": [...update, ...runs],
  "db.update(table).set(…).where(…).returning()": [...update, ...runs],
  "db.delete(table)": [...builder, ...runs],
  "db.delete(table).returning()": [...builder, ...runs],
  "prepared query": prepared
})

// The PostgreSQL drivers get clients that answer nothing: probing sends no query.
const noClient = {}
const pgSurface = surfaceOf(run, ["execute", "fields"])
const drivers: ReadonlyArray<{
  readonly name: string
  readonly dialect: Dialect
  readonly db: object
  readonly surface: Record<string, ReadonlyArray<string>>
}> = [
  { name: "node-postgres", dialect: pgDialect, db: drizzlePg({ client: noClient as pg.Pool }), surface: pgSurface },
  { name: "PGlite", dialect: pgDialect, db: drizzlePglite({ client: noClient as PGlite }), surface: pgSurface },
  {
    name: "better-sqlite3",
    dialect: sqliteDialect,
    db: raw,
    surface: surfaceOf(sqliteRuns, ["run", "all", "get", "values", "executeMethod", "execute"])
  }
]

/**
 * `made` with `path` broken as a release that renamed it would leave it: an own member
 * deleted; one it inherits or lacks replaced by one that reads undefined and keeps
 * nothing. What holds a nested member is replaced by a copy first (`dialect` is shared
 * by the database's builders), and so is `made` when it is shared (the database): the
 * database stays as it was. Builders are fresh and broken in place (their `run`, `all`,
 * `get`, `values` are bound to them).
 */
const broken = (made: object, path: string, shared: boolean): object => {
  const names = path.split(".")
  const last = names.pop()!
  const target = shared ? Object.create(Object.getPrototypeOf(made), Object.getOwnPropertyDescriptors(made)) : made
  let holder = target as Record<string, unknown>
  for (const name of names) {
    const inner = Object.create(holder[name] as object)
    Object.defineProperty(holder, name, { value: inner, writable: true, configurable: true })
    holder = inner
  }
  const absent = !(last in holder)
  if (Object.hasOwn(holder, last)) {
    delete holder[last]
  }
  if (absent || last in holder) {
    Object.defineProperty(holder, last, { get: () => undefined, set: () => {}, configurable: true })
  }
  return target
}

const withBroken = (probes: ReadonlyArray<Probe>, subject: string, member: string) =>
  probes.map((probe) => {
    if (probe.subject !== subject) {
      return probe
    }
    const shared = probe.make() === probe.make()
    return { ...probe, make: () => broken(probe.make() as object, member, shared) }
  })

describe.each(drivers)("the surface on $name", ({ db, dialect, surface }) => {
  it("is what the hooks rely on, and this drizzle-orm has all of it", () => {
    const found = [...findings(dialect.probes(db))]
    const listed: Record<string, Array<string>> = {}
    for (const { member, subject } of found) {
      ;(listed[subject] ??= []).push(member)
    }
    expect(listed).toEqual(surface)
    expect(found.filter((finding) => finding.problem !== undefined)).toEqual([])
  })
})

// Once per dialect: the drivers of one dialect share its builders and its check.
describe.each(drivers.filter(({ name }) => name !== "node-postgres"))("on $dialect.name", ({ db, dialect, surface }) => {
  const members = Object.entries(surface).flatMap(([subject, names]) => names.map((member) => ({ subject, member })))
  it.each(members)("a release that changed $subject `$member` is named first", ({ member, subject }) => {
    expect(firstProblem(withBroken(dialect.probes(db), subject, member))).toMatchObject({ subject, member })
  })
})

it("the range the error names is the peer range", () => {
  expect(testedRange).toBe(peerRange)
})
