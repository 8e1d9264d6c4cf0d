/**
 * Each broker dispatcher against the inline one: the added latency of
 * `Invalidation.publish` and end-to-end events per second (see ./dispatch/measure.ts).
 *
 * Run: npm run bench:dispatch [-- <broker> …] (default: every broker of ./dispatch/brokers.ts)
 */
import { Effect } from "effect"
import { brokers } from "./dispatch/brokers.js"

const names = process.argv.length > 2 ? process.argv.slice(2) : Object.keys(brokers)

const program = Effect.forEach(names, (name) => {
  const bench = brokers[name]
  return bench === undefined
    ? Effect.fail(`unknown broker "${name}"; one of: ${Object.keys(brokers).join(", ")}`)
    : Effect.scoped(bench)
}, { discard: true })

Effect.runPromise(program).catch((error) => {
  console.error(error)
  process.exitCode = 1
})
