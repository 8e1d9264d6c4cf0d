/**
 * The worker process: runs the invalidation jobs producers enqueue, until Ctrl-C.
 *
 * Run: npm run example:worker [-- bullmq|redis-stream]
 */
import { Effect, Fiber, Layer } from "effect"
import { layer } from "./app.js"
import { chosen } from "./brokers.js"

const [name, broker] = chosen()

const main = Effect.runFork(
  Layer.launch(
    Layer.effectDiscard(Effect.log(`worker: serving ${name} jobs (Ctrl-C to stop)`)).pipe(
      Layer.provideMerge(broker.worker),
      Layer.provide(layer(name, broker))
    )
  )
)
process.once("SIGINT", () => Effect.runFork(Fiber.interrupt(main)))
