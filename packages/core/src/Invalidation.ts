/**
 * `Invalidation.publish` is how code that writes tells the caches: it puts an event on
 * the `InvalidationBus` and returns once every `inline` job of the event is done (so a
 * read after it sees the write) and every other job is handed to its dispatcher. It
 * never fails: a job that fails is retried, then logged and counted.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
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
