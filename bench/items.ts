/** The cached value of most benchmarks: items of a two-field key, partitioned by shop (./itemData.ts), made with this build. */
import * as core from "@cachefx/core"
import { itemsOf } from "./itemData.js"

export * from "./itemData.js"

export const Items = itemsOf(core)
