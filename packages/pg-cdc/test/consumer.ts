/**
 * A consumer process for the durability tests: reads the slot and appends the id of every
 * row it applies to a file (appends survive the process being killed), and prints
 * "holding" once it holds the slot.
 *
 * Usage: consumer.ts <schema> <slot> <publication> <file>
 */
import { Cached, CacheStore, InvalidationEngine, InvalidationRule, KeyConstructor, KeyField } from "@cachefx/core"
import { ChangeStream } from "@cachefx/pg-cdc"
import { Effect, Layer, Option, Schedule } from "effect"
import { appendFileSync } from "node:fs"
import { connection } from "./support.js"

const [schema, slot, publication, file] = process.argv.slice(2) as [string, string, string, string]

const applied = Cached.cached({
  key: KeyConstructor.make({ namespace: `${schema}-applied`, fields: [KeyField.arg("id")] }),
  invalidatesOn: [
    InvalidationRule.custom({
      table: "items",
      name: "applied(items)",
      run: (change) =>
        Effect.sync(() => {
          const row = Option.getOrUndefined(change.row)
          appendFileSync(file, `${String(row?.id)}\n`)
        })
    })
  ]
})((input: { readonly id: number }) => Effect.succeed(input.id))

const caches = [applied]

const program = Effect.gen(function*() {
  const stream = yield* ChangeStream.ChangeStream
  yield* Effect.repeat(stream.holding, { until: (held) => held, schedule: Schedule.spaced("20 millis") })
  process.stdout.write("holding\n")
  yield* Effect.never
})

const Live = ChangeStream.layer({ connection, caches, slot, publication, schema, retryInterval: "500 millis" }).pipe(
  Layer.provideMerge(InvalidationEngine.layer({ caches })),
  Layer.provideMerge(CacheStore.layerMemory())
)

Effect.runFork(Effect.provide(program, Live))
