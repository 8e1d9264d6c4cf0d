import type { HttpServerRequest } from "@effect/platform/HttpServerRequest"
import type { HttpServerResponse } from "@effect/platform/HttpServerResponse"
import * as Cookies from "@effect/platform/Cookies"
import CachePolicy from "http-cache-semantics"

/**
 * Why a response must not be stored, or `undefined` when HTTP allows storing it. The
 * status is left to the caller (`cacheIf`); the rest follows RFC 9111 through
 * `http-cache-semantics`: no `no-store` on either side, and for a cache shared between
 * callers no `private` response and no response to a request with credentials unless
 * the response allows it (`public`, `s-maxage`, `must-revalidate`). Cookies count as
 * credentials, and a response that sets a cookie is never stored.
 *
 * @internal
 */
export const refusal = (
  request: HttpServerRequest,
  response: HttpServerResponse,
  perCaller: boolean
): string | undefined => {
  if (!Cookies.isEmpty(response.cookies) || response.headers["set-cookie"] !== undefined) {
    return "the response sets a cookie"
  }
  if (response.status === 206 || response.status === 304) {
    return "a partial or not-modified response"
  }
  if (response.headers["vary"]?.trim() === "*") {
    return "the response varies on everything (Vary: *)"
  }
  const headers = request.headers
  const credentials = headers["authorization"] ?? (headers["cookie"] === undefined ? undefined : "cookie")
  const policy = new CachePolicy(
    { method: "GET", url: request.originalUrl, headers: { ...headers, authorization: credentials } },
    { status: 200, headers: response.headers },
    { shared: !perCaller }
  )
  return policy.storable() ? undefined : "its Cache-Control, or the request's credentials, forbid storing it"
}
