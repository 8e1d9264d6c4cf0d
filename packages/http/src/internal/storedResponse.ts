import { createHash } from "node:crypto"
import type { HttpServerRequest } from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"

/**
 * A response as the store holds it (JSON): the body in base64, with its entity tag.
 * Made frozen, headers too: a store in this process may then hand the one value to every
 * hit rather than a copy of it to each, since no hit can change it.
 *
 * @internal
 */
export interface Stored {
  readonly _tag: "Stored"
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly contentType: string | null
  readonly body: string
  readonly etag: string
  /** Its explicit freshness in seconds when it was stored, or `null`: it then has an `Age` when served. */
  readonly maxAge: number | null
  /** When it was stored (epoch milliseconds): with its own `Age`, how old it is. */
  readonly storedAt: number
}

/**
 * A response that is not stored: it is served to the request that made it only.
 *
 * @internal
 */
export interface Skipped {
  readonly _tag: "Skipped"
  readonly response: HttpServerResponse.HttpServerResponse
}

/** @internal */
export type Outcome = Stored | Skipped

/** Headers that belong to one connection or one client, never to a stored response. */
const unstored = new Set(["set-cookie", "connection", "keep-alive", "transfer-encoding", "content-length", "date"])

/**
 * The stored form of a response, when its body is bytes held in memory (a stream is
 * served as it comes, and never stored).
 *
 * @internal
 */
export const fromResponse = (
  response: HttpServerResponse.HttpServerResponse,
  maxAge: number | undefined,
  storedAt: number
): Stored | undefined => {
  const body = response.body
  if (body._tag !== "Uint8Array" && body._tag !== "Empty") {
    return undefined
  }
  const bytes = body._tag === "Uint8Array" ? body.body : new Uint8Array(0)
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(response.headers)) {
    if (!unstored.has(name)) {
      headers[name] = value
    }
  }
  const etag = headers["etag"] ?? `"${createHash("sha256").update(bytes).digest("base64url").slice(0, 27)}"`
  delete headers["etag"]
  return Object.freeze({
    _tag: "Stored",
    status: response.status,
    headers: Object.freeze(headers),
    contentType: body._tag === "Uint8Array" ? body.contentType : null,
    body: Buffer.from(bytes).toString("base64"),
    etag,
    maxAge: maxAge ?? null,
    storedAt
  })
}

/** The most responses kept rebuilt (`rebuilt`), and the most body bytes they hold together. */
const rebuiltEntries = 1024
const rebuiltBytes = 16 * 1024 * 1024
/** A body larger than this is decoded on every hit rather than crowd out the others. */
const rebuiltLargest = rebuiltBytes / 16

interface Rebuilt {
  readonly stored: Stored
  readonly response: HttpServerResponse.HttpServerResponse
  readonly bytes: number
}

/**
 * Responses already rebuilt from a stored value, by entity tag: a store may hand out a
 * copy of the value on every read (Redis parses it), so a hit finds its response by
 * content, not by identity (the memory store hands out the frozen value itself, which
 * `sameForm` then accepts at once), and serves it without decoding the body again. An
 * entry serves only a stored value equal to the one it was built from (`sameForm`); the
 * oldest entries go first past `rebuiltEntries` or `rebuiltBytes`.
 */
const rebuilt = new Map<string, Rebuilt>()
let rebuiltTotal = 0

const sameHeaders = (a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean => {
  const names = Object.keys(a)
  if (names.length !== Object.keys(b).length) {
    return false
  }
  for (const name of names) {
    if (a[name] !== b[name]) {
      return false
    }
  }
  return true
}

/** Whether two stored values give the same response (the entity tag aside, which keys `rebuilt`). */
const sameForm = (a: Stored, b: Stored): boolean =>
  a === b || (a.status === b.status && a.contentType === b.contentType && a.body === b.body &&
    sameHeaders(a.headers, b.headers))

const build = (stored: Stored): HttpServerResponse.HttpServerResponse => {
  const options = { status: stored.status, headers: { ...stored.headers, etag: stored.etag } }
  return stored.contentType === null
    ? HttpServerResponse.empty(options)
    : HttpServerResponse.uint8Array(Buffer.from(stored.body, "base64"), { ...options, contentType: stored.contentType })
}

/**
 * The response of a stored value.
 *
 * @internal
 */
export const toResponse = (stored: Stored): HttpServerResponse.HttpServerResponse => {
  const found = rebuilt.get(stored.etag)
  if (found !== undefined && sameForm(found.stored, stored)) {
    return found.response
  }
  const response = build(stored)
  // what the entry holds: the base64 text, and the bytes it decodes to (3 in 4 characters)
  const bytes = stored.body.length + Math.ceil(stored.body.length * 3 / 4)
  if (bytes <= rebuiltLargest) {
    if (found !== undefined) {
      rebuilt.delete(stored.etag)
      rebuiltTotal -= found.bytes
    }
    for (const [etag, oldest] of rebuilt) {
      if (rebuilt.size < rebuiltEntries && rebuiltTotal + bytes <= rebuiltBytes) {
        break
      }
      rebuilt.delete(etag)
      rebuiltTotal -= oldest.bytes
    }
    rebuilt.set(stored.etag, { stored, response, bytes })
    rebuiltTotal += bytes
  }
  return response
}

/**
 * How old a stored response is at `now`, in seconds (RFC 9111 §4.2.3): the age it came
 * with plus the time it has been stored.
 *
 * @internal
 */
export const ageAt = (stored: Stored, now: number): number =>
  givenAge(stored.headers) + Math.max(0, (now - stored.storedAt) / 1000)

/**
 * The age a response came with (its `Age`, in seconds; 0 when absent or not a number).
 *
 * @internal
 */
export const givenAge = (headers: Readonly<Record<string, string | undefined>>): number => {
  const given = Number.parseInt(headers["age"] ?? "0", 10)
  return Number.isNaN(given) || given < 0 ? 0 : given
}

/**
 * The response of a stored value at `now`: with an `Age` when it has explicit freshness,
 * so that a cache after this one does not count that freshness again from the start.
 *
 * @internal
 */
export const toResponseAt = (stored: Stored, now: number): HttpServerResponse.HttpServerResponse =>
  // an entry stored before `maxAge` was recorded has none
  typeof stored.maxAge !== "number"
    ? toResponse(stored)
    : HttpServerResponse.setHeader(toResponse(stored), "age", String(Math.floor(ageAt(stored, now))))

const opaque = (tag: string) => tag.trim().replace(/^W\//, "")

/**
 * Whether the request's `If-None-Match` names the stored entity (weak comparison).
 *
 * @internal
 */
export const matches = (request: HttpServerRequest, stored: Stored): boolean => {
  const header = request.headers["if-none-match"]
  if (header === undefined) {
    return false
  }
  const etag = opaque(stored.etag)
  return header.trim() === "*" || header.split(",").some((tag) => opaque(tag) === etag)
}

/** Headers a `304 Not Modified` repeats from the full response. */
const revalidation = ["cache-control", "content-location", "expires", "vary"]

/**
 * The `304 Not Modified` answer for a stored response.
 *
 * @internal
 */
export const notModified = (stored: Stored): HttpServerResponse.HttpServerResponse => {
  const headers: Record<string, string> = { etag: stored.etag }
  for (const name of revalidation) {
    const value = stored.headers[name]
    if (value !== undefined) {
      headers[name] = value
    }
  }
  return HttpServerResponse.empty({ status: 304, headers })
}
