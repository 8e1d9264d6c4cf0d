/**
 * The broker-neutral part of a broker worker: run a received job with the engine, decide
 * what becomes of it (done, retried, dead-lettered), have the broker record that, and
 * keep taking jobs until the scope closes. A broker package supplies only how its client
 * receives, acknowledges, retries and dead-letters.
 */
import * as Arr from "effect/Array"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as FiberSet from "effect/FiberSet"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import type * as BrokerJob from "../BrokerJob.js"
import * as InvalidationEngine from "../InvalidationEngine.js"

/** @internal */
export const Outcome = Data.taggedEnum<BrokerJob.Outcome>()

/** How a job received from a broker is run: `BrokerJob.run`, passed in by `BrokerJob`. */
type Run = (job: unknown) => Effect.Effect<void, BrokerJob.JobFailure, InvalidationEngine.InvalidationEngine>

/** The delay before the retry that follows delivery `delivery`: `backoff`, doubled at each retry. */
const delayOf = (backoff: Duration.Duration, delivery: number) => Duration.times(backoff, 2 ** (delivery - 1))

/** @internal */
export const runner = (run: Run) => <M>(options: BrokerJob.RunnerOptions<M>) =>
  Effect.map(InvalidationEngine.InvalidationEngine, (engine) => {
    const backoff = Option.map(Option.fromNullable(options.backoff), Duration.decode)

    /** Dead-lettered when no retry can mend it or this was its last attempt; retried otherwise. */
    const decide = (message: M, failure: BrokerJob.JobFailure): Effect.Effect<BrokerJob.Outcome> => {
      const delivery = options.delivery(message)
      const attempts = options.attempts(message)
      const annotate = Effect.annotateLogs({ ...options.annotations?.(message), delivery, attempts })
      if (!failure.retry || delivery >= attempts) {
        return Effect.as(
          Effect.logWarning(`cachefx: invalidation job dead-lettered: ${failure.reason}`),
          Outcome.Dead({ reason: failure.reason, deliveries: delivery })
        ).pipe(annotate)
      }
      const delay = Option.map(backoff, (backoff) => delayOf(backoff, delivery))
      const after = Option.match(delay, { onNone: () => "", onSome: (delay) => ` in ${Duration.format(delay)}` })
      return Effect.as(
        Effect.logWarning(`cachefx: invalidation job failed, ${options.broker} runs it again${after}: ${failure.reason}`),
        Outcome.Retry({ reason: failure.reason, delivery, delay })
      ).pipe(annotate)
    }

    const outcome = (message: M): Effect.Effect<BrokerJob.Outcome> =>
      run(options.job(message)).pipe(
        Effect.provideService(InvalidationEngine.InvalidationEngine, engine),
        Effect.matchEffect({ onFailure: (failure) => decide(message, failure), onSuccess: () => Effect.succeed(Outcome.Done()) })
      )

    const { whileRunning } = options
    return whileRunning === undefined ? outcome : (message: M): Effect.Effect<BrokerJob.Outcome> =>
      Effect.flatMap(
        Effect.fork(Effect.interruptible(whileRunning(message))),
        (beside) => Effect.ensuring(outcome(message), Fiber.interrupt(beside))
      )
  })

/** @internal */
export const worker = (run: Run) => <M>(options: BrokerJob.WorkerOptions<M>) =>
  Effect.map(runner(run)(options), (outcomeOf): BrokerJob.Worker<M> => {
    /** A broker that cannot record an outcome delivers the job again: that is what the log says. */
    const unrecorded = (messages: ReadonlyArray<M>) => (error: BrokerJob.BrokerError) =>
      Effect.logWarning(`cachefx: could not record the outcome of an invalidation job; ${options.broker} delivers it again`, error)
        .pipe(Effect.annotateLogs({ ...(messages.length === 1 ? options.annotations?.(messages[0]!) : {}), jobs: messages.length }))

    const ack = (messages: ReadonlyArray<M>) =>
      messages.length === 0 ? Effect.void : Effect.catchAll(options.ack(messages), unrecorded(messages))

    /** Records a failure: a retry or a dead letter. */
    const fail = (message: M, outcome: BrokerJob.Outcome.Retry | BrokerJob.Outcome.Dead) =>
      (outcome._tag === "Retry" ? options.retry(message, outcome) : options.deadLetter(message, outcome)).pipe(
        Effect.catchAll(unrecorded([message]))
      )

    const handle = (message: M) =>
      Effect.flatMap(outcomeOf(message), (outcome) => outcome._tag === "Done" ? ack([message]) : fail(message, outcome))

    const handleBatch = (messages: ReadonlyArray<M>) =>
      Effect.forEach(messages, outcomeOf, { concurrency: "unbounded" }).pipe(
        Effect.flatMap((outcomes) => {
          const [failed, done] = Arr.partitionMap(Arr.zip(messages, outcomes), ([message, outcome]) =>
            outcome._tag === "Done" ? Either.right(message) : Either.left([message, outcome] as const))
          return Effect.zipRight(
            ack(done),
            Effect.forEach(failed, ([message, outcome]) => fail(message, outcome), { discard: true })
          )
        })
      )

    const poll = (poll: BrokerJob.PollOptions<M>): Effect.Effect<void, never, Scope.Scope> => {
      const runBatch = poll.acknowledge === "batch"
        ? handleBatch
        : (batch: ReadonlyArray<M>) => Effect.forEach(batch, handle, { concurrency: "unbounded", discard: true })
      const idle = poll.idle === undefined ? Effect.void : Effect.sleep(poll.idle)
      // a batch once taken is run and recorded, even when the worker is closing
      const cycle = Effect.uninterruptibleMask((restore) =>
        (poll.interruptReceive === true ? restore(poll.receive) : poll.receive).pipe(
          Effect.flatMap((batch) => batch.length === 0 ? restore(idle) : runBatch(batch)),
          Effect.catchAll((error) =>
            Effect.logWarning(
              `cachefx: the ${options.broker} worker could not take jobs; trying again in ${Duration.format(poll.retryAfter)}`,
              error
            ).pipe(Effect.zipRight(restore(Effect.sleep(poll.retryAfter))))
          )
        )
      )
      return Effect.asVoid(Effect.forkScoped(Effect.forever(cycle)))
    }

    const consumer = Effect.gen(function*() {
      const running = yield* FiberSet.make<void>()
      const runFork = yield* FiberSet.runtime(running)<never>()
      // the scope waits for the jobs in hand (added after FiberSet.make, so run before it interrupts them)
      yield* Effect.addFinalizer(() => FiberSet.awaitEmpty(running))
      return (message: M) => {
        runFork(handle(message))
      }
    })

    return { outcome: outcomeOf, handle, handleBatch, poll, consumer }
  })
