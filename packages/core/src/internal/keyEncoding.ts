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
import { types } from "node:util"

/** @internal */
export const maxSliceLength = 128

/**
 * How deep a key value may nest: the canonical form is written recursively, and no key
 * needs more.
 *
 * @internal
 */
export const maxDepth = 64

/** @internal */
export class UnencodableValue {
  constructor(readonly reason: string) {}
}

const escapable = /[%:#]/

/** A surrogate code unit that is not half of a pair (with `u`, a pair is one code point). */
const loneSurrogate = /\p{Surrogate}/u

const percent = 37
const colon = 58
const numberSign = 35

/**
 * `%` → `%25`, `:` → `%3A`, `#` → `%23`, in one pass over the text once a character is
 * found to need it (a `Host` with a port has one on every request).
 *
 * @internal
 */
export const escape = (text: string): string => {
  if (!escapable.test(text)) {
    return text
  }
  let escaped = ""
  let from = 0
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (code === percent || code === colon || code === numberSign) {
      escaped += text.slice(from, i) + (code === percent ? "%25" : code === colon ? "%3A" : "%23")
      from = i + 1
    }
  }
  return escaped + text.slice(from)
}

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
  if (path.size === maxDepth) {
    throw new UnencodableValue(`nests deeper than ${maxDepth} levels, which a key does not need`)
  }
  path.add(object)
  try {
    return writeObject(object, path)
  } finally {
    path.delete(object)
  }
}

/** Own properties of a built-in value (a `Date`, a `Map`) beside its internal state: they would be left out. */
const bare = (object: object): boolean => Reflect.ownKeys(object).length === 0

/** A value of a class or a prototype chain of its own: what it holds may be private, so it has no canonical form. */
const instanceOf = (proto: object | null): UnencodableValue => {
  const name = typeof proto?.constructor === "function" && proto.constructor.name !== ""
    ? `a ${proto.constructor.name}`
    : "an object with a prototype of its own"
  return new UnencodableValue(
    `is ${name}, which has no canonical form (its state may be private or inherited); ` +
      "give the field a `schema` that encodes it, or read a plain value from it"
  )
}

/** The typed array classes whose values are encoded by their bytes, by their tag. */
const typedArrays: Record<string, object> = Object.fromEntries(
  [
    Int8Array,
    Uint8ClampedArray,
    Int16Array,
    Uint16Array,
    Int32Array,
    Uint32Array,
    Float32Array,
    Float64Array,
    BigInt64Array,
    BigUint64Array
  ].map((type) => [type.name, type.prototype])
)

const bytes = (view: ArrayBufferView): string =>
  Buffer.from(view.buffer, view.byteOffset, view.byteLength).toString("base64")

const writeArray = (array: ReadonlyArray<unknown>, path: Set<object>): string => {
  // own keys are the items and `length`: a hole or a named property would be left out
  if (Reflect.ownKeys(array).length !== array.length + 1) {
    throw new UnencodableValue("is an array with holes or properties besides its items, which have no canonical form")
  }
  let text = "["
  for (let i = 0; i < array.length; i++) {
    text += (i === 0 ? "" : ",") + write(array[i], path)
  }
  return text + "]"
}

const writePlain = (object: object, path: Set<object>): string => {
  const keys = Object.keys(object)
  if (Object.getOwnPropertyNames(object).length !== keys.length) {
    throw new UnencodableValue("has properties that are not enumerable, which have no canonical form")
  }
  if (Object.getOwnPropertySymbols(object).length > 0) {
    throw new UnencodableValue("has properties keyed by symbols, which have no canonical form")
  }
  keys.sort()
  const parts: Array<string> = []
  for (const key of keys) {
    const item = (object as Record<string, unknown>)[key]
    if (item !== undefined) {
      parts.push(JSON.stringify(key) + ":" + write(item, path))
    }
  }
  return "{" + parts.join(",") + "}"
}

/**
 * Plain objects (prototype `Object.prototype` or `null`), arrays, and the built-ins
 * whose whole state is readable (dates, byte and typed arrays, maps, sets) have a
 * canonical form; so has a value with a `toJSON` method (its author's canonical form).
 * Every other object (a class instance, whose `#private` state nothing can read, an
 * `Error`, a `RegExp`, `URLSearchParams`, an object made by `Object.create`) and any
 * object with state that enumeration misses has none: it would be encoded as less
 * than it holds, so two different values would share a key.
 */
const writeObject = (object: object, path: Set<object>): string => {
  if (types.isProxy(object)) {
    throw new UnencodableValue("is a Proxy, whose content its handler decides at each read; read a plain value from it")
  }
  const proto = Object.getPrototypeOf(object)
  if (Array.isArray(object)) {
    if (proto !== Array.prototype) {
      throw instanceOf(proto)
    }
    return writeArray(object, path)
  }
  if (proto === Date.prototype && bare(object)) {
    return `D${(object as Date).getTime()}`
  }
  if ((proto === Uint8Array.prototype || proto === Buffer.prototype) && ArrayBuffer.isView(object)) {
    return `B${bytes(object)}`
  }
  if (ArrayBuffer.isView(object) && !(object instanceof DataView)) {
    const tag = (object as unknown as { readonly [Symbol.toStringTag]: string })[Symbol.toStringTag]
    if (typedArrays[tag] === proto) {
      return `V${tag}:${bytes(object)}`
    }
  }
  if (proto === Map.prototype && bare(object)) {
    const entries = Array.from(object as Map<unknown, unknown>, ([k, v]) => [write(k, path), write(v, path)] as const)
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return "M{" + entries.map(([k, v]) => `${k}:${v}`).join(",") + "}"
  }
  if (proto === Set.prototype && bare(object)) {
    const items = Array.from(object as Set<unknown>, (item) => write(item, path)).sort()
    return "S[" + items.join(",") + "]"
  }
  const toJSON = (object as { readonly toJSON?: unknown }).toJSON
  if (typeof toJSON === "function") {
    return write(toJSON.call(object), path)
  }
  if (proto !== Object.prototype && proto !== null) {
    throw instanceOf(proto)
  }
  return writePlain(object, path)
}
