import type { HttpServerRequest } from "@effect/platform/HttpServerRequest"
import type { HttpServerResponse } from "@effect/platform/HttpServerResponse"
import * as Cookies from "@effect/platform/Cookies"
import CachePolicy from "http-cache-semantics"

/**
 * The request headers that carry credentials by default: a request with any of them is
 * answered for its caller alone unless the key is per caller.
 *
 * @internal
 */
export const credentialHeaders: ReadonlyArray<string> = ["authorization", "cookie", "proxy-authorization", "x-api-key"]

/**
 * The directives of a `Cache-Control` header, names in lower case. A directive given
 * twice with different values is `conflicting`: such a header is never trusted.
 *
 * @internal
 */
export const directives = (header: string | undefined): Map<string, string | true> => {
  const parsed = new Map<string, string | true>()
  if (header === undefined) {
    return parsed
  }
  for (const part of header.split(",")) {
    const index = part.indexOf("=")
    const name = (index === -1 ? part : part.slice(0, index)).trim().toLowerCase()
    if (name === "") {
      continue
    }
    const value = index === -1 ? true : part.slice(index + 1).trim().replace(/^"(.*)"$/, "$1")
    const seen = parsed.get(name)
    parsed.set(name, seen !== undefined && seen !== value ? "conflicting" : value)
  }
  return parsed
}

/**
 * Whether a request must be answered for its caller alone: it carries credentials
 * (`names`, in lower case) and the key is not per caller.
 *
 * @internal
 */
export const credentialed = (request: HttpServerRequest, names: ReadonlyArray<string>): boolean => {
  const headers = request.headers
  for (const name of names) {
    if (headers[name] !== undefined) {
      return true
    }
  }
  return false
}

/**
 * Whether a request has a body: a length other than 0, or a transfer coding.
 *
 * @internal
 */
export const hasBody = (request: HttpServerRequest): boolean => {
  const length = request.headers["content-length"]
  return request.headers["transfer-encoding"] !== undefined || (length !== undefined && length.trim() !== "0")
}

/**
 * What a response may become: `Refused` (with why), or `Storable` with its explicit
 * freshness in seconds (`undefined` when it gives none: the configured TTL is then its
 * heuristic freshness, as RFC 9111 §4.2.2 allows).
 *
 * @internal
 */
export type Verdict =
  | { readonly _tag: "Refused"; readonly reason: string }
  | { readonly _tag: "Storable"; readonly maxAge: number | undefined }

const refused = (reason: string): Verdict => ({ _tag: "Refused", reason })

/**
 * Whether a response may be stored, and for how long at most. The status is left to the
 * caller (`cacheIf`); the rest follows RFC 9111 through `http-cache-semantics`, for a
 * cache shared between callers (a private one when the key is per caller), and is
 * stricter where an application cache must be: a response is stored only when it is
 * storable and fresh without revalidation for a positive time. `no-cache`,
 * `must-revalidate`, and `proxy-revalidate` without explicit freshness, ask for a
 * revalidation this cache never makes: they are not stored. A response that sets a
 * cookie never is.
 *
 * @internal
 */
export const verdict = (request: HttpServerRequest, response: HttpServerResponse, perCaller: boolean): Verdict => {
  const headers = response.headers
  if (!Cookies.isEmpty(response.cookies) || headers["set-cookie"] !== undefined) {
    return refused("the response sets a cookie")
  }
  if (response.status === 206 || response.status === 304) {
    return refused("a partial or not-modified response")
  }
  if ((headers["vary"] ?? "").split(",").some((name) => name.trim() === "*")) {
    return refused("the response varies on everything (Vary: *)")
  }
  const control = directives(headers["cache-control"])
  if (control.has("no-cache") || (headers["cache-control"] === undefined && /no-cache/i.test(headers["pragma"] ?? ""))) {
    return refused("the response asks for a revalidation on every use (no-cache)")
  }
  if ([...control.values()].includes("conflicting")) {
    return refused("its Cache-Control gives one directive conflicting values")
  }
  const shared = !perCaller
  const explicit = control.has("max-age") || (shared && control.has("s-maxage")) || headers["expires"] !== undefined
  if (control.has("must-revalidate")) {
    // RFC 9111 lets a cache reuse it while fresh; http-cache-semantics 4.3, the oracle of
    // the tests, never reuses it without revalidation, which this cache never makes
    return refused("the response must be revalidated (must-revalidate)")
  }
  if (!explicit && control.has("proxy-revalidate")) {
    return refused("the response must be revalidated once stale, and says nothing of when it is")
  }
  // credentials were settled before the request reached the cache: the policy sees none
  const { authorization: _a, cookie: _c, ...requestHeaders } = request.headers
  const policy = new CachePolicy(
    { method: "GET", url: request.url, headers: requestHeaders },
    { status: response.status, headers },
    { shared }
  )
  if (!policy.storable()) {
    return refused("HTTP forbids storing it (its status, Cache-Control, or the request's no-store)")
  }
  if (!explicit) {
    return { _tag: "Storable", maxAge: undefined }
  }
  const ttl = policy.timeToLive()
  return ttl > 0 ? { _tag: "Storable", maxAge: ttl / 1000 } : refused("the response is stale on arrival")
}
