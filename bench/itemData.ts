/**
 * The items of most benchmarks, without loading any build of cachefx: a two-field key
 * partitioned by shop, its inputs and values. bench/versions.ts imports this module alone,
 * so that each of its processes loads one build of cachefx only, the one it measures.
 */
import type * as core from "@cachefx/core"

/** The items constructor made with a given build of cachefx's `KeyConstructor` and `KeyField` (bench/versions.ts loads two). */
export const itemsOf = ({ KeyConstructor, KeyField }: Pick<typeof core, "KeyConstructor" | "KeyField">) =>
  KeyConstructor.make({
    namespace: "items",
    fields: [KeyField.arg("shop", { partition: true }), KeyField.arg("id")]
  })

export type Item = { readonly shop: number; readonly id: number }

/** An item of about 150 bytes once stored. */
export const item = (input: Item) => ({ ...input, name: `item ${input.id}`, price: 1999, tags: ["new", "sale"] })

/** `count` distinct inputs (default 1,000): 10 shops of `count / 10` items; hits cycle over them. */
export const inputs = (count = 1_000): ReadonlyArray<Item> =>
  Array.from({ length: count }, (_, n) => ({ shop: n % 10, id: Math.floor(n / 10) }))

/** The string key a peer that is not cachefx builds for `input`, each call, as cachefx builds its own. */
export const peerKey = (input: Item) => `items:${input.shop}:${input.id}`

/** The input of a `peerKey`: what a peer's loader reads from the key it is given. */
export const inputOfPeerKey = (key: string): Item => {
  const [, shop, id] = key.split(":")
  return { shop: Number(shop), id: Number(id) }
}
