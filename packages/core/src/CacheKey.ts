/**
 * The key of one cache entry, with the scopes that contain it. Stores receive these, so
 * a store can wipe a partition or a namespace without parsing keys.
 *
 * @since 0.1.0
 */

/**
 * The scopes that contain an entry: its namespace (`<prefix>:<namespace>`, every
 * version) and its partition (`<prefix>:<namespace>:<version>` followed by the
 * partition slices). A partition is always a prefix of the keys in it.
 *
 * @example
 * ```ts
 * import type { CacheKey } from "@cachefx/core"
 *
 * const scope: CacheKey.Partition = {
 *   namespace: "cachefx:users",
 *   partition: "cachefx:users:1:#42"
 * }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Partition {
  readonly namespace: string
  readonly partition: string
}

/**
 * A full key: `<prefix>:<namespace>:<version>:<partition slices>:<suffix slices>`.
 * Keys never contain a slice that starts with `#!`: stores may use such slices for
 * their own bookkeeping keys.
 *
 * @example
 * ```ts
 * import type { CacheKey } from "@cachefx/core"
 *
 * const key: CacheKey.CacheKey = {
 *   namespace: "cachefx:users",
 *   partition: "cachefx:users:1:#42",
 *   key: "cachefx:users:1:#42:summary"
 * }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface CacheKey extends Partition {
  readonly key: string
}
