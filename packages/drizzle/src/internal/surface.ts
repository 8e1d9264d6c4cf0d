import { sql, type Table } from "drizzle-orm"
import * as Effect from "effect/Effect"
import { hasProperty, isRecord } from "effect/Predicate"
import type { UnsupportedDrizzleError } from "../DrizzleError.js"
import { type Dialect, unsupported } from "./dialect.js"

/*
 * The hooks rely on members of Drizzle's builders that drizzle-orm does not declare:
 * `config` and what it holds, `_prepare`, `session`, `dialect`, and how the ways to run a
 * builder lead to them (`statement.ts` says why). A release that changed one would leave
 * writes uninstrumented without a word, so `instrument` probes them once, on builders of
 * a table of its own that it never runs, and fails naming the first that changed.
 */

/** What is wrong with a member, or undefined when it is as the hooks expect. */
type Problem = string | undefined

/** @internal */
export interface Member {
  readonly name: string
  readonly problem: (made: object) => Problem
}

/**
 * One thing probed (`database`, a builder, a prepared query): how to make a fresh one,
 * and the members the hooks rely on.
 *
 * @internal
 */
export interface Probe {
  readonly subject: string
  readonly make: () => unknown
  readonly members: ReadonlyArray<Member>
}

/** @internal */
export interface Finding {
  readonly subject: string
  readonly member: string
  readonly problem: Problem
}

const attempt = (f: () => Problem): Problem => {
  try {
    return f()
  } catch (error) {
    return `could not be probed: it threw ${error instanceof Error ? error.message : String(error)}`
  }
}

/**
 * Every member of every probe, in order, checked on a fresh object each (checks change
 * what they probe); lazily, so that a check can stop at the first problem.
 *
 * @internal
 */
export function* findings(probes: ReadonlyArray<Probe>): Generator<Finding> {
  for (const { make, members, subject } of probes) {
    for (const member of members) {
      const problem = attempt(() => {
        const made = make()
        return typeof made === "object" && made !== null ? member.problem(made) : `could not be probed: ${subject} gave ${typeof made}`
      })
      yield { subject, member: member.name, problem }
    }
  }
}

/**
 * The first member of the probes that is not as the hooks expect.
 *
 * @internal
 */
export const firstProblem = (probes: ReadonlyArray<Probe>): Finding | undefined => {
  for (const finding of findings(probes)) {
    if (finding.problem !== undefined) {
      return finding
    }
  }
  return undefined
}

/** The databases whose builders passed: a few milliseconds of probing, once per database. */
const passed = new WeakSet<object>()

/**
 * Fails with `UnsupportedDrizzleError` naming the first member of a database's builders
 * that is not as the hooks expect.
 *
 * @internal
 */
export const check = (db: object, dialect: Dialect): Effect.Effect<void, UnsupportedDrizzleError> =>
  Effect.suspend(() => {
    if (passed.has(db)) {
      return Effect.void
    }
    const failed = firstProblem(dialect.probes(db))
    if (failed === undefined) {
      passed.add(db)
      return Effect.void
    }
    return unsupported({
      dialect: dialect.name,
      subject: failed.subject,
      member: failed.member,
      reason: failed.problem!
    })
  })

const at = (made: object, path: string): unknown =>
  path.split(".").reduce<unknown>((value, name) => hasProperty(value, name) ? value[name] : undefined, made)

/**
 * Calls a method by name: the probes reach members the types do not declare.
 *
 * @internal
 */
export const invoke = (made: unknown, name: string, ...args: ReadonlyArray<unknown>): unknown =>
  Reflect.apply(at(made as object, name) as (...args: ReadonlyArray<unknown>) => unknown, made, args)

/** @internal */
export const fn = (path: string): Member => ({
  name: path,
  problem: (made) => typeof at(made, path) === "function" ? undefined : "is not a function"
})

/** @internal */
export const own = (name: string): Member => ({
  name,
  problem: (made) => Object.hasOwn(made, name) ? undefined : "is not a property of its own"
})

/**
 * A member that calls `callee` of the same object, found by putting a recorder there.
 *
 * @internal
 */
export const calls = (name: string, callee: string, args: ReadonlyArray<unknown>, gives: unknown): Member => ({
  name,
  problem: (made) => {
    let called = false
    Reflect.set(made, callee, () => {
      called = true
      return gives
    })
    const f = at(made, name)
    if (typeof f !== "function") {
      return "is not a function"
    }
    Reflect.apply(f, made, args)
    return called ? undefined : `does not call \`${callee}\``
  }
})

/** The markers a probe puts in a builder's config, to find them in the statement `_prepare` builds. */
const marks = {
  returning: [{ path: ["cachefx_probe"], field: sql.raw("cachefx_probe_returning") }],
  where: sql.raw("cachefx_probe_where"),
  from: sql.raw("cachefx_probe_from")
}

/** The condition of the probed updates' `.where(…)`. */
const condition = sql`1 = 1`

/**
 * What `_prepare` hands to the session it finds in `session` when `config` holds
 * `change`: `prepareMarked` prepares statements this way. Undefined when no session was asked.
 */
const prepared = (made: object, change: Record<string, unknown>) => {
  const asked: Array<ReadonlyArray<unknown>> = []
  const record = (...args: ReadonlyArray<unknown>) => {
    asked.push(args)
    return {}
  }
  Reflect.set(made, "session", { prepareQuery: record, prepareOneTimeQuery: record })
  Object.assign(at(made, "config") as object, change)
  invoke(made, "_prepare")
  const [query, fields] = asked[0] ?? []
  return asked.length === 0 ? undefined : { sql: hasProperty(query, "sql") ? String(query.sql) : "", fields }
}

const noSession = "could not be probed: `_prepare` asked no session"

const contains = (statement: { readonly sql: string }, text: string): Problem =>
  statement.sql.includes(text)
    ? undefined
    : `set by the hooks does not reach the statement \`_prepare\` builds (${statement.sql})`

const rendered = (made: object, change: Record<string, unknown>, text: string): Problem => {
  const statement = prepared(made, change)
  return statement === undefined ? noSession : contains(statement, text)
}

const session: Member = {
  name: "session",
  problem: (made) =>
    !Object.hasOwn(made, "session")
      ? "is not a property of its own"
      : prepared(made, {}) === undefined
      ? "is not where `_prepare` prepares its statement: a session put there is not asked"
      : undefined
}

const returning = (expected: boolean): Member => ({
  name: "config.returning",
  problem: (made) => {
    const value = at(made, "config.returning")
    const listed = Array.isArray(value) && value.length > 0 &&
      value.every((field) => hasProperty(field, "path") && Array.isArray(field.path) && hasProperty(field, "field"))
    if (expected ? !listed : value !== undefined) {
      return expected ? "is not the list of `{ path, field }` that `.returning()` sets" : "is set without `.returning()`"
    }
    const statement = prepared(made, { returning: marks.returning })
    return statement === undefined
      ? noSession
      : statement.fields !== marks.returning
      ? "is not the list of fields `_prepare` hands to the session"
      : contains(statement, "cachefx_probe_returning")
  }
})

const set: Member = {
  name: "config.set",
  problem: (made) => {
    const values = at(made, "config.set")
    return isRecord(values) && Object.hasOwn(values, "probeValue") ? undefined : "does not hold what `.set()` sets, by property name"
  }
}

const where: Member = {
  name: "config.where",
  problem: (made) =>
    at(made, "config.where") !== condition
      ? "is not the condition `.where()` sets"
      : rendered(made, { where: marks.where }, "cachefx_probe_where")
}

const from = (table: Table): Member => ({
  name: "config.from",
  problem: (made) => {
    if (at(made, "config.from") !== undefined) {
      return "is set without `.from()`"
    }
    if (at(invoke(made, "from", table) as object, "config.from") === undefined) {
      return "is not what `.from()` sets"
    }
    return rendered(made, { from: marks.from }, "cachefx_probe_from")
  }
})

/**
 * The members every write builder has, with those of its kind: `read` are read as they
 * are, `built` through the statement `_prepare` builds. Members a later check calls or
 * builds with come first, so that a missing one is named rather than what it broke.
 */
const writeMembers = (
  runners: ReadonlyArray<string>,
  returns: boolean,
  read: ReadonlyArray<Member> = [],
  built: ReadonlyArray<Member> = []
) => [
  fn("_prepare"),
  fn("dialect.sqlToQuery"),
  fn("execute"),
  ...read,
  session,
  returning(returns),
  ...built,
  calls("then", "execute", [], Promise.resolve()),
  calls("prepare", "_prepare", ["cachefx_probe"], {}),
  ...runners.map((runner): Member => ({
    name: runner,
    problem: (made) => {
      let ran = false
      const gives = { [runner]: () => (ran = true) }
      return calls(runner, "_prepare", [], gives).problem(made) ?? (ran ? undefined : `does not run what \`_prepare\` gives`)
    }
  }))
]

/**
 * The entry builders of `db` (`insert(t)`, `update(t)`) and its write builders, without
 * and with `.returning()`, on `table` (never run). `runners` are the builder methods
 * that run it through `_prepare` (SQLite's `run`, `all`, `get`, `values`).
 *
 * @internal
 */
export const writeProbes = (db: object, table: Table, runners: ReadonlyArray<string>): ReadonlyArray<Probe> => {
  const insert = () => invoke(invoke(db, "insert", table), "values", { id: 1 })
  const update = () => invoke(invoke(invoke(db, "update", table), "set", { probeValue: 1 }), "where", condition)
  const remove = () => invoke(db, "delete", table)
  const returned = (make: () => unknown) => () => invoke(make(), "returning")
  return [
    { subject: "db.insert(table)", make: () => invoke(db, "insert", table), members: [fn("values"), fn("select")] },
    { subject: "db.update(table)", make: () => invoke(db, "update", table), members: [fn("set")] },
    {
      subject: "db.insert(table).values(…)",
      make: insert,
      members: [...writeMembers(runners, false), fn("onConflictDoUpdate")]
    },
    { subject: "db.insert(table).values(…).returning()", make: returned(insert), members: writeMembers(runners, true) },
    {
      subject: "db.update(table).set(…).where(…)",
      make: update,
      members: writeMembers(runners, false, [set], [where, from(table)])
    },
    {
      subject: "db.update(table).set(…).where(…).returning()",
      make: returned(update),
      members: writeMembers(runners, true, [set], [where, from(table)])
    },
    { subject: "db.delete(table)", make: remove, members: writeMembers(runners, false) },
    { subject: "db.delete(table).returning()", make: returned(remove), members: writeMembers(runners, true) }
  ]
}

/**
 * The database members the hooks use: the entry builders they wrap, `transaction`, and
 * `session`, which a transaction's writes are prepared on.
 *
 * @internal
 */
export const databaseProbe = (db: object): Probe => ({
  subject: "database",
  make: () => db,
  members: [fn("insert"), fn("update"), fn("delete"), fn("transaction"), own("session")]
})
