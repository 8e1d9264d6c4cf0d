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
  query(): URLSearchParams
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

/**
 * The live request: built once per request on the hit path, so it is a class (no
 * closure per request) and parses the query only when a key field reads it.
 */
class LiveRequest implements Live {
  body: string | undefined = undefined
  computed = false
  private parsed: URLSearchParams | undefined = undefined
  constructor(
    readonly request: HttpServerRequest,
    readonly host: string | null,
    readonly pathname: string,
    private readonly search: string,
    readonly vary: ReadonlyArray<string>,
    readonly app: Effect.Effect<HttpServerResponse, unknown, unknown>
  ) {}
  query(): URLSearchParams {
    return this.parsed ??= new URLSearchParams(this.search)
  }
}

/** @internal */
export const make = (
  request: HttpServerRequest,
  params: Readonly<Record<string, string | undefined>>,
  vary: ReadonlyArray<string>,
  app: Effect.Effect<HttpServerResponse, unknown, unknown>
): Input => {
  // servers give the path and query alone, `HttpServerRequest.fromWeb` an absolute URL
  let url = request.originalUrl
  let host: string | null = null
  if (!url.startsWith("/")) {
    const parsed = new URL(url)
    host = parsed.host
    url = parsed.pathname + parsed.search
  }
  const index = url.indexOf("?")
  const live = index === -1
    ? new LiveRequest(request, host, url, "", vary, app)
    : new LiveRequest(request, host, url.slice(0, index), url.slice(index + 1), vary, app)
  return inputOf(params, live)
}

/**
 * The path parameters and the live request, as one record. Copied name by name:
 * `{ ...params, [requestName]: live }` costs about a microsecond a request on Node 20
 * (a spread then a computed key), a tenth of a hit. A parameter named `__proto__` stays
 * an own property, as a spread keeps it, and none can stand in for the live request.
 */
const inputOf = (params: Readonly<Record<string, string | undefined>>, live: Live): Input => {
  const input: Record<string, unknown> = {}
  for (const name of Object.keys(params)) {
    if (name === "__proto__") {
      Object.defineProperty(input, name, { value: params[name], enumerable: true, writable: true, configurable: true })
    } else {
      input[name] = params[name]
    }
  }
  input[requestName] = live
  return input
}

/**
 * The live request of an input; none during invalidation.
 *
 * @internal
 */
export const liveOf = (input: unknown): Live | undefined =>
  typeof input === "object" && input !== null ? (input as Record<string, Live | undefined>)[requestName] : undefined
