/**
 * What both instances of the two-tier tests share: the cached value, which reads its
 * "database" (a plain Redis key per id) on every computation, and the IPC messages.
 */
import { Cached, InvalidationRule, KeyConstructor, KeyField } from "@cachefx/core"
import { Effect } from "effect"
import type { Redis } from "ioredis"

export const Values = KeyConstructor.make({
  namespace: "tiers",
  fields: [KeyField.arg("group", { partition: true }), KeyField.arg("id")]
})

export type Input = { readonly group: number; readonly id: number }

export interface Request {
  readonly id: number
  readonly input: Input
}

export interface Reply {
  readonly id: number
  readonly value: string | null
  readonly status: Cached.CacheStatus
  readonly l2Reads: number
}

/** The Redis key that holds the current value of an input: the tests' database. */
export const truthKey = (prefix: string, input: Input) => `${prefix}:truth:${input.group}:${input.id}`

/** The cached value: a read of the database, invalidated by writes of its "truth" rows. */
export const readTruth = (client: Redis, prefix: string) =>
  Cached.cached({
    key: Values,
    ttl: "1 hour",
    invalidatesOn: [InvalidationRule.make({ table: "truth", fieldMapping: { group: "group", id: "id" } })]
  })((input: Input) =>
    Effect.promise(() => client.get(truthKey(prefix, input)))
  )
