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

/**
 * A namespace as an invalidation addresses it: `<prefix>:<namespace>`, every version.
 *
 * @example
 * ```ts
 * import type { CacheKey } from "@cachefx/core"
 *
 * const users: CacheKey.Namespace = { namespace: "cachefx:users" }
 * ```
 *
 * @since 0.4.0
 * @category models
 */
export interface Namespace {
  readonly namespace: string
}

/**
 * What one invalidation reaches, tagged so that a store reads it without guessing from
 * the fields present (a `CacheKey` is a `Partition` too): one key, every key of a
 * partition, or every key of a namespace. Made with `key`, `partition` and `namespace`.
 *
 * @example
 * ```ts
 * import { CacheKey } from "@cachefx/core"
 *
 * const describe = (target: CacheKey.Target): string => {
 *   switch (target._tag) {
 *     case "Key":
 *       return `the key ${target.key}`
 *     case "Partition":
 *       return `the partition ${target.partition}`
 *     case "Namespace":
 *       return `the namespace ${target.namespace}`
 *   }
 * }
 * ```
 *
 * @since 0.4.0
 * @category models
 */
export type Target =
  | (CacheKey & { readonly _tag: "Key" })
  | (Partition & { readonly _tag: "Partition" })
  | (Namespace & { readonly _tag: "Namespace" })

/**
 * Targets one key.
 *
 * @example
 * ```ts
 * import { CacheKey } from "@cachefx/core"
 *
 * const target = CacheKey.key({
 *   namespace: "cachefx:users",
 *   partition: "cachefx:users:1:#42",
 *   key: "cachefx:users:1:#42:summary"
 * })
 * ```
 *
 * @since 0.4.0
 * @category constructors
 */
export const key = (key: CacheKey): Target => ({
  _tag: "Key",
  namespace: key.namespace,
  partition: key.partition,
  key: key.key
})

/**
 * Targets every key of a partition (of a key, when given one).
 *
 * @example
 * ```ts
 * import { CacheKey } from "@cachefx/core"
 *
 * const target = CacheKey.partition({ namespace: "cachefx:users", partition: "cachefx:users:1:#42" })
 * ```
 *
 * @since 0.4.0
 * @category constructors
 */
export const partition = (scope: Partition): Target => ({
  _tag: "Partition",
  namespace: scope.namespace,
  partition: scope.partition
})

/**
 * Targets every key of a namespace, every version.
 *
 * @example
 * ```ts
 * import { CacheKey } from "@cachefx/core"
 *
 * const target = CacheKey.namespace("cachefx:users")
 * ```
 *
 * @since 0.4.0
 * @category constructors
 */
export const namespace = (namespace: string): Target => ({ _tag: "Namespace", namespace })

/**
 * The string a target addresses: the key, the partition or the namespace.
 *
 * @example
 * ```ts
 * import { CacheKey } from "@cachefx/core"
 *
 * console.log(CacheKey.scopeOf(CacheKey.namespace("cachefx:users"))) // "cachefx:users"
 * ```
 *
 * @since 0.4.0
 * @category getters
 */
export const scopeOf = (target: Target): string =>
  target._tag === "Key" ? target.key : target._tag === "Partition" ? target.partition : target.namespace
