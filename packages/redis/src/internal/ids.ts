import { randomBytes } from "node:crypto"

// fixed width, so no origin followed by a counter reads as another origin and counter
const origin = randomBytes(8).readBigUInt64BE().toString(36).padStart(13, "0")
let counter = 0

/**
 * A fresh identifier for stamps, entries and tombstones: this process's random origin
 * and a counter, in base 36 (so Lua's `%w` matches it). Unique across processes with
 * overwhelming probability, and far cheaper than a random draw per call.
 *
 * @internal
 */
export const fresh = (): string => origin + (counter++).toString(36)
