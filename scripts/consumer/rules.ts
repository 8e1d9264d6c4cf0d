// A module of the consumer's own, in TypeScript, for `npx cachefx rules`.
import { Cached, InvalidationRule, KeyConstructor, KeyField } from "@cachefx/core"
import { Effect } from "effect"

export const getUser = Cached.cached({
  key: KeyConstructor.make({ namespace: "users", fields: [KeyField.arg("id")] }),
  invalidatesOn: [InvalidationRule.make({ table: "users", fieldMapping: { id: "id" } })]
})((input: { readonly id: number }) => Effect.succeed(input.id))
