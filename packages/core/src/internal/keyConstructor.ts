import * as Effect from "effect/Effect"
import { hasProperty } from "effect/Predicate"
import { CacheDefinitionError, KeyError } from "../CacheError.js"
import type * as CacheKey from "../CacheKey.js"
import { CacheSettings, type Settings } from "../CacheSettings.js"
import type * as KeyConstructor from "../KeyConstructor.js"
import type * as KeyField from "../KeyField.js"
import { encodeSlice, UnencodableValue } from "./keyEncoding.js"
import { boundKey, boundPartition } from "./keyLength.js"
import { validateSegment } from "./segment.js"

/** @internal */
export const TypeId: typeof KeyConstructor.TypeId = Symbol.for(
  "@cachefx/core/KeyConstructor"
) as typeof KeyConstructor.TypeId

const variance = { _I: (_: unknown) => {}, _R: () => undefined as never, _PI: (_: unknown) => {} }

const construct = (namespace: string, version: string, fields: ReadonlyArray<KeyField.KeyField.Any>) => {
  validateSegment("KeyConstructor namespace", namespace)
  validateSegment(`KeyConstructor "${namespace}" version`, version)
  if (version.startsWith("#")) {
    // `<namespace>:#@<name>` is the namespace of a cached value named apart: no version may look like it
    throw new CacheDefinitionError({
      subject: `KeyConstructor "${namespace}" version`,
      reason: `"${version}" starts with "#", which keys reserve; use letters, digits and . _ - / only`
    })
  }
  const names = new Set<string>()
  for (const field of fields) {
    if (names.has(field.name)) {
      throw new CacheDefinitionError({
        subject: `KeyConstructor "${namespace}"`,
        reason: `two fields are named "${field.name}"; give each field its own name`
      })
    }
    names.add(field.name)
  }
  const partition = fields.filter((field) => field.partition)
  const suffix = fields.filter((field) => !field.partition)
  const self: KeyConstructor.KeyConstructor.Any = {
    [TypeId]: variance,
    namespace,
    version,
    fields: [...partition, ...suffix],
    partitionSize: partition.length
  }
  return self
}

/** @internal */
export const make = (options: {
  readonly namespace: string
  readonly version?: string | number | undefined
  readonly fields?: ReadonlyArray<KeyField.KeyField.Any> | undefined
}): any => construct(options.namespace, String(options.version ?? 1), options.fields ?? [])

/** @internal */
export const extend = (
  base: KeyConstructor.KeyConstructor.Any,
  options: {
    readonly namespace?: string | undefined
    readonly version?: string | number | undefined
    readonly fields?: ReadonlyArray<KeyField.KeyField.Any> | undefined
  }
): any => {
  const added = options.fields ?? []
  const replaced = new Map(added.map((field) => [field.name, field]))
  const fields = base.fields.map((field) => replaced.get(field.name) ?? field)
  for (const field of added) {
    if (!base.fields.some((existing) => existing.name === field.name)) {
      fields.push(field)
    }
  }
  return construct(options.namespace ?? base.namespace, String(options.version ?? base.version), fields)
}

/** @internal */
export const isKeyConstructor = (u: unknown): u is KeyConstructor.KeyConstructor.Any => hasProperty(u, TypeId)

const keyError = (self: KeyConstructor.KeyConstructor.Any, field: KeyField.KeyField.Any, error: unknown) =>
  error instanceof KeyError ? error : new KeyError({
    namespace: self.namespace,
    field: field.name,
    reason: error instanceof UnencodableValue ? error.reason : `could not be read: ${String(error)}`
  })

/**
 * Whether every field of a constructor reads its value synchronously.
 *
 * @internal
 */
export const isSync = (self: KeyConstructor.KeyConstructor.Any): boolean =>
  self.fields.every((field) => field.read._tag === "Sync")

/**
 * Encodes the first `count` fields of a constructor whose fields are all synchronous.
 * Throws a `KeyError`.
 *
 * @internal
 */
export const slicesSync = (
  self: KeyConstructor.KeyConstructor.Any,
  input: unknown,
  count: number
): Array<string> => {
  const slices = new Array<string>(count)
  for (let i = 0; i < count; i++) {
    const field = self.fields[i]!
    try {
      slices[i] = encodeSlice((field.read as { read: (input: unknown) => unknown }).read(input), field.hash)
    } catch (error) {
      throw keyError(self, field, error)
    }
  }
  return slices
}

/**
 * Encodes the first `count` fields of any constructor.
 *
 * @internal
 */
export const slices = (
  self: KeyConstructor.KeyConstructor.Any,
  input: unknown,
  count: number
): Effect.Effect<Array<string>, KeyError, any> =>
  Effect.forEach(self.fields.slice(0, count), (field) => {
    const read = field.read
    if (read._tag === "Sync") {
      return Effect.try({
        try: () => encodeSlice(read.read(input), field.hash),
        catch: (error) => keyError(self, field, error)
      })
    }
    return read.read(input).pipe(
      Effect.flatMap((value) =>
        Effect.try({
          try: () => encodeSlice(value, field.hash),
          catch: (error) => keyError(self, field, error)
        })
      )
    )
  })

/**
 * The namespace of a cached value on a constructor: `<prefix>:<namespace>`, followed by
 * the cached value's identity (`#@<name>`) when it is named apart from the namespace.
 *
 * @internal
 */
export const scopeOf = (self: KeyConstructor.KeyConstructor.Any, prefix: string, identity: string | undefined): string =>
  identity === undefined ? prefix + ":" + self.namespace : prefix + ":" + self.namespace + ":" + identity

/** The partition of the first `partitionSize` slices, however long. */
const unbounded = (
  self: KeyConstructor.KeyConstructor.Any,
  prefix: string,
  slices: ReadonlyArray<string>,
  identity: string | undefined
): CacheKey.Partition => {
  const namespace = scopeOf(self, prefix, identity)
  let partition = namespace + ":" + self.version
  for (let i = 0; i < self.partitionSize; i++) {
    partition += ":" + slices[i]
  }
  return { namespace, partition }
}

/**
 * Assembles a key from encoded slices (partition slices first), in the namespace of the
 * cached value's `identity` (see `scopeOf`). `extra` (the cached value's fingerprint)
 * goes between the partition and the suffix. A key longer than the `maxKeyLength`
 * setting is hashed (see `boundKey`); throws a `KeyError` when it does not fit even then.
 *
 * @internal
 */
export const assemble = (
  self: KeyConstructor.KeyConstructor.Any,
  settings: Settings,
  slices: ReadonlyArray<string>,
  extra: string | undefined,
  identity?: string | undefined
): CacheKey.CacheKey => {
  const { namespace, partition } = unbounded(self, settings.keyPrefix, slices, identity)
  let key = extra === undefined ? partition : partition + ":" + extra
  for (let i = self.partitionSize; i < slices.length; i++) {
    key += ":" + slices[i]
  }
  return boundKey(self, { namespace, partition, key }, settings.maxKeyLength)
}

/**
 * `assemble` as an Effect that fails with its `KeyError`.
 *
 * @internal
 */
export const assembleEffect = (
  self: KeyConstructor.KeyConstructor.Any,
  settings: Settings,
  slices: ReadonlyArray<string>,
  extra: string | undefined,
  identity?: string | undefined
): Effect.Effect<CacheKey.CacheKey, KeyError> =>
  Effect.try({ try: () => assemble(self, settings, slices, extra, identity), catch: (error) => error as KeyError })

/** @internal */
export const assemblePartition = (
  self: KeyConstructor.KeyConstructor.Any,
  settings: Settings,
  slices: ReadonlyArray<string>,
  identity?: string | undefined
): CacheKey.Partition =>
  boundPartition(self, unbounded(self, settings.keyPrefix, slices, identity), settings.maxKeyLength)

/** @internal */
export const keyFor = (
  self: KeyConstructor.KeyConstructor.Any,
  input: unknown
): Effect.Effect<CacheKey.CacheKey, KeyError, any> =>
  Effect.flatMap(
    Effect.zip(CacheSettings, slices(self, input, self.fields.length)),
    ([settings, slices]) => assembleEffect(self, settings, slices, undefined)
  )

/** @internal */
export const partitionFor = (
  self: KeyConstructor.KeyConstructor.Any,
  input: unknown
): Effect.Effect<CacheKey.Partition, KeyError, any> =>
  Effect.zipWith(
    CacheSettings,
    slices(self, input, self.partitionSize),
    (settings, slices) => assemblePartition(self, settings, slices)
  )
