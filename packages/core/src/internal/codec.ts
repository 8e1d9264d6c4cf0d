import { types } from "node:util"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"

/**
 * How a cached value is turned into its stored (JSON) form and back. `Left` carries a
 * reason a user can act on.
 *
 * @internal
 */
export interface Codec<A> {
  readonly encode: (value: A) => Either.Either<unknown, string>
  readonly decode: (stored: unknown) => Either.Either<A, string>
}

/**
 * How deep a stored value may nest: deeper values are not stored (the check, and
 * `JSON.stringify` after it, recurse).
 *
 * @internal
 */
export const maxDepth = 512

/**
 * Why a value does not survive `JSON.stringify` and `JSON.parse` unchanged, or
 * `undefined` when it does. Object properties whose value is `undefined` are allowed:
 * they read back as absent. A `Proxy` is refused (its handler decides what each read
 * gives), and so is nesting deeper than `maxDepth`; a getter that throws throws here.
 *
 * @internal
 */
export const jsonProblem = (value: unknown, path: string = "value", seen: Set<object> = new Set()): string | undefined => {
  switch (typeof value) {
    case "string":
    case "boolean":
      return undefined
    case "number":
      return Number.isFinite(value) ? undefined : `${path} is ${value}, which JSON turns into null`
    case "undefined":
      return `${path} is undefined, which JSON cannot hold`
    case "bigint":
      return `${path} is a bigint, which JSON cannot hold`
    case "function":
    case "symbol":
      return `${path} is a ${typeof value}, which JSON cannot hold`
  }
  if (value === null) {
    return undefined
  }
  const object = value as object
  if (seen.has(object)) {
    return `${path} contains a cycle`
  }
  if (seen.size === maxDepth) {
    return `${path} nests deeper than ${maxDepth} levels`
  }
  if (types.isProxy(object)) {
    return `${path} is a Proxy, whose handler decides what each read gives`
  }
  seen.add(object)
  try {
    if (Array.isArray(object)) {
      for (let i = 0; i < object.length; i++) {
        const problem = jsonProblem(object[i], `${path}[${i}]`, seen)
        if (problem !== undefined) return problem
      }
      return undefined
    }
    const proto = Object.getPrototypeOf(object)
    if (proto !== Object.prototype && proto !== null) {
      const name = (proto as { constructor?: { name?: string } }).constructor?.name ?? "an object with a prototype"
      return `${path} is a ${name}, which JSON reads back as a plain object or string`
    }
    for (const key of Object.keys(object)) {
      const item = (object as Record<string, unknown>)[key]
      if (item !== undefined) {
        const problem = jsonProblem(item, `${path}.${key}`, seen)
        if (problem !== undefined) return problem
      }
    }
    return undefined
  } finally {
    seen.delete(object)
  }
}

const advice = "; give the cached value a `value` Schema that encodes it to JSON"

/** `encode`, with what it throws (a getter's error, a stack overflow) as its reason. */
const guarded = <A>(encode: (value: A) => Either.Either<unknown, string>) => (value: A): Either.Either<unknown, string> => {
  try {
    return encode(value)
  } catch (error) {
    return Either.left(`reading the value threw: ${error instanceof Error ? error.message : String(error)}`)
  }
}

/**
 * The default codec: values must be JSON already, and are stored as they are.
 *
 * @internal
 */
export const json: Codec<any> = {
  encode: guarded((value) => {
    const problem = jsonProblem(value)
    return problem === undefined ? Either.right(value) : Either.left(problem + advice)
  }),
  decode: Either.right
}

/**
 * A codec from a Schema whose encoded side is JSON.
 *
 * @internal
 */
export const fromSchema = <A, I>(schema: Schema.Schema<A, I, never>): Codec<A> => {
  const encode = Schema.encodeEither(schema)
  const decode = Schema.decodeUnknownEither(schema)
  return {
    encode: guarded((value: A) =>
      Either.match(encode(value), {
        onLeft: (error) => Either.left(ParseResult.TreeFormatter.formatErrorSync(error)),
        onRight: (encoded) => {
          const problem = jsonProblem(encoded, "encoded value")
          return problem === undefined
            ? Either.right(encoded)
            : Either.left(problem + "; the Schema's encoded side must be JSON")
        }
      })),
    decode: (stored) => Either.mapLeft(decode(stored), (error) => ParseResult.TreeFormatter.formatErrorSync(error))
  }
}

/**
 * A deep copy of a JSON value (what `jsonProblem` accepts): new arrays and plain
 * objects, as `JSON.parse` of its text would give. An object is copied by a spread
 * (which V8 clones by the object's shape, about three times faster than copying key by
 * key: bench/core.ts) and then its object members are replaced by their copies. A
 * `__proto__` property stays an own property, as with `JSON.parse`.
 *
 * @internal
 */
export const copyJson = (value: unknown): unknown => {
  if (typeof value !== "object" || value === null) {
    return value
  }
  if (Array.isArray(value)) {
    const copy = new Array(value.length)
    for (let i = 0; i < value.length; i++) {
      const item = value[i]
      copy[i] = typeof item === "object" && item !== null ? copyJson(item) : item
    }
    return copy
  }
  const copy: Record<string, unknown> = { ...value }
  const keys = Object.keys(copy)
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!
    const item = copy[key]
    if (typeof item === "object" && item !== null) {
      if (key === "__proto__") {
        Object.defineProperty(copy, key, { value: copyJson(item), enumerable: true, writable: true, configurable: true })
      } else {
        copy[key] = copyJson(item)
      }
    }
  }
  return copy
}

/**
 * Whether a JSON value can never change: every object in it (the value itself, and the
 * objects and arrays it holds, to `maxDepth`) is a frozen plain object or array whose
 * properties are all data properties. Such a value may be handed to every reader as it
 * is: nobody can change it for another (a getter could give each read something else,
 * and a frozen `Date` or class instance still changes through its methods, so neither
 * counts).
 *
 * @internal
 */
export const isImmutableJson = (value: unknown, depth: number = 0): boolean => {
  if (typeof value !== "object" || value === null) {
    return true
  }
  if (depth === maxDepth || !Object.isFrozen(value) || types.isProxy(value)) {
    return false
  }
  const proto = Object.getPrototypeOf(value)
  if (Array.isArray(value) ? proto !== Array.prototype : proto !== Object.prototype && proto !== null) {
    return false
  }
  const properties = Object.getOwnPropertyDescriptors(value)
  for (const name of Reflect.ownKeys(properties)) {
    const property = properties[name as string]!
    if (!("value" in property) || !isImmutableJson(property.value, depth + 1)) {
      return false
    }
  }
  return true
}

/**
 * The copies of a value through its stored form, as a read of the Redis store gives it:
 * what each caller that shares a computation gets, so that callers never share a
 * mutable value. The value is checked and encoded once, when the copies are made; each
 * copy then only copies and decodes the encoded form. A value that does not encode (it
 * is not stored) is given as it is.
 *
 * @internal
 */
export const copies = <A>(codec: Codec<A>) => (value: A): () => A => {
  if (typeof value !== "object" || value === null) {
    return () => value
  }
  const encoded = codec.encode(value)
  if (Either.isLeft(encoded)) {
    return () => value
  }
  const stored = encoded.right
  return () => Either.getOrElse(codec.decode(copyJson(stored)), () => value)
}

/**
 * A copy of a value through its stored form (see `copies`).
 *
 * @internal
 */
export const copier = <A>(codec: Codec<A>) => {
  const copiesOf = copies(codec)
  return (value: A): A => copiesOf(value)()
}
