import type * as Effect from "effect/Effect"
import type { HttpServerRequest } from "@effect/platform/HttpServerRequest"
import type { HttpServerResponse } from "@effect/platform/HttpServerResponse"

/**
 * The input name under which a cached handler's input carries the live request. Rows
 * never provide it, so the invalidation engine treats every field that reads it as
 * unresolved and wipes the partition (or the namespace) instead of one key.
 *
 * @internal
 */
export const requestName = "$request"

/**
 * What a request contributes to a key, and the app that answers it.
 *
 * @internal
 */
export interface Live {
  readonly request: HttpServerRequest
  /** The host of an absolute URL (`HttpServerRequest.fromWeb`), for a request without `Host`. */
  readonly host: string | null
  /** The path of the original URL (before any router prefix was sliced off). */
  readonly pathname: string
  /** The query parameters, parsed on first use. */
  readonly query: () => URLSearchParams
  /** The request headers named by the `Vary` of earlier responses, in key order. */
  readonly vary: ReadonlyArray<string>
  readonly app: Effect.Effect<HttpServerResponse, unknown, unknown>
  /** The request body as text, once read for a key that holds it. */
  body: string | undefined
  /** Set when this request's own app ran (a caller that joined another's computation did not). */
  computed: boolean
}

/**
 * The input of a cached handler: the path parameters, and the live request.
 *
 * @internal
 */
export type Input = Readonly<Record<string, unknown>>

/** The host, path and query of a URL: servers give the path and query alone, `HttpServerRequest.fromWeb` an absolute URL. */
const parts = (url: string): { readonly host: string | null; readonly relative: string } => {
  if (url.startsWith("/")) {
    return { host: null, relative: url }
  }
  const parsed = new URL(url)
  return { host: parsed.host, relative: parsed.pathname + parsed.search }
}

/** @internal */
export const make = (
  request: HttpServerRequest,
  params: Readonly<Record<string, string | undefined>>,
  vary: ReadonlyArray<string>,
  app: Effect.Effect<HttpServerResponse, unknown, unknown>
): Input => {
  const { host, relative: url } = parts(request.originalUrl)
  const index = url.indexOf("?")
  let query: URLSearchParams | undefined
  const live: Live = {
    request,
    host,
    pathname: index === -1 ? url : url.slice(0, index),
    query: () => query ??= new URLSearchParams(index === -1 ? "" : url.slice(index + 1)),
    vary,
    app,
    body: undefined,
    computed: false
  }
  return { ...params, [requestName]: live }
}

/**
 * The live request of an input; none during invalidation.
 *
 * @internal
 */
export const liveOf = (input: unknown): Live | undefined =>
  typeof input === "object" && input !== null ? (input as Record<string, Live | undefined>)[requestName] : undefined
