/**
 * `Invalidation.publish` is how code that writes tells the caches: it puts an event on
 * the `InvalidationBus` and returns once every `inline` job of the event is done (so a
 * read after it sees the write) and every other job is handed to its dispatcher. It
 * never fails: a job that fails is retried, then logged and counted.
 *
 * `Invalidation.publishTracked` also gives a `Receipt`: whether every job of the event
 * was applied, known once the last one ran (a `pool` or `background` job after publish
 * returns). The Drizzle outbox deletes a row on it.
 *
 * @since 0.1.0
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as bus from "./internal/invalidationBus.js"
import { InvalidationBus } from "./InvalidationBus.js"
import type * as InvalidationEvent from "./InvalidationEvent.js"

/**
 * Publishes an event and waits until the engine has handled it.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Invalidation, InvalidationEvent } from "@cachefx/core"
 *
 * const renameUser = (id: number, name: string) =>
 *   Effect.gen(function*() {
 *     // … the UPDATE, committed …
 *     yield* Invalidation.publish(
 *       InvalidationEvent.make({ table: "users", operation: "update", rows: [{ id, name }], changed: ["name"] })
 *     )
 *   })
 * ```
 *
 * @since 0.1.0
 * @category publishing
 */
export const publish = (event: InvalidationEvent.InvalidationEvent): Effect.Effect<void, never, InvalidationBus> =>
  Effect.flatMap(InvalidationBus, (bus) => bus.publish(event))

/**
 * What became of the jobs of a published event: `applied` waits until each job was
 * applied or ran out of retries and gives true when every one was applied; `poll` gives
 * the same without waiting, none while a job is still queued or running. A job handed to
 * a durable dispatcher (a broker's: `Dispatcher.durable`) counts as applied once the
 * broker holds it. An event that no rule matches is applied at once; one released because
 * no engine serves the bus is not.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import type { Invalidation } from "@cachefx/core"
 *
 * const report = (receipt: Invalidation.Receipt) =>
 *   Effect.flatMap(receipt.applied, (applied) => Effect.log(applied ? "applied" : "left for a retry"))
 * ```
 *
 * @since 0.2.0
 * @category models
 */
export interface Receipt {
  readonly applied: Effect.Effect<boolean>
  readonly poll: Effect.Effect<Option.Option<boolean>>
}

const every = (outcomes: ReadonlyArray<boolean>) => outcomes.every((applied) => applied)

const receiptOf = (receipts: bus.Receipts): Receipt => {
  const applied = Effect.map(Effect.forEach(receipts, Deferred.await), every)
  return {
    applied,
    poll: Effect.flatMap(
      Effect.forEach(receipts, Deferred.isDone),
      (done) => every(done) ? Effect.map(applied, Option.some) : Effect.succeedNone
    )
  }
}

/**
 * Publishes an event as `publish` does, and gives its `Receipt`: what the transactional
 * outbox waits for before it deletes the event's row.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Invalidation, InvalidationEvent } from "@cachefx/core"
 *
 * const event = InvalidationEvent.make({ table: "users", operation: "delete", rows: [{ id: 1 }] })
 * const program = Invalidation.publishTracked(event).pipe(
 *   Effect.flatMap((receipt) => receipt.applied),
 *   Effect.tap((applied) => Effect.log(applied ? "every job applied" : "a job ran out of retries"))
 * )
 * ```
 *
 * @since 0.2.0
 * @category publishing
 */
export const publishTracked = (
  event: InvalidationEvent.InvalidationEvent
): Effect.Effect<Receipt, never, InvalidationBus> =>
  Effect.suspend(() => {
    const receipts: bus.Receipts = []
    return Effect.as(Effect.locally(publish(event), bus.currentReceipts, receipts), receiptOf(receipts))
  })
