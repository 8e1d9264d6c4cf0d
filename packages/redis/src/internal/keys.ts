import type { CacheKey } from "@cachefx/core"

/**
 * The physical Redis keys of a cache key.
 *
 * - entry: `{<partition>}<rest of key>`, so every entry of a partition and the
 *   partition's stamp share one hash slot (one Cluster node, one script);
 * - partition stamp: `{<partition>}:#!p`;
 * - namespace stamp: `<namespace>:#!n` (no hash tag: it lives in a slot of its own).
 *
 * Core never produces a slice that starts with `#!`, so the stamps never meet an
 * entry. In the hash tag, `%` and `}` of the partition are escaped: the first `}` then
 * always closes the tag, and two different keys never share a physical key.
 *
 * @internal
 */
export interface Physical {
  readonly entry: string
  readonly partitionStamp: string
  readonly namespaceStamp: string
}

const braced = /[%}]/

const tag = (partition: string): string =>
  "{" + (braced.test(partition) ? partition.replace(/%/g, "%25").replace(/\}/g, "%7D") : partition) + "}"

const stampSlice = ":#!p"

/** @internal */
export const partitionStamp = (partition: string): string => tag(partition) + stampSlice

/** @internal */
export const namespaceStamp = (namespace: string): string => namespace + ":#!n"

/** @internal */
export const physical = (key: CacheKey.CacheKey): Physical => {
  const scope = tag(key.partition)
  return {
    entry: scope + key.key.slice(key.partition.length),
    partitionStamp: scope + stampSlice,
    namespaceStamp: namespaceStamp(key.namespace)
  }
}
