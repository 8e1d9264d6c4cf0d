/**
 * Each broker dispatcher against the inline one: end-to-end events per second and the
 * added latency of `Invalidation.publish` (see ./dispatch/measure.ts).
 *
 * Run: npm run bench:dispatch [-- <broker> …] (default: every broker of ./dispatch/brokers.ts)
 */
import { Effect } from "effect"
import { brokers } from "./dispatch/brokers.js"
import { main } from "./harness.js"

const names = process.argv.length > 2 ? process.argv.slice(2) : Object.keys(brokers)

main(
  `cachefx broker dispatchers against inline: ${names.join(", ")}`,
  Effect.forEach(names, (name) => {
    const bench = brokers[name]
    return bench === undefined
      ? Effect.fail(`unknown broker "${name}"; one of: ${Object.keys(brokers).join(", ")}`)
      : Effect.scoped(bench)
  }, { discard: true })
)
