import type * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import { hasProperty } from "effect/Predicate"
import * as Schema from "effect/Schema"
import type { KeyError } from "../CacheError.js"
import type * as KeyField from "../KeyField.js"
import { UnencodableValue } from "./keyEncoding.js"

/** @internal */
export const TypeId: typeof KeyField.TypeId = Symbol.for("@cachefx/core/KeyField") as typeof KeyField.TypeId

const variance = {
  _I: (_: unknown) => {},
  _R: () => undefined as never,
  _P: () => undefined as never
}

const build = <I, R, P extends boolean>(field: {
  readonly name: string
  readonly partition: P
  readonly hash: boolean
  readonly inputs: ReadonlyArray<string> | "*"
  readonly read: KeyField.KeyField.Read
}): KeyField.KeyField<I, R, P> => ({ [TypeId]: variance, ...field })

/** A field's value as its Schema encodes it: what the key is built from. */
const encoder = (schema: Schema.Schema<any, any, never>) => {
  const encode = Schema.encodeEither(schema)
  return (value: unknown): unknown =>
    Either.getOrThrowWith(encode(value), (error) =>
      new UnencodableValue(`does not encode with the field's schema: ${ParseResult.TreeFormatter.formatErrorSync(error)}`))
}

/** @internal */
export const arg = <const N extends string, P extends boolean = false>(
  name: N,
  options?: KeyField.KeyField.Options<P>
): KeyField.KeyField<{ readonly [K in N]: any }, never, P> => {
  const encode = options?.schema === undefined ? undefined : encoder(options.schema)
  return build({
    name,
    partition: (options?.partition ?? false) as P,
    hash: options?.hash ?? false,
    inputs: [name],
    read: {
      _tag: "Sync",
      read: (input: unknown) => {
        if (typeof input !== "object" || input === null || !(name in input)) {
          throw new UnencodableValue(`reads the input "${name}", which the input does not have`)
        }
        const value = (input as Record<string, unknown>)[name]
        return encode === undefined ? value : encode(value)
      }
    }
  })
}

/** @internal */
export const args = (
  _selector: "*",
  options?: { readonly hash?: boolean | undefined }
): KeyField.KeyField<unknown, never, false> =>
  build({
    name: "*",
    partition: false,
    hash: options?.hash ?? false,
    inputs: "*",
    read: { _tag: "Sync", read: (input: unknown) => input }
  })

/** @internal */
export const constant = (name: string, value: unknown): KeyField.KeyField<unknown, never, false> =>
  build({ name, partition: false, hash: false, inputs: [], read: { _tag: "Sync", read: () => value } })

/** @internal */
export const make = <I = unknown, R = never, P extends boolean = false>(options: {
  readonly name: string
  readonly read: (input: I) => Effect.Effect<unknown, KeyError, R>
  readonly inputs?: ReadonlyArray<string> | "*" | undefined
  readonly partition?: P | undefined
  readonly hash?: boolean | undefined
}): KeyField.KeyField<I, R, P> =>
  build({
    name: options.name,
    partition: (options.partition ?? false) as P,
    hash: options.hash ?? false,
    inputs: options.inputs ?? [],
    read: { _tag: "Effect", read: options.read }
  })

/** @internal */
export const makeSync = <I = unknown, P extends boolean = false>(options: {
  readonly name: string
  readonly read: (input: I) => unknown
  readonly inputs?: ReadonlyArray<string> | "*" | undefined
  readonly partition?: P | undefined
  readonly hash?: boolean | undefined
}): KeyField.KeyField<I, never, P> =>
  build({
    name: options.name,
    partition: (options.partition ?? false) as P,
    hash: options.hash ?? false,
    inputs: options.inputs ?? [],
    read: { _tag: "Sync", read: options.read }
  })

/** @internal */
export const isKeyField = (u: unknown): u is KeyField.KeyField.Any => hasProperty(u, TypeId)
