import * as Cause from "effect/Cause"
import type * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberSet from "effect/FiberSet"
import * as Layer from "effect/Layer"
import type * as Metric from "effect/Metric"
import * as MetricLabel from "effect/MetricLabel"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Schedule from "effect/Schedule"
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
import * as registry from "./constructorRegistry.js"
import * as busInternal from "./invalidationBus.js"
import * as rules from "./invalidationRule.js"

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

const increment = (metric: Metric.Metric.Counter<number>, cache: string, rule: string) =>
  Effect.sync(() => metric.unsafeUpdate(1, labels(["cache", cache], ["rule", rule])))

/**
 * `Effect.retry`, whose schedule driver is made only once the first attempt failed: a job
 * that succeeds (nearly every one) allocates no driver.
 */
const retrying = (schedule: Schedule.Schedule<unknown, unknown>) =>
<A, E, R>(attempt: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.catchAll(attempt, (first) =>
    Effect.flatMap(Schedule.driver(schedule), (driver) => {
      const again = (error: E): Effect.Effect<A, E, R> =>
        Effect.matchEffect(driver.next(error), {
          onFailure: () => Effect.fail(error),
          onSuccess: () => Effect.catchAll(attempt, again)
        })
      return again(first)
    }))

/** A wider wipe stands in when a narrower one cannot build its key; store failures are real failures. */
const orWider = (
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
 * Applies one target of a rule, through the cached value's own management surface
 * (softly for a rule with `soft`, except the delete before a rewarm).
 */
const apply = (plan: rules.Plan, target: rules.Target): Effect.Effect<void, CacheError, CacheStore> => {
  const { subject, rule } = plan
  const options = rule.options.soft === true ? softly : undefined
  const count = (metric: Metric.Metric.Counter<number>) => increment(metric, subject.name, rule.name)
  const instead = (wipe: string) =>
    rule.options.rewarm === true
      ? Effect.logInfo(`cachefx: cannot rewarm (the row does not give every key input); ${wipe} instead`).pipe(
        Effect.annotateLogs({ cache: subject.name, rule: rule.name })
      )
      : Effect.void
  const namespace = instead("wiping the namespace").pipe(
    Effect.zipRight(registry.invalidateAll(subject.key, options)),
    Effect.zipRight(count(CacheMetrics.namespacesWiped))
  )
  const partition = (input: rules.Input) =>
    subject.key.partitionSize === 0 ? namespace : orWider(
      instead("wiping the partition").pipe(
        Effect.zipRight(subject.deletePartition(input, options)),
        Effect.zipRight(count(CacheMetrics.partitionsWiped))
      ),
      namespace
    )
  const rewarm = (input: rules.Input) =>
    subject.refresh(input).pipe(
      Effect.zipRight(count(CacheMetrics.rewarms)),
      Effect.catchAllCause((cause) =>
        Effect.logWarning("cachefx: rewarm failed; the key stays deleted", cause).pipe(
          Effect.annotateLogs({ cache: subject.name, rule: rule.name })
        )
      )
    )
  switch (target._tag) {
    case "Namespace":
      return namespace
    case "Partition":
      return partition(target.input)
    case "Key":
      return orWider(
        subject.delete(target.input, target.rewarm ? undefined : options).pipe(
          Effect.zipRight(count(CacheMetrics.keysDeleted)),
          // deleting first voids every fill that began before the write; the recomputation then stores
          Effect.zipRight(target.rewarm ? rewarm(target.input) : Effect.void)
        ),
        partition(target.input)
      )
  }
}

/** A cached value as a custom invalidator sees it: each operation is a target, applied as a rule's own. */
const handle = (plan: rules.Plan, context: Context.Context<CacheStore>): Handle => {
  const run = (target: rules.Target) => Effect.provide(apply(plan, target), context)
  return {
    name: plan.subject.name,
    delete: (input) => run({ _tag: "Key", input, rewarm: false }),
    deletePartition: (input) => run({ _tag: "Partition", input }),
    invalidateAll: run({ _tag: "Namespace" }),
    refresh: (input) => run({ _tag: "Key", input, rewarm: true })
  }
}

/** What a job does under its rule: a custom invalidator per changed row, or the rule's targets. */
const work = (plan: rules.Plan, event: InvalidationEvent.InvalidationEvent, context: Context.Context<CacheStore>) =>
  Option.match(plan.rule.run, {
    onNone: () =>
      Effect.flatMap(
        rules.targets(plan, event),
        (targets) => Effect.forEach(targets, (target) => apply(plan, target), { discard: true })
      ),
    onSome: (invalidator) => {
      const cached = handle(plan, context)
      return Effect.forEach(rules.changes(event), (change) => invalidator(change, cached), { discard: true })
    }
  })

/**
 * Checks every rule of every cached value and resolves its dispatcher; gives the rules
 * by cached value and rule name (for jobs) and by table (for events).
 */
const index = (caches: ReadonlyArray<Cached.Cached.Any>) =>
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
    const plans = new Map<string, Map<string, rules.Plan>>()
    const byTable = new Map<string, Array<readonly [rules.Plan, Dispatcher.Dispatcher]>>()
    for (const cached of named.values()) {
      const own = new Map<string, rules.Plan>()
      for (const rule of cached.rules) {
        const fail = (reason: string) => new InvalidationRuleError({ cache: cached.name, rule: rule.name, reason })
        if (own.has(rule.name)) {
          return yield* fail("two rules of this cached value have this name; give one a name of its own (option name)")
        }
        const plan = yield* rules.plan(cached, rule)
        const name = rule.options.dispatcher ?? "inline"
        const provided = yield* Effect.serviceOption(Dispatcher.tag(name))
        if (Option.isNone(provided) && name !== "inline") {
          return yield* fail(`no layer provides the dispatcher "${name}" (provide Dispatcher.layerPool, Dispatcher.layerBackground or a broker's layer to the engine layer)`)
        }
        own.set(rule.name, plan)
        byTable.set(rule.table, [
          ...byTable.get(rule.table) ?? [],
          [plan, Option.getOrElse(provided, () => Dispatcher.inline)]
        ])
      }
      if (own.size > 0) {
        plans.set(cached.name, own)
      }
    }
    return { plans, byTable }
  })

/** @internal */
export const make = (options: InvalidationEngine.Options) =>
  Effect.gen(function*() {
    const context = yield* Effect.context<CacheStore>()
    const bus = yield* InvalidationBus.InvalidationBus
    const { byTable, plans } = yield* index(options.caches)

    const run = (job: Dispatcher.Job): Effect.Effect<void, InvalidationRuleError | CacheError> => {
      const plan = plans.get(job.cache)?.get(job.rule)
      if (plan === undefined) {
        return Effect.fail(new InvalidationRuleError({
          cache: job.cache,
          rule: job.rule,
          reason: "this engine has no such rule (does this process run the code that made the job?)"
        }))
      }
      return work(plan, job.event, context).pipe(
        Effect.zipRight(increment(CacheMetrics.invalidationJobs, job.cache, job.rule)),
        Effect.withSpan("cachefx.invalidation.job", {
          captureStackTrace: false,
          attributes: { "cachefx.cache": job.cache, "cachefx.rule": job.rule, "cachefx.table": job.event.table }
        }),
        Effect.provide(context)
      )
    }

    const retry = options.retry ?? defaultRetry
    const runRetried = (job: Dispatcher.Job): Effect.Effect<void> =>
      run(job).pipe(
        retrying(retry),
        Effect.catchAllCause((cause) =>
          Effect.zipRight(
            increment(CacheMetrics.invalidationFailures, job.cache, job.rule),
            Effect.logError("cachefx: invalidation job failed after its retries", cause).pipe(
              Effect.annotateLogs({ cache: job.cache, rule: job.rule, table: job.event.table })
            )
          )
        )
      )

    const handle = (event: InvalidationEvent.InvalidationEvent, parent: Option.Option<Tracer.AnySpan>) =>
      Effect.suspend(() => {
        CacheMetrics.invalidationEvents.unsafeUpdate(1, labels(["table", event.table]))
        const dispatches = (byTable.get(event.table) ?? []).filter(([plan]) => plan.on.has(event.operation)).map(
          ([plan, dispatcher]) => {
            const job: Dispatcher.Job = { cache: plan.subject.name, rule: plan.rule.name, event }
            return dispatcher.dispatch({ job, config: plan.rule.options.dispatcherConfig ?? {}, run: runRetried(job) })
          }
        )
        // one rule's job runs in this fiber; several run side by side
        return dispatches.length === 1 ? dispatches[0]! : Effect.all(dispatches, { concurrency: "unbounded", discard: true })
      }).pipe(
        Effect.withSpan("cachefx.invalidation.event", {
          captureStackTrace: false,
          attributes: { "cachefx.table": event.table, "cachefx.operation": event.operation },
          ...Option.match(parent, { onNone: () => ({}), onSome: (span) => ({ parent: span }) })
        })
      )

    // Events published before the engine serves the bus (or on a bus `make` did not give) come through its queue.
    const deliver = (delivery: InvalidationBus.Delivery) =>
      handle(delivery.event, delivery.parent).pipe(Effect.ensuring(Deferred.succeed(delivery.handled, void 0)))

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
    const settle = Effect.sync(() => {
      underWay--
      if (stopping && underWay === 0) {
        Deferred.unsafeDone(idle, Exit.void)
      }
    })
    yield* Effect.addFinalizer(() =>
      Effect.suspend(() => {
        stopping = true
        return underWay === 0 ? Effect.void : Deferred.await(idle)
      })
    )
    yield* busInternal.serve(bus, (event) =>
      Effect.uninterruptible(Effect.suspend(() => {
        underWay++
        return Effect.ensuring(handle(event, Option.none()), settle)
      })))
    const service: InvalidationEngine.Service = { run }
    return service
  })

/** @internal */
export const layer = (options: InvalidationEngine.Options) =>
  Layer.scoped(InvalidationEngine.InvalidationEngine, make(options)).pipe(
    Layer.provideMerge(InvalidationBus.layer)
  )
