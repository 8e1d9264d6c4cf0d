import { KeyError } from "../CacheError.js"
import type * as CacheKey from "../CacheKey.js"
import type * as KeyConstructor from "../KeyConstructor.js"
import { hashText } from "./keyEncoding.js"

/**
 * A hashed run of slices: `#^` and 22 base64url characters of its SHA-256. `#^` starts
 * no slice a value can produce, so a hashed key never equals a key that is not.
 */
const hashed = (slices: string) => "#^" + hashText(slices)

/** `:` and a hashed run. */
const hashedLength = 25

/**
 * Bounds a partition: when a key of it could not fit `max` even with a hashed suffix,
 * its slices are hashed. Decided by the partition alone, so a key and a partition wipe
 * of one input always agree.
 *
 * @internal
 */
export const boundPartition = (
  self: KeyConstructor.KeyConstructor.Any,
  scope: CacheKey.Partition,
  max: number
): CacheKey.Partition => {
  const head = scope.namespace + ":" + self.version
  return scope.partition.length + hashedLength <= max || scope.partition.length === head.length
    ? scope
    : { namespace: scope.namespace, partition: head + ":" + hashed(scope.partition.slice(head.length + 1)) }
}

/**
 * Bounds a key to `max` characters: the slices after the partition are hashed, then (if
 * still too long) the partition slices. Never truncates: a key that does not fit even
 * then is a `KeyError`.
 *
 * @internal
 */
export const boundKey = (self: KeyConstructor.KeyConstructor.Any, key: CacheKey.CacheKey, max: number): CacheKey.CacheKey => {
  const scope = boundPartition(self, key, max)
  if (scope === key && key.key.length <= max) {
    return key
  }
  const { namespace, partition } = scope
  const rest = key.key.slice(key.partition.length)
  const bounded = partition + (partition.length + rest.length <= max || rest === "" ? rest : ":" + hashed(rest.slice(1)))
  if (bounded.length > max) {
    throw new KeyError({
      namespace: self.namespace,
      field: "*",
      reason: `gives a key of ${bounded.length} characters even hashed, over the maxKeyLength setting (${max}): shorten the key prefix or the namespace, or raise maxKeyLength`
    })
  }
  return { namespace, partition, key: bounded }
}
