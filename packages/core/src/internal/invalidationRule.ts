import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import { hasProperty } from "effect/Predicate"
import type * as Cached from "../Cached.js"
import type * as InvalidationEvent from "../InvalidationEvent.js"
import * as InvalidationRule from "../InvalidationRule.js"
import { canonical } from "./keyEncoding.js"
import { columnName, describe, tableName } from "./table.js"

/** @internal */
export const TypeId: typeof InvalidationRule.TypeId = Symbol.for(
  "@cachefx/core/InvalidationRule"
) as typeof InvalidationRule.TypeId

const onSuffix = (on: ReadonlyArray<InvalidationEvent.Operation> | undefined) =>
  on === undefined ? "" : `[${on.join(",")}]`

/** @internal */
export const make = (options: InvalidationRule.Options): InvalidationRule.InvalidationRule => {
  const table = tableName(options.table)
  const pairs = Object.entries(options.fieldMapping).map(([input, column]) =>
    `${input}=${typeof column === "string" ? column : column.name}`
  )
  return {
    [TypeId]: TypeId,
    name: options.name ?? `${table}(${pairs.join(",")})${onSuffix(options.on)}`,
    table,
    options,
    run: Option.none()
  }
}

/** @internal */
export const custom = (options: InvalidationRule.CustomOptions): InvalidationRule.InvalidationRule => {
  const table = tableName(options.table)
  const { run, ...rest } = options
  return {
    [TypeId]: TypeId,
    name: options.name ?? `${table}(custom)${onSuffix(options.on)}`,
    table,
    options: { ...rest, fieldMapping: {} },
    run: Option.some(run)
  }
}

/** @internal */
export const isInvalidationRule = (u: unknown): u is InvalidationRule.InvalidationRule => hasProperty(u, TypeId)

/**
 * An input built from a row.
 *
 * @internal
 */
export type Input = Record<string, unknown>

/**
 * A cached value as the engine drives it: every service its keys need comes from the
 * engine's context.
 *
 * @internal
 */
export type Subject = Cached.Cached<Input, unknown, unknown, never, Input, never>

/**
 * A rule checked against the cached value it belongs to.
 *
 * @internal
 */
export interface Plan {
  readonly subject: Subject
  readonly rule: InvalidationRule.InvalidationRule
  /** Input name and database column name. */
  readonly mapping: ReadonlyArray<readonly [string, string]>
  readonly mapped: ReadonlySet<string>
  readonly watch: ReadonlySet<string> | undefined
  readonly on: ReadonlySet<InvalidationEvent.Operation>
}

/**
 * What one row invalidates.
 *
 * @internal
 */
export type Target =
  | { readonly _tag: "Key"; readonly input: Input; readonly rewarm: boolean }
  | { readonly _tag: "Partition"; readonly input: Input }
  | { readonly _tag: "Namespace" }

const operations: ReadonlyArray<InvalidationEvent.Operation> = ["insert", "update", "delete"]

/**
 * Checks a rule against its cached value: every mapped input is read by the key, every
 * column belongs to the table.
 *
 * @internal
 */
export const plan = (
  cached: Cached.Cached.Any,
  rule: InvalidationRule.InvalidationRule
): Either.Either<Plan, InvalidationRule.InvalidationRuleError> => {
  const fail = (reason: string) =>
    Either.left(new InvalidationRule.InvalidationRuleError({ cache: cached.name, rule: rule.name, reason }))
  const table = describe(rule.options.table)
  const fields = cached.key.fields
  const open = fields.some((field) => field.inputs === "*")
  const inputs = new Set(fields.flatMap((field) => field.inputs === "*" ? [] : field.inputs))
  const mapping: Array<readonly [string, string]> = []
  for (const [input, column] of Object.entries(rule.options.fieldMapping)) {
    if (!open && !inputs.has(input)) {
      return fail(`"${input}" is not an input of its key (the key reads: ${[...inputs].join(", ") || "no input"})`)
    }
    const name = columnName(table, column)
    if (Either.isLeft(name)) {
      return fail(`fieldMapping "${input}": ${name.left}`)
    }
    mapping.push([input, name.right])
  }
  const watch = new Set<string>()
  for (const column of rule.options.watchFields ?? []) {
    const name = columnName(table, column)
    if (Either.isLeft(name)) {
      return fail(`watchFields: ${name.left}`)
    }
    watch.add(name.right)
  }
  // the engine provides its whole context to jobs, so the services keys read are there
  const subject = cached as Subject
  return Either.right({
    subject,
    rule,
    mapping,
    mapped: new Set(mapping.map(([, column]) => column)),
    watch: rule.options.watchFields === undefined ? undefined : watch,
    on: new Set(rule.options.on ?? operations)
  })
}

/** The canonical text of a value, or undefined for a value without one. */
const identity = (value: unknown): string | undefined => {
  try {
    return canonical(value)
  } catch {
    return undefined
  }
}

const diff = (row: InvalidationEvent.Row, before: InvalidationEvent.Row): ReadonlyArray<string> =>
  [...new Set([...Object.keys(row), ...Object.keys(before)])].filter((column) => {
    const now = identity(row[column])
    return now === undefined || now !== identity(before[column])
  })

/**
 * The rows of an event, one change each; an event that knows no rows gives one change
 * without rows.
 *
 * @internal
 */
export const changes = (event: InvalidationEvent.InvalidationEvent): ReadonlyArray<InvalidationRule.Change> => {
  const before = Option.getOrElse(event.before, (): ReadonlyArray<InvalidationEvent.Row> => [])
  const count = Math.max(1, event.rows.length, before.length)
  return Array.from({ length: count }, (_, i) => {
    const row = Option.fromNullable(event.rows[i])
    const prior = Option.fromNullable(before[i])
    const changed = Option.orElse(event.changed, () => Option.zipWith(row, prior, diff))
    return { event, row, before: prior, changed }
  })
}

/** Decides, from the inputs a row provides, what it invalidates; nothing for a skipped row. */
const target = (plan: Plan, row: InvalidationEvent.Row, rewarm: boolean): ReadonlyArray<Target> => {
  const input: Input = {}
  for (const [name, column] of plan.mapping) {
    if (Object.hasOwn(row, column)) {
      input[name] = row[column]
    } else if (plan.rule.options.requireInputs === "skip") {
      return []
    }
  }
  const { fields, partitionSize } = plan.subject.key
  const resolved = fields.map((field) => field.inputs !== "*" && field.inputs.every((name) => Object.hasOwn(input, name)))
  if (resolved.every(Boolean)) {
    return [{ _tag: "Key", input, rewarm }]
  }
  return partitionSize > 0 && resolved.slice(0, partitionSize).every(Boolean)
    ? [{ _tag: "Partition", input }]
    : [{ _tag: "Namespace" }]
}

/** Whether a change passes `watchFields`: an update that changes none of them is not relevant. */
const watched = (plan: Plan, change: InvalidationRule.Change): boolean => {
  const watch = plan.watch
  return watch === undefined || change.event.operation !== "update" ||
    !Option.exists(change.changed, (columns) => !columns.some((column) => watch.has(column)))
}

const targetsOf = (plan: Plan, change: InvalidationRule.Change): ReadonlyArray<Target> => {
  const operation = change.event.operation
  const rewarm = plan.rule.options.rewarm === true && operation !== "delete"
  const targets = [
    ...Option.toArray(change.row).flatMap((row) => target(plan, row, rewarm)),
    ...Option.toArray(change.before).flatMap((row) => target(plan, row, false))
  ]
  // An update whose old row is unknown may have moved the row away from a key that only the old row names.
  const moved = operation === "update" && Option.isNone(change.before) &&
    !Option.exists(change.changed, (columns) => !columns.some((column) => plan.mapped.has(column)))
  const known = Option.isSome(change.row) || Option.isSome(change.before)
  return !known || moved ? [{ _tag: "Namespace" }] : targets
}

/** The inputs a partition is built from. */
const partitionOf = (plan: Plan, input: Input): string | undefined => {
  const names = plan.subject.key.fields.slice(0, plan.subject.key.partitionSize).flatMap((field) => field.inputs)
  return identity(Object.fromEntries(names.map((name) => [name, input[name]])))
}

/**
 * The distinct targets of a set: a namespace wipe covers everything, a partition wipe
 * covers the keys in it, and a key rewarmed on one side of an update is rewarmed.
 */
const distinct = (plan: Plan, targets: ReadonlyArray<Target>): ReadonlyArray<Target> => {
  if (targets.length <= 1) {
    return targets
  }
  if (targets.some((target) => target._tag === "Namespace")) {
    return [{ _tag: "Namespace" }]
  }
  const partitions = new Map<string | undefined, Target>()
  const keys = new Map<string | undefined, Target & { readonly _tag: "Key" }>()
  for (const target of targets) {
    if (target._tag === "Partition") {
      partitions.set(partitionOf(plan, target.input) ?? `#${partitions.size}`, target)
    }
  }
  for (const target of targets) {
    if (target._tag !== "Key" || partitions.has(partitionOf(plan, target.input))) {
      continue
    }
    const id = identity(target.input) ?? `#${keys.size}`
    const seen = keys.get(id)
    keys.set(id, seen === undefined ? target : { ...target, rewarm: seen.rewarm || target.rewarm })
  }
  return [...partitions.values(), ...keys.values()]
}

const relevant = (plan: Plan, event: InvalidationEvent.InvalidationEvent) =>
  changes(event).filter((change) => watched(plan, change))

const targetsOfChanges = (plan: Plan, changes: ReadonlyArray<InvalidationRule.Change>) =>
  distinct(plan, changes.flatMap((change) => targetsOf(plan, change)))

/**
 * What an event invalidates under a rule without `when`, after `watchFields`.
 *
 * @internal
 */
export const targets = (plan: Plan, event: InvalidationEvent.InvalidationEvent): ReadonlyArray<Target> =>
  targetsOfChanges(plan, relevant(plan, event))

/**
 * What an event invalidates under a rule with `when`, after `watchFields` and `when`.
 *
 * @internal
 */
export const targetsWhen = (
  plan: Plan,
  event: InvalidationEvent.InvalidationEvent,
  when: NonNullable<InvalidationRule.InvalidationRule["options"]["when"]>
): Effect.Effect<ReadonlyArray<Target>> =>
  Effect.suspend(() => Effect.map(Effect.filter(relevant(plan, event), when), (kept) => targetsOfChanges(plan, kept)))
