import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as FiberSet from "effect/FiberSet"
import * as Layer from "effect/Layer"
import type * as Metric from "effect/Metric"
import * as MetricLabel from "effect/MetricLabel"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import type * as Tracer from "effect/Tracer"
import type * as Cached from "../Cached.js"
import type { CacheError } from "../CacheError.js"
import * as CacheMetrics from "../CacheMetrics.js"
import type { CacheStore, InvalidateOptions } from "../CacheStore.js"
import * as Dispatcher from "../Dispatcher.js"
import * as InvalidationBus from "../InvalidationBus.js"
import * as InvalidationEngine from "../InvalidationEngine.js"
import type * as InvalidationEvent from "../InvalidationEvent.js"
import { type Handle, InvalidationRuleError } from "../InvalidationRule.js"
import { afterExit } from "./afterExit.js"
import { definitionOf } from "./cached.js"
import * as invalidating from "./cached/invalidate.js"
import * as busInternal from "./invalidationBus.js"
import * as replay from "./replay.js"
import * as rules from "./invalidationRule.js"
import * as tracing from "./tracing.js"

const defaultRetry = Schedule.exponential("100 millis").pipe(Schedule.intersect(Schedule.recurs(4)))

// Label arrays are kept, one per set of values: a metric's hook is cached by the array's identity.
const labelArrays = new Map<string, ReadonlyArray<MetricLabel.MetricLabel>>()
const labels = (...pairs: ReadonlyArray<readonly [string, string]>) => {
  const key = pairs.map(([name, value]) => `${name}=${value}`).join("\u0000")
  let found = labelArrays.get(key)
  if (found === undefined) {
    found = pairs.map(([name, value]) => MetricLabel.make(name, value))
    labelArrays.set(key, found)
  }
  return found
}

/**
 * `Effect.retry` of `attempt` and, once the retries are spent, `orElse` of what the last
 * one left (or of the first failure that is not an error: a defect, an interruption). The
 * schedule driver is made only once the first attempt failed, and a job that succeeds
 * (nearly every one) meets one handler.
 */
const retrying = (schedule: Schedule.Schedule<unknown, unknown>) =>
<A, E, R, B, R2>(
  attempt: Effect.Effect<A, E, R>,
  orElse: (cause: Cause.Cause<E>) => Effect.Effect<B, never, R2>
): Effect.Effect<A | B, never, R | R2> =>
  Effect.catchAllCause(attempt, (cause) =>
    Either.match(Cause.failureOrCause(cause), {
      onLeft: (first) =>
        Effect.catchAllCause(
          Effect.flatMap(Schedule.driver(schedule), (driver) => {
            const again = (error: E): Effect.Effect<A, E, R> =>
              Effect.matchEffect(driver.next(error), {
                onFailure: () => Effect.fail(error),
                onSuccess: () => Effect.catchAll(attempt, again)
              })
            return again(first)
          }),
          orElse
        ),
      onRight: orElse
    }))

/** `wider` stands in when `attempt` cannot build its key (or partition); store failures are real failures. */
const widerIfUnbuilt = (
  attempt: Effect.Effect<void, CacheError, CacheStore>,
  wider: Effect.Effect<void, CacheError, CacheStore>
): Effect.Effect<void, CacheError, CacheStore> =>
  Effect.catchAllCause(attempt, (cause) =>
    Cause.isInterruptedOnly(cause) ||
      Option.exists(Cause.failureOption(cause), (error) => error._tag === "CacheStoreError")
      ? Effect.failCause(cause)
      : wider)

const softly: InvalidateOptions = { soft: true }

/**
 * How a rule applies each kind of target: it builds the target's key, partition or
 * namespace from the cached value's definition and invalidates it in the store, softly
 * for a rule with `soft` (except the delete before a rewarm), after stopping the
 * computations under way it covers. Made once per rule when the engine is built: what
 * does not depend on the row (the metric labels, the rule's options) is not rebuilt per job.
 */
const applier = (plan: rules.Plan): (target: rules.Target) => Effect.Effect<void, CacheError, CacheStore> => {
  const { rule, subject } = plan
  const def = definitionOf(subject)
  const options = rule.options.soft === true ? softly : undefined
  const ruleLabels = labels(["cache", subject.name], ["rule", rule.name])
  const count = (metric: Metric.Metric.Counter<number>) => Effect.sync(() => metric.unsafeUpdate(1, ruleLabels))
  const annotated = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    Effect.annotateLogs(effect, { cache: subject.name, rule: rule.name })
  // rewarm falls back to a wider wipe when the row does not name the whole key, and says so
  const instead = (wipe: string) =>
    rule.options.rewarm === true
      ? (effect: Effect.Effect<void, CacheError, CacheStore>) =>
        Effect.zipRight(
          annotated(Effect.logInfo(`cachefx: cannot rewarm (the row does not give every key input); ${wipe} instead`)),
          effect
        )
      : (effect: Effect.Effect<void, CacheError, CacheStore>) => effect
  const namespace = instead("wiping the namespace")(
    Effect.zipRight(invalidating.wipe(def, options), count(CacheMetrics.namespacesWiped))
  )
  const partitionsWiped = count(CacheMetrics.partitionsWiped)
  const insteadOfPartition = instead("wiping the partition")
  const partition = (input: rules.Input) =>
    subject.key.partitionSize === 0 ? namespace : widerIfUnbuilt(
      insteadOfPartition(Effect.zipRight(invalidating.deletePartition<CacheStore>(def, input, options), partitionsWiped)),
      namespace
    )
  const rewarms = count(CacheMetrics.rewarms)
  const rewarm = (input: rules.Input) =>
    subject.refresh(input).pipe(
      Effect.zipRight(rewarms),
      Effect.catchAllCause((cause) => annotated(Effect.logWarning("cachefx: rewarm failed; the key stays deleted", cause)))
    )
  const keysDeleted = count(CacheMetrics.keysDeleted)
  const deleteKey = (input: rules.Input, rewarming: boolean) =>
    Effect.zipRight(invalidating.deleteKey<CacheStore>(def, input, rewarming ? undefined : options), keysDeleted)
  return (target) => {
    switch (target._tag) {
      case "Namespace":
        return namespace
      case "Partition":
        return partition(target.input)
      case "Key":
        return widerIfUnbuilt(
          // deleting first voids every fill that began before the write; the recomputation then stores
          target.rewarm ? Effect.zipRight(deleteKey(target.input, true), rewarm(target.input)) : deleteKey(target.input, false),
          partition(target.input)
        )
    }
  }
}

/** A cached value as a custom invalidator sees it: each operation is a target, applied as a rule's own. */
const handle = (
  apply: (target: rules.Target) => Effect.Effect<void, CacheError, CacheStore>,
  name: string,
  context: Context.Context<CacheStore>
): Handle => {
  const run = (target: rules.Target) => Effect.provide(apply(target), context)
  return {
    name,
    delete: (input) => run({ _tag: "Key", input, rewarm: false }),
    deletePartition: (input) => run({ _tag: "Partition", input }),
    invalidateAll: run({ _tag: "Namespace" }),
    refresh: (input) => run({ _tag: "Key", input, rewarm: true })
  }
}

/**
 * One rule as the engine runs it, made when the engine is built: the rule's plan, its
 * dispatcher, and its job as a function of the event. Everything a job needs that does not
 * depend on the event (the rule's options, metric labels, span attributes) is read here
 * once, not per event.
 */
interface Prepared {
  readonly plan: rules.Plan
  readonly dispatcher: Dispatcher.Dispatcher
  readonly config: Readonly<Record<string, unknown>>
  /** `config` as text: rules whose configs read the same share a batched job. */
  readonly configKey: string
  /** The job of an event, run once, without retries: what a broker's worker runs. */
  readonly attempt: (event: InvalidationEvent.InvalidationEvent) => Effect.Effect<void, CacheError>
  /**
   * The job of an event with its retries. A job that still fails is logged and counted,
   * and remembered for a replay when the store did not answer. With a `receipt` (a
   * tracked publish), completes it: true once applied, false once out of retries.
   */
  readonly retried: (
    event: InvalidationEvent.InvalidationEvent,
    receipt: Deferred.Deferred<boolean> | undefined
  ) => Effect.Effect<void>
}

/** Whether a job failed because the store did not answer (a replay may then apply it). */
const storeFailed = (cause: Cause.Cause<CacheError>) =>
  Option.exists(Cause.failureOption(cause), (error) => error._tag === "CacheStoreError")

const prepare = (
  plan: rules.Plan,
  dispatcher: Dispatcher.Dispatcher,
  context: Context.Context<CacheStore>,
  retry: Schedule.Schedule<unknown, unknown>,
  remember: (failed: replay.Failed) => Effect.Effect<void>
): Prepared => {
  const { rule, subject } = plan
  const ruleLabels = labels(["cache", subject.name], ["rule", rule.name])
  const apply = applier(plan)
  const applyAll = (targets: ReadonlyArray<rules.Target>) =>
    targets.length === 1 ? apply(targets[0]!) : Effect.forEach(targets, apply, { discard: true })
  // what a job does under its rule: a custom invalidator per changed row, or the rule's targets
  const work = Option.match(rule.run, {
    onNone: () => {
      const when = rule.options.when
      // (called in the step that starts the job: the targets of a rule without `when` are worked out there)
      return when === undefined
        ? (event: InvalidationEvent.InvalidationEvent) => applyAll(rules.targets(plan, event))
        : (event: InvalidationEvent.InvalidationEvent) => Effect.flatMap(rules.targetsWhen(plan, event, when), applyAll)
    },
    onSome: (invalidator) => {
      const cached = handle(apply, subject.name, context)
      return (event: InvalidationEvent.InvalidationEvent) =>
        Effect.forEach(rules.changes(event), (change) => invalidator(change, cached), { discard: true })
    }
  })
  const counted = Effect.sync(() => CacheMetrics.invalidationJobs.unsafeUpdate(1, ruleLabels))
  const services = [...context.unsafeMap]
  // A job in the publisher's fiber needs the engine's services; `Effect.provide` merges
  // them in and gives the fiber's context back after the job, a cost measured on every
  // write (bench:versions, the update without a database); a publisher that runs on the
  // engine's own runtime (the Drizzle hooks do) already holds every one, and is left as is.
  const holdsAll = (current: Context.Context<never>) =>
    services.every(([key, service]) => current.unsafeMap.get(key) === service)
  const attempt = (event: InvalidationEvent.InvalidationEvent) =>
    Effect.withFiberRuntime<void, CacheError>((fiber) => {
      const counting = Effect.zipRight(work(event), counted)
      const job = tracing.isExporting(fiber)
        ? Effect.withSpan(counting, "cachefx.invalidation.job", {
          captureStackTrace: false,
          attributes: { "cachefx.cache": subject.name, "cachefx.rule": rule.name, "cachefx.table": event.table }
        })
        : counting
      return holdsAll(fiber.currentContext) ? job as Effect.Effect<void, CacheError> : Effect.provide(job, context)
    })
  const failed = Effect.sync(() => CacheMetrics.invalidationFailures.unsafeUpdate(1, ruleLabels))
  const retryThen = retrying(retry)
  const wipe = Effect.provide(apply({ _tag: "Namespace" }), context)
  // a replay waits for the store; a job that then fails for another reason is dropped, and said so
  const replayed = (event: InvalidationEvent.InvalidationEvent) =>
    Effect.catchAllCause(attempt(event), (cause) =>
      storeFailed(cause) ? Effect.failCause(cause) : Effect.zipRight(
        failed,
        Effect.logError("cachefx: a replayed invalidation job failed, not for the store; dropped", cause).pipe(
          Effect.annotateLogs({ cache: subject.name, rule: rule.name, table: event.table })
        )
      ))
  const retried = (event: InvalidationEvent.InvalidationEvent, receipt: Deferred.Deferred<boolean> | undefined) =>
    retryThen(receipt === undefined ? attempt(event) : Effect.zipRight(attempt(event), Deferred.succeed(receipt, true)), (cause) =>
      Effect.zipRight(
        failed,
        Effect.logError("cachefx: invalidation job failed after its retries", cause).pipe(
          Effect.annotateLogs({ cache: subject.name, rule: rule.name, table: event.table })
        )
      ).pipe(
        Effect.zipRight(storeFailed(cause) ? remember({ cache: subject.name, attempt: replayed(event), wipe }) : Effect.void),
        Effect.zipRight(receipt === undefined ? Effect.void : Deferred.succeed(receipt, false))
      ))
  const config = rule.options.dispatcherConfig ?? {}
  return { plan, dispatcher, config, configKey: JSON.stringify(config), attempt, retried }
}

/** The rules of one table, by operation, and the labels of its event metric. */
interface TableRules {
  readonly labels: ReadonlyArray<MetricLabel.MetricLabel>
  readonly on: Readonly<Record<InvalidationEvent.Operation, ReadonlyArray<Prepared>>>
}

/**
 * Checks every rule of every cached value, resolves its dispatcher and prepares it; gives
 * the rules by cached value and rule name (for jobs) and by table and operation (for events).
 */
const index = (
  caches: ReadonlyArray<Cached.Cached.Any>,
  context: Context.Context<CacheStore>,
  retry: Schedule.Schedule<unknown, unknown>,
  remember: (failed: replay.Failed) => Effect.Effect<void>,
  defaultDispatcher: string
) =>
  Effect.gen(function*() {
    // jobs name cached values by name: one name, one cached value (given twice, it counts once)
    const named = new Map<string, Cached.Cached.Any>()
    for (const cached of caches) {
      const seen = named.get(cached.name)
      if (seen !== undefined && seen !== cached) {
        return yield* new InvalidationEngine.CacheNameError({
          name: cached.name,
          namespaces: [seen.key.namespace, cached.key.namespace]
        })
      }
      named.set(cached.name, cached)
    }
    const plans = new Map<string, Map<string, Prepared>>()
    const byTable = new Map<string, TableRules>()
    for (const cached of named.values()) {
      const own = new Map<string, Prepared>()
      for (const rule of cached.rules) {
        const fail = (reason: string) => new InvalidationRuleError({ cache: cached.name, rule: rule.name, reason })
        if (own.has(rule.name)) {
          return yield* fail("two rules of this cached value have this name; give one a name of its own (option name)")
        }
        const plan = yield* rules.plan(cached, rule)
        const name = rule.options.dispatcher ?? defaultDispatcher
        const provided = yield* Effect.serviceOption(Dispatcher.tag(name))
        if (Option.isNone(provided) && name !== "inline") {
          return yield* fail(`no layer provides the dispatcher "${name}" (provide Dispatcher.layerPool, Dispatcher.layerBackground or a broker's layer to the engine layer)`)
        }
        const prepared = prepare(plan, Option.getOrElse(provided, () => Dispatcher.inline), context, retry, remember)
        own.set(rule.name, prepared)
        const table = byTable.get(rule.table) ?? {
          labels: labels(["table", rule.table]),
          on: { insert: [], update: [], delete: [] }
        }
        byTable.set(rule.table, {
          labels: table.labels,
          on: {
            insert: plan.on.has("insert") ? [...table.on.insert, prepared] : table.on.insert,
            update: plan.on.has("update") ? [...table.on.update, prepared] : table.on.update,
            delete: plan.on.has("delete") ? [...table.on.delete, prepared] : table.on.delete
          }
        })
      }
      if (own.size > 0) {
        plans.set(cached.name, own)
      }
    }
    return { plans, byTable, caches: [...named.values()] }
  })

const dispatcherKeys = Dispatcher.tag("").key

/**
 * What jobs get of the engine's context: the services its layer was given, without the
 * machinery that builds and runs the engine (its layer's scope and memo map, the
 * dispatchers), which no job uses and which must not reach the publisher's fiber.
 */
const forJobs = (context: Context.Context<CacheStore>): Context.Context<CacheStore> =>
  Context.unsafeMake(
    new Map(
      [...context.unsafeMap].filter(([key]) =>
        key !== Scope.Scope.key && key !== Layer.CurrentMemoMap.key && !key.startsWith(dispatcherKeys)
      )
    )
  )

/**
 * The engine on `bus`. With `serve` (the engine's layer made the bus), events are handled
 * in the publisher's fiber; without (a bus from the context), through the bus's queue.
 */
const makeOn = (
  options: InvalidationEngine.Options,
  bus: InvalidationBus.Service,
  serve: busInternal.Served["serve"] | undefined
) =>
  Effect.gen(function*() {
    const context = forJobs(yield* Effect.context<CacheStore>())
    const replays = yield* replay.make({
      capacity: options.replay?.capacity ?? 10_000,
      interval: options.replay?.interval ?? "500 millis",
      maxInterval: options.replay?.maxInterval ?? "5 seconds"
    })
    const { byTable, caches, plans } = yield* index(
      options.caches,
      context,
      options.retry ?? defaultRetry,
      replays.remember,
      options.dispatcher ?? "inline"
    )

    /** Runs one rule of a job, once, without retries. */
    const runRule = (
      cache: string,
      rule: string,
      event: InvalidationEvent.InvalidationEvent
    ): Effect.Effect<void, InvalidationRuleError | CacheError> => {
      const prepared = plans.get(cache)?.get(rule)
      if (prepared === undefined) {
        return Effect.fail(new InvalidationRuleError({
          cache,
          rule,
          reason: "this engine has no such rule (does this process run the code that made the job?)"
        }))
      }
      return prepared.attempt(event)
    }

    /** A job's rule, then the rules batched with it, one after the other. */
    const run = (job: Dispatcher.Job): Effect.Effect<void, InvalidationRuleError | CacheError> =>
      job.batch === undefined || job.batch.length === 0
        ? runRule(job.cache, job.rule, job.event)
        : Effect.forEach([job, ...job.batch], (part) => runRule(part.cache, part.rule, job.event), { discard: true })

    /**
     * Hands one job to the dispatcher of `group` (rules of one event that share it and
     * its config: one rule, or several with `batch`); run in place, it applies each rule
     * with its own retries. With `receipts` (a tracked publish), adds the signal of each
     * rule's outcome.
     */
    const dispatch = (
      group: ReadonlyArray<Prepared>,
      event: InvalidationEvent.InvalidationEvent,
      receipts: busInternal.Receipts | undefined
    ) => {
      const [first, ...rest] = group as readonly [Prepared, ...Array<Prepared>]
      const job: Dispatcher.Job = {
        cache: first.plan.subject.name,
        rule: first.plan.rule.name,
        event,
        ...(rest.length === 0 ? {} : {
          batch: rest.map((prepared) => ({ cache: prepared.plan.subject.name, rule: prepared.plan.rule.name }))
        })
      }
      const signals = group.map((): Deferred.Deferred<boolean> | undefined => {
        if (receipts === undefined) {
          return undefined
        }
        const receipt = Deferred.unsafeMake<boolean>(FiberId.none)
        receipts.push(receipt)
        return receipt
      })
      const runs = group.length === 1
        ? first.retried(event, signals[0])
        : Effect.forEach(group, (prepared, i) => prepared.retried(event, signals[i]), { discard: true })
      const dispatched = first.dispatcher.dispatch({ job, config: first.config, run: runs })
      // a broker holds the job once it took it (a job it did not take ran in place, and said so first)
      return receipts !== undefined && first.dispatcher.durable === true
        ? Effect.zipRight(dispatched, Effect.forEach(signals, (receipt) => Deferred.succeed(receipt!, true), { discard: true }))
        : dispatched
    }

    /** The jobs of an event's rules: one per rule, or with `batch` one per dispatcher and config. */
    const groupsOf = (matching: ReadonlyArray<Prepared>): ReadonlyArray<ReadonlyArray<Prepared>> => {
      if (options.batch !== true || matching.length < 2) {
        return matching.map((prepared) => [prepared])
      }
      const groups: Array<Array<Prepared>> = []
      for (const prepared of matching) {
        const group = groups.find(([other]) => other!.dispatcher === prepared.dispatcher && other!.configKey === prepared.configKey)
        if (group === undefined) {
          groups.push([prepared])
        } else {
          group.push(prepared)
        }
      }
      return groups
    }

    /** Handles an event in `fiber`, the publisher's (or the engine's, for queued events). */
    const handle = (
      fiber: Fiber.RuntimeFiber<unknown, unknown>,
      event: InvalidationEvent.InvalidationEvent,
      parent: Option.Option<Tracer.AnySpan>,
      receipts: busInternal.Receipts | undefined
    ): Effect.Effect<void> => {
      const table = byTable.get(event.table)
      const matching = table === undefined ? [] : table.on[event.operation]
      CacheMetrics.invalidationEvents.unsafeUpdate(1, table === undefined ? labels(["table", event.table]) : table.labels)
      // one job runs in this fiber; several run side by side
      const groups = groupsOf(matching)
      const jobs = groups.length === 1
        ? dispatch(groups[0]!, event, receipts)
        : Effect.forEach(groups, (group) => dispatch(group, event, receipts), {
          concurrency: "unbounded",
          discard: true
        })
      return tracing.isExporting(fiber)
        ? Effect.withSpan(jobs, "cachefx.invalidation.event", {
          captureStackTrace: false,
          attributes: { "cachefx.table": event.table, "cachefx.operation": event.operation },
          ...Option.match(parent, { onNone: () => ({}), onSome: (span) => ({ parent: span }) })
        })
        : jobs
    }

    // Events published before the engine serves the bus (or on a bus from the context, which it never serves) come through its queue.
    const deliver = (delivery: InvalidationBus.Delivery) =>
      Effect.withFiberRuntime<void>((fiber) => handle(fiber, delivery.event, delivery.parent, delivery.receipts)).pipe(
        Effect.ensuring(Deferred.succeed(delivery.handled, void 0))
      )

    const handling = yield* FiberSet.make<void>()
    const consumer = yield* Effect.uninterruptibleMask((restore) =>
      Effect.flatMap(restore(Queue.take(bus.deliveries)), (delivery) => FiberSet.run(handling, deliver(delivery)))
    ).pipe(Effect.forever, Effect.forkScoped)
    yield* Effect.addFinalizer(() =>
      Fiber.interrupt(consumer).pipe(
        Effect.zipRight(Queue.takeAll(bus.deliveries)),
        Effect.flatMap((left) => Effect.forEach(left, deliver, { discard: true })),
        Effect.zipRight(FiberSet.awaitEmpty(handling))
      )
    )

    // Served in the publisher's fiber: uninterruptible, as a publisher that stops waiting must not stop the
    // invalidation; the engine stops once the ones under way are done (finalizers run in reverse order: the
    // bus goes back to its queue first, and this waits for the rest).
    let underWay = 0
    let stopping = false
    const idle = yield* Deferred.make<void>()
    const settle = () => {
      underWay--
      if (stopping && underWay === 0) {
        Deferred.unsafeDone(idle, Exit.void)
      }
    }
    yield* Effect.addFinalizer(() =>
      Effect.suspend(() => {
        stopping = true
        return underWay === 0 ? Effect.void : Deferred.await(idle)
      })
    )
    if (serve !== undefined) {
      yield* serve((event) =>
        Effect.withFiberRuntime((fiber) => {
          underWay++
          return Effect.uninterruptible(
            afterExit(handle(fiber, event, Option.none(), fiber.getFiberRef(busInternal.currentReceipts)), settle)
          )
        })
      )
    }
    const service: InvalidationEngine.Service = { run, caches }
    return service
  })

/** @internal */
export const make = (options: InvalidationEngine.Options) =>
  Effect.flatMap(InvalidationBus.InvalidationBus, (bus) => makeOn(options, bus, undefined))

/** @internal */
export const layer = (options: InvalidationEngine.Options) =>
  Layer.scopedContext(Effect.gen(function*() {
    // the bus is made before the engine, so its finalizer runs after the engine's: events left then are reported
    const { bus, serve } = yield* busInternal.makeServed
    const engine = yield* makeOn(options, bus, serve)
    return Context.make(InvalidationEngine.InvalidationEngine, engine).pipe(
      Context.add(InvalidationBus.InvalidationBus, bus)
    )
  }))
