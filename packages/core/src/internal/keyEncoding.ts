/**
 * Canonical, injective encoding of key values into key slices.
 *
 * A slice is one of:
 * - a string value, escaped (`%` → `%25`, `:` → `%3A`, `#` → `%23`), so it never
 *   contains the separator and never starts with `#`;
 * - `#` + the escaped canonical form of any other value (`#42`, `#true`, `#[1,"a"]`);
 * - `#~` + 22 base64url characters: the first 128 bits of the SHA-256 of the canonical
 *   form, used when hashing is asked for or the slice would be longer than
 *   `maxSliceLength`. A canonical form never starts with `~`.
 * Slices starting with `#!` are never produced: stores may use them for their own keys.
 *
 * @internal
 */
import { createHash } from "node:crypto"

/** @internal */
export const maxSliceLength = 128

/** @internal */
export class UnencodableValue {
  constructor(readonly reason: string) {}
}

const escapable = /[%:#]/

/** A surrogate code unit that is not half of a pair (with `u`, a pair is one code point). */
const loneSurrogate = /\p{Surrogate}/u

/** @internal */
export const escape = (text: string): string =>
  escapable.test(text) ? text.replace(/%/g, "%25").replace(/:/g, "%3A").replace(/#/g, "%23") : text

/** @internal */
export const hashText = (text: string): string =>
  createHash("sha256").update(text).digest("base64url").slice(0, 22)

/**
 * Encodes one key value into a slice. Throws `UnencodableValue` for values without a
 * canonical form.
 *
 * @internal
 */
export const encodeSlice = (value: unknown, hash: boolean): string => {
  // A string with a lone surrogate is not text: as a Redis key (UTF-8) every lone
  // surrogate becomes U+FFFD, so it takes its escaped canonical form (`#"\ud800"`).
  if (!hash && typeof value === "string" && !loneSurrogate.test(value)) {
    const slice = escape(value)
    return slice.length > maxSliceLength ? "#~" + hashText(canonical(value)) : slice
  }
  const form = canonical(value)
  if (hash) {
    return "#~" + hashText(form)
  }
  const slice = "#" + escape(form)
  return slice.length > maxSliceLength ? "#~" + hashText(form) : slice
}

/**
 * The canonical text of a value: equal values (structurally, with object keys in any
 * order, `-0` equal to `0` and `undefined` properties absent) give equal texts, and
 * different values give different texts.
 *
 * @internal
 */
export const canonical = (value: unknown): string => write(value, new Set())

const write = (value: unknown, path: Set<object>): string => {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value)
    case "number":
      return String(value) // -0 prints as 0; NaN, Infinity and -Infinity are bare tokens
    case "bigint":
      return `${value}n`
    case "boolean":
      return value ? "true" : "false"
    case "undefined":
      return "undefined"
    case "function":
      throw new UnencodableValue("is a function, which has no canonical form")
    case "symbol":
      throw new UnencodableValue("is a symbol, which has no canonical form")
  }
  if (value === null) {
    return "null"
  }
  const object = value as object
  if (path.has(object)) {
    throw new UnencodableValue("contains a cycle")
  }
  path.add(object)
  try {
    return writeObject(object, path)
  } finally {
    path.delete(object)
  }
}

const writeObject = (object: object, path: Set<object>): string => {
  if (Array.isArray(object)) {
    return "[" + object.map((item) => write(item, path)).join(",") + "]"
  }
  if (object instanceof Date) {
    return `D${object.getTime()}`
  }
  if (object instanceof Uint8Array) {
    return `B${Buffer.from(object.buffer, object.byteOffset, object.byteLength).toString("base64")}`
  }
  if (object instanceof Map) {
    const entries = Array.from(object, ([k, v]) => [write(k, path), write(v, path)] as const)
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return "M{" + entries.map(([k, v]) => `${k}:${v}`).join(",") + "}"
  }
  if (object instanceof Set) {
    const items = Array.from(object, (item) => write(item, path)).sort()
    return "S[" + items.join(",") + "]"
  }
  const toJSON = (object as { readonly toJSON?: unknown }).toJSON
  if (typeof toJSON === "function") {
    return write(toJSON.call(object), path)
  }
  const keys = Object.keys(object).sort()
  const parts: Array<string> = []
  for (const key of keys) {
    const item = (object as Record<string, unknown>)[key]
    if (item !== undefined) {
      parts.push(JSON.stringify(key) + ":" + write(item, path))
    }
  }
  return "{" + parts.join(",") + "}"
}
