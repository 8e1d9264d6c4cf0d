/**
 * The producer process: caches three users, writes one (publishes its event, which the
 * dispatcher hands to the broker), then watches the worker invalidate it.
 *
 * Run: npm run example:worker:producer [-- bullmq|redis-stream] (with the worker running)
 */
import { Invalidation, InvalidationEvent } from "@cachefx/core"
import { Effect, Option, Schedule } from "effect"
import { getUser, layer } from "./app.js"
import { chosen } from "./brokers.js"

const [name, broker] = chosen()
const users = getUser(name)

const program = Effect.gen(function*() {
  for (const id of [1, 2, 3]) {
    yield* users({ id })
  }
  console.log("cached:", (yield* Effect.forEach([1, 2, 3], (id) => users.peek({ id }))).map(Option.isSome))

  const start = Date.now()
  yield* Invalidation.publish(InvalidationEvent.make({ table: "users", operation: "update", rows: [{ id: 2, name: "Ada" }], changed: ["name"] }))
  console.log(`published the update of user 2 to ${name} in ${Date.now() - start} ms`)

  const gone = yield* users.peek({ id: 2 }).pipe(
    Effect.repeat({ until: Option.isNone, schedule: Schedule.spaced("20 millis") }),
    Effect.timeout("10 seconds"),
    Effect.option
  )
  console.log(
    Option.isSome(gone)
      ? `a worker invalidated user 2 after ${Date.now() - start} ms`
      : "user 2 is still cached: is a worker running? (npm run example:worker)"
  )
  console.log("cached:", (yield* Effect.forEach([1, 2, 3], (id) => users.peek({ id }))).map(Option.isSome))
})

Effect.runPromise(Effect.provide(program, layer(name, broker)))
