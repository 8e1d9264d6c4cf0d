import { CacheError, KeyField } from "@cachefx/core"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import { type Live, liveOf, requestName } from "./requestInput.js"

/** A field that reads the live request; it resolves to empty (`null`) without one. */
const fromRequest = <P extends boolean>(
  name: string,
  read: (live: Live) => unknown,
  options: { readonly partition?: P | undefined; readonly hash?: boolean | undefined }
): KeyField.KeyField<unknown, never, P> =>
  KeyField.makeSync({
    name,
    inputs: [requestName],
    ...options,
    read: (input: unknown) => {
      const live = liveOf(input)
      return live === undefined ? null : read(live)
    }
  })

/** One value, or all of them when a name repeats. */
const values = (all: ReadonlyArray<string>): string | ReadonlyArray<string> | null =>
  all.length === 0 ? null : all.length === 1 ? all[0]! : all

/** @internal */
export const query = (
  selector: string,
  options: { readonly hash?: boolean | undefined } = {}
): KeyField.KeyField<unknown, never, false> =>
  fromRequest(selector === "*" ? "query" : `query.${selector}`, (live) => {
    if (selector !== "*") {
      return values(live.query().getAll(selector))
    }
    const query = live.query()
    const names = [...new Set(query.keys())].sort()
    return Object.fromEntries(names.map((name) => [name, values(query.getAll(name))]))
  }, options)

/** @internal */
export const header = <P extends boolean = false>(
  name: string,
  options: { readonly partition?: P | undefined; readonly hash?: boolean | undefined } = {}
): KeyField.KeyField<unknown, never, P> => {
  const lower = name.toLowerCase()
  return fromRequest(`header.${lower}`, (live) => live.request.headers[lower] ?? null, options)
}

/** @internal */
export const path: KeyField.KeyField<unknown, never, false> = fromRequest("$path", (live) => live.pathname, {})

/** @internal */
export const vary: KeyField.KeyField<unknown, never, false> = fromRequest(
  "$vary",
  (live) => live.vary.length === 0 ? "" : live.vary.map((name) => live.request.headers[name] ?? null),
  {}
)

/**
 * Where the request came to: its host and scheme as the server sees them, and as the
 * application may read them (`X-Forwarded-Host`, `X-Forwarded-Proto`, whether or not
 * `HttpMiddleware.xForwardedHeaders` has rewritten `Host` from them yet). Without
 * forwarded headers (most requests) the host alone, a string slice that is cheap to
 * encode; with them, the list of three. A string and a list never encode to one slice.
 *
 * @internal
 */
export const origin: KeyField.KeyField<unknown, never, false> = fromRequest("$origin", (live) => {
  const headers = live.request.headers
  const host = headers["host"] ?? live.host
  const forwardedHost = headers["x-forwarded-host"]
  const forwardedProto = headers["x-forwarded-proto"]
  return forwardedHost === undefined && forwardedProto === undefined
    ? host
    : [host, forwardedHost ?? null, forwardedProto ?? null]
}, {})

/** The fields made by `body`, with the most bytes they read. */
const bodyFields = new WeakMap<KeyField.KeyField.Any, number>()

/** @internal */
export const body = (
  options: { readonly hash?: boolean | undefined; readonly maxBytes?: number | undefined } = {}
): KeyField.KeyField<unknown, never, false> => {
  const maxBytes = options.maxBytes ?? 65536
  if (!Number.isSafeInteger(maxBytes) || maxBytes <= 0) {
    throw new CacheError.CacheDefinitionError({
      subject: "RequestKeyField.body",
      reason: `maxBytes must be a positive whole number of bytes, not ${maxBytes}`
    })
  }
  const field = fromRequest<false>("$body", (live) => live.body ?? null, { hash: options.hash ?? true })
  bodyFields.set(field, maxBytes)
  return field
}

/**
 * The most bytes of a request body the key reads: `undefined` when no field reads it.
 *
 * @internal
 */
export const bodyLimit = (fields: ReadonlyArray<KeyField.KeyField.Any>): number | undefined => {
  const limits = fields.flatMap((field) => bodyFields.get(field) ?? [])
  return limits.length === 0 ? undefined : Math.min(...limits)
}

/** A parameter as text: rows give numbers where the URL gave digits, and both must meet in one key. */
const text = (value: unknown): string | null => value === undefined || value === null ? null : String(value)

/** @internal */
export const pathParams = <P extends boolean = false>(
  selector: "*" | ReadonlyArray<string>,
  options: { readonly partition?: P | undefined } = {}
): KeyField.KeyField<unknown, never, P> =>
  KeyField.makeSync({
    name: "params",
    inputs: selector,
    partition: options.partition,
    read: (input: unknown) => {
      const record = input as Readonly<Record<string, unknown>>
      if (selector !== "*" && selector.length === 1) {
        return text(record[selector[0]!])
      }
      const names = selector === "*" ? Object.keys(record).filter((name) => name !== requestName).sort() : selector
      return Object.fromEntries(names.map((name) => [name, text(record[name])]))
    }
  })

/** The fields made by `user`: a key with one is partitioned by caller. */
const userFields = new WeakSet<KeyField.KeyField.Any>()

/** @internal */
export const requestValue = <I, S, P extends boolean = false>(
  tag: Context.Tag<I, S>,
  f: (service: S) => unknown,
  options: { readonly name?: string | undefined; readonly partition?: P | undefined } = {}
): KeyField.KeyField<unknown, I, P> => {
  const name = options.name ?? tag.key
  return KeyField.make({
    name,
    inputs: [name],
    partition: options.partition,
    read: (input: unknown) => {
      if (liveOf(input) !== undefined) {
        return Effect.map(tag, f)
      }
      const given = typeof input === "object" && input !== null ? (input as Record<string, unknown>)[name] : undefined
      return Effect.succeed(given ?? null)
    }
  })
}

/** @internal */
export const user = <I, S>(
  tag: Context.Tag<I, S>,
  f: (service: S) => unknown,
  options: { readonly name?: string | undefined } = {}
): KeyField.KeyField<unknown, I, true> => {
  const field = requestValue(tag, f, { name: options.name ?? "user", partition: true })
  userFields.add(field)
  return field
}

/** @internal */
export const isPerUser = (fields: ReadonlyArray<KeyField.KeyField.Any>): boolean =>
  fields.some((field) => field.partition && userFields.has(field))
