/** The cached value of the Redis benchmarks: shop items, partitioned by shop. */
import { KeyConstructor, KeyField } from "@cachefx/core"

export const Items = KeyConstructor.make({
  namespace: "items",
  fields: [KeyField.arg("shop", { partition: true }), KeyField.arg("id")]
})

export type Item = { readonly shop: number; readonly id: number }

/** An item of about 150 bytes once stored. */
export const item = (input: Item) => ({ ...input, name: `item ${input.id}`, price: 1999, tags: ["new", "sale"] })
