import type { CacheKey } from "@cachefx/core"

/**
 * The physical Redis keys of a cache key.
 *
 * - entry: `{<partition>}<rest of key>`, so every entry of a partition and the
 *   partition's stamp share one hash slot (one Cluster node, one script);
 * - partition stamp: `{<partition>}:#!p`;
 * - namespace stamp: `<namespace>:#!n` (no hash tag: it lives in a slot of its own);
 * - lease (distributed single-flight): `<entry>:#!l`, in the entry's slot.
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

const leaseSlice = ":#!l"

/**
 * The lease key of an entry, from its physical key (`Physical.entry`): a read that has
 * the physical keys at hand builds no tag again.
 *
 * @internal
 */
export const leaseOf = (entry: string): string => entry + leaseSlice

/** @internal */
export const lease = (key: CacheKey.CacheKey): string => leaseOf(physical(key).entry)

const glob = /[*?[\]\\]/g

/**
 * The `SCAN` `MATCH` pattern of the entries (and partition stamps) of a namespace: the
 * hash tag's opening, as `tag` escapes it, glob characters escaped.
 *
 * @internal
 */
export const namespacePattern = (namespace: string): string =>
  tag(namespace + ":").slice(0, -1).replace(glob, "\\$&") + "*"

/**
 * The version segment of a physical key of a namespace, or `undefined` for any other key.
 *
 * @internal
 */
export const versionOf = (physical: string, namespace: string): string | undefined => {
  const close = physical.indexOf("}")
  if (!physical.startsWith("{") || close === -1) {
    return undefined
  }
  const partition = physical.slice(1, close).replace(/%7D/g, "}").replace(/%25/g, "%")
  if (!partition.startsWith(namespace + ":")) {
    return undefined
  }
  const version = partition.slice(namespace.length + 1)
  const end = version.indexOf(":")
  return end === -1 ? version : version.slice(0, end)
}
