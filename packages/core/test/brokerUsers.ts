/**
 * The cached value the broker dispatcher tests share: a user whose rule sends its jobs to
 * the named dispatcher; `when` lets a test hold a job.
 */
import { Cached, InvalidationRule, KeyConstructor, KeyField } from "@cachefx/core"
import { Effect } from "effect"

export const brokerUsers = (
  dispatcher: string,
  dispatcherConfig: Readonly<Record<string, unknown>>,
  when?: InvalidationRule.Options["when"]
) =>
  Cached.cached({
    key: KeyConstructor.make({ namespace: "users", fields: [KeyField.arg("id")] }),
    ttl: "1 hour",
    invalidatesOn: [
      InvalidationRule.make({ table: "users", fieldMapping: { id: "id" }, dispatcher, dispatcherConfig, when })
    ]
  })((input: { readonly id: number }) => Effect.succeed(`user ${input.id}`))
