import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import { hasProperty } from "effect/Predicate"
import type * as Cached from "../Cached.js"
import { CacheDefinitionError } from "../CacheError.js"
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
 * The database names of the columns a rule reads, resolved against its table: the
 * first column that does not belong to it fails.
 *
 * @internal
 */
export const columns = (
  rule: InvalidationRule.InvalidationRule
): Either.Either<InvalidationRule.Columns, CacheDefinitionError> => {
  const fail = (reason: string) =>
    Either.left(new CacheDefinitionError({ subject: `InvalidationRule "${rule.name}"`, reason }))
  const table = describe(rule.options.table)
  const mapping: Array<readonly [string, string]> = []
  for (const [input, column] of Object.entries(rule.options.fieldMapping)) {
    const name = columnName(table, column)
    if (Either.isLeft(name)) {
      return fail(`fieldMapping "${input}": ${name.left}`)
    }
    mapping.push([input, name.right])
  }
  const watch: Array<string> = []
  for (const column of rule.options.watchFields ?? []) {
    const name = columnName(table, column)
    if (Either.isLeft(name)) {
      return fail(`watchFields: ${name.left}`)
    }
    watch.push(name.right)
  }
  return Either.right({ mapping, watch: rule.options.watchFields === undefined ? undefined : watch })
}

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
  const fields = cached.key.fields
  const open = fields.some((field) => field.inputs === "*")
  const inputs = new Set(fields.flatMap((field) => field.inputs === "*" ? [] : field.inputs))
  const unread = Object.keys(rule.options.fieldMapping).find((input) => !open && !inputs.has(input))
  if (unread !== undefined) {
    return fail(`"${unread}" is not an input of its key (the key reads: ${[...inputs].join(", ") || "no input"})`)
  }
  const resolved = columns(rule)
  if (Either.isLeft(resolved)) {
    return fail(resolved.left.reason)
  }
  const { mapping, watch } = resolved.right
  // the engine provides its whole context to jobs, so the services keys read are there
  const subject = cached as Subject
  return Either.right({
    subject,
    rule,
    mapping,
    mapped: new Set(mapping.map(([, column]) => column)),
    watch: watch === undefined ? undefined : new Set(watch),
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
  return Array.from({ length: count }, (_, i) => ({
    event,
    row: Option.fromNullable(event.rows[i]),
    before: Option.fromNullable(before[i]),
    changed: changedOf(event, event.rows[i], before[i])
  }))
}

/** The columns a row's write changed: the event's, or the difference of its two rows. */
const changedOf = (
  event: InvalidationEvent.InvalidationEvent,
  row: InvalidationEvent.Row | undefined,
  before: InvalidationEvent.Row | undefined
): Option.Option<ReadonlyArray<string>> =>
  Option.isSome(event.changed) || row === undefined || before === undefined
    ? event.changed
    : Option.some(diff(row, before))

const wholeNamespace: Target = { _tag: "Namespace" }

/** Adds what a row invalidates, from the inputs it provides, to `out`; nothing for a skipped row. */
const target = (plan: Plan, row: InvalidationEvent.Row, rewarm: boolean, out: Array<Target>): void => {
  const input: Input = {}
  for (const [name, column] of plan.mapping) {
    if (Object.hasOwn(row, column)) {
      input[name] = row[column]
    } else if (plan.rule.options.requireInputs === "skip") {
      return
    }
  }
  const { fields, partitionSize } = plan.subject.key
  let resolved = 0
  for (const field of fields) {
    if (field.inputs === "*" || !field.inputs.every((name) => Object.hasOwn(input, name))) {
      break
    }
    resolved++
  }
  out.push(
    resolved === fields.length
      ? { _tag: "Key", input, rewarm }
      : partitionSize > 0 && resolved >= partitionSize
      ? { _tag: "Partition", input }
      : wholeNamespace
  )
}

/** Whether a change passes `watchFields`: an update that changes none of them is not relevant. */
const watched = (plan: Plan, operation: InvalidationEvent.Operation, changed: Option.Option<ReadonlyArray<string>>) => {
  const watch = plan.watch
  return watch === undefined || operation !== "update" || Option.isNone(changed) ||
    changed.value.some((column) => watch.has(column))
}

/** Adds what one row of an event (after and before the write) invalidates to `out`. */
const targetsOf = (
  plan: Plan,
  operation: InvalidationEvent.Operation,
  row: InvalidationEvent.Row | undefined,
  before: InvalidationEvent.Row | undefined,
  changed: Option.Option<ReadonlyArray<string>>,
  out: Array<Target>
): void => {
  // An update whose old row is unknown may have moved the row away from a key that only the old row names.
  const moved = operation === "update" && before === undefined &&
    (Option.isNone(changed) || changed.value.some((column) => plan.mapped.has(column)))
  if ((row === undefined && before === undefined) || moved) {
    out.push(wholeNamespace)
    return
  }
  if (row !== undefined) {
    target(plan, row, plan.rule.options.rewarm === true && operation !== "delete", out)
  }
  if (before !== undefined) {
    target(plan, before, false, out)
  }
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
  changes(event).filter((change) => watched(plan, event.operation, change.changed))

const targetsOfChanges = (plan: Plan, changes: ReadonlyArray<InvalidationRule.Change>) => {
  const out: Array<Target> = []
  for (const change of changes) {
    const { before, changed, event, row } = change
    targetsOf(plan, event.operation, Option.getOrUndefined(row), Option.getOrUndefined(before), changed, out)
  }
  return distinct(plan, out)
}

/**
 * What an event invalidates under a rule without `when`, after `watchFields`: what
 * `changes` gives, read row by row without making the changes.
 *
 * @internal
 */
export const targets = (plan: Plan, event: InvalidationEvent.InvalidationEvent): ReadonlyArray<Target> => {
  const { operation, rows } = event
  const before = Option.getOrUndefined(event.before)
  const count = Math.max(1, rows.length, before === undefined ? 0 : before.length)
  const out: Array<Target> = []
  for (let i = 0; i < count; i++) {
    const row: InvalidationEvent.Row | undefined = rows[i]
    const prior = before?.[i]
    const changed = changedOf(event, row, prior)
    if (watched(plan, operation, changed)) {
      targetsOf(plan, operation, row, prior, changed, out)
    }
  }
  return distinct(plan, out)
}

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
