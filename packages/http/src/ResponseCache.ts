/**
 * `ResponseCache` caches the responses of `@effect/platform` HTTP handlers: `cached`
 * wraps one handler (a route of an `HttpRouter`), `middleware` a whole router or app.
 * On a hit the handler does not run; the stored status, headers and body are served
 * with an `ETag`, and a request whose `If-None-Match` names it gets `304 Not Modified`.
 *
 * Only `GET` and `HEAD` are cached: a `HEAD` may be answered from a stored `GET`, and
 * never fills an entry. A response is stored only when it is safe for everyone who can
 * get its key and HTTP (RFC 9111, for a shared cache) lets it be reused without
 * revalidation for a positive time: never with `Set-Cookie`, `no-store`, `no-cache`,
 * `must-revalidate`, `max-age=0`, `s-maxage=0`, a past `Expires` or `Vary: *`, never
 * `private` unless the key has a `RequestKeyField.user` partition or `allowPrivate` is
 * set; its own freshness caps the TTL. A request with credentials (`Authorization`,
 * `Cookie`, `Proxy-Authorization`, `X-Api-Key`, `privateHeaders`) or with a body the key
 * does not read is answered by the handler alone unless the key is per caller. Keys hold
 * the path, the host and forwarded host and scheme, and the request headers named by
 * the `Vary` of earlier responses. A status of 400 or more is stored only when `cacheIf`
 * says so; streaming bodies are passed through. Requests share a computation only when
 * they would share its stored response: a failure reaches its own request alone.
 *
 * @since 0.1.0
 */
import type { Cached, CacheError, CacheStore, InvalidationRule, KeyConstructor, Ttl } from "@cachefx/core"
import type * as HttpApp from "@effect/platform/HttpApp"
import type * as HttpRouter from "@effect/platform/HttpRouter"
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import type * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import type * as Effect from "effect/Effect"
import type * as FiberRef from "effect/FiberRef"
import * as internal from "./internal/responseCache.js"

/**
 * How the current request uses the cache: normally (`Default`), not at all (`Bypass`:
 * the handler runs, nothing is read or stored) or recomputing and storing (`Refresh`).
 *
 * @example
 * ```ts
 * import type { ResponseCache } from "@cachefx/http"
 *
 * const mode: ResponseCache.Mode = "Refresh"
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type Mode = "Default" | "Bypass" | "Refresh"

/**
 * The mode of the current request: a per-request switch, `Default` unless set.
 *
 * @example
 * ```ts
 * import { Effect, FiberRef } from "effect"
 * import { ResponseCache } from "@cachefx/http"
 *
 * const mode = FiberRef.get(ResponseCache.currentMode)
 * ```
 *
 * @since 0.1.0
 * @category fiber refs
 */
export const currentMode: FiberRef.FiberRef<Mode> = internal.currentMode

/**
 * Runs an effect (an app, a handler) with the cache mode set.
 *
 * @example
 * ```ts
 * import { HttpServerResponse } from "@effect/platform"
 * import { Effect } from "effect"
 * import { ResponseCache } from "@cachefx/http"
 *
 * const handler = ResponseCache.cached()(HttpServerResponse.text("hello"))
 * const fresh = handler.pipe(ResponseCache.withMode("Refresh"))
 * ```
 *
 * @since 0.1.0
 * @category fiber refs
 */
export const withMode: {
  (mode: Mode): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, mode: Mode): Effect.Effect<A, E, R>
} = internal.withMode

/**
 * The path parameters of a request, as a router gives them.
 *
 * @example
 * ```ts
 * import type { ResponseCache } from "@cachefx/http"
 *
 * const params: ResponseCache.Params = { id: "7" }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type Params = Readonly<Record<string, string | undefined>>

/**
 * A predicate over a response, deciding whether it is stored.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import type { ResponseCache } from "@cachefx/http"
 *
 * const notEmpty: ResponseCache.Predicate = (response) => Effect.succeed(response.status !== 204)
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type Predicate = (response: HttpServerResponse.HttpServerResponse) => Effect.Effect<boolean>

/**
 * The options every response cache takes.
 *
 * @example
 * ```ts
 * import type { ResponseCache } from "@cachefx/http"
 *
 * const options: ResponseCache.BaseOptions<typeof ResponseCache.defaultKey> = { ttl: "5 minutes", headers: true }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface BaseOptions<K extends KeyConstructor.KeyConstructor.Any> {
  /** How keys are built. Default `defaultKey`: path parameters as the partition, the query hashed. */
  readonly key?: K | undefined
  /** How long responses live. Default 3600 seconds. */
  readonly ttl?: Ttl.TtlInput | undefined
  /** Writes that invalidate responses: give `.cache` to `InvalidationEngine.layer` to apply them. */
  readonly invalidatesOn?: ReadonlyArray<InvalidationRule.InvalidationRule> | undefined
  /** Set the status, cached-at and reset-at headers (names from `ResponseCacheSettings`). Default false. */
  readonly headers?: boolean | undefined
  /**
   * Store `Cache-Control: private` responses and responses to requests with credentials
   * although the key has no `RequestKeyField.user` partition: only for responses that
   * do not depend on who asks. Default false.
   */
  readonly allowPrivate?: boolean | undefined
  /**
   * More request headers that carry credentials, besides `Authorization`, `Cookie`,
   * `Proxy-Authorization` and `X-Api-Key` (case-insensitive): a request with any of them
   * is answered by the handler alone, neither read from the cache nor stored, unless the
   * key has a `RequestKeyField.user` partition or `allowPrivate` is set.
   */
  readonly privateHeaders?: ReadonlyArray<string> | undefined
  /**
   * What the request's `Cache-Control` may do. `"ignore"` (the default): nothing but
   * `no-store` (the response is not stored), so that no client can make the handler run
   * again at will. `"honor"`: `no-cache`, `max-age=0` (and `Pragma: no-cache`) recompute
   * and store the response; `max-age=N` and `min-fresh=N` recompute a stored response
   * older, or fresh for less, than they accept.
   */
  readonly requestDirectives?: "ignore" | "honor" | undefined
  /** The cache's name (default: the key's namespace). */
  readonly name?: string | undefined
}

/**
 * Options of `cached` and `middleware`. `cacheIf` (store only when it gives true, whatever
 * the status) and `cacheUnless` (do not store when it gives true) exclude each other;
 * giving both is a type error, and a `CacheDefinitionError` when the cache is made.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import type { ResponseCache } from "@cachefx/http"
 *
 * const options: ResponseCache.Options<typeof ResponseCache.defaultKey> = {
 *   cacheIf: (response) => Effect.succeed(response.status === 200 || response.status === 404)
 * }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type Options<K extends KeyConstructor.KeyConstructor.Any> =
  & BaseOptions<K>
  & (
    | { readonly cacheIf?: Predicate | undefined; readonly cacheUnless?: undefined }
    | { readonly cacheIf?: undefined; readonly cacheUnless?: Predicate | undefined }
  )

/**
 * The management surface of a response cache, for a given request.
 *
 * @example
 * ```ts
 * import { HttpServerRequest, HttpServerResponse } from "@effect/platform"
 * import { ResponseCache } from "@cachefx/http"
 *
 * const page = ResponseCache.cached()(HttpServerResponse.text("page"))
 * const request = HttpServerRequest.fromWeb(new Request("http://localhost/page?lang=en"))
 * const forget = page.delete(request)
 * const wipeAll = page.invalidateAll
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Management<KR> {
  /** The core cached value behind it: give it to `InvalidationEngine.layer({ caches })`. */
  readonly cache: Cached.Cached.Any
  /**
   * Deletes the stored response of a request; with `{ soft: true }`, marks it stale
   * instead (served `STALE` while one refresh runs, when its TTL has a
   * stale-while-revalidate window).
   */
  readonly delete: (
    request: HttpServerRequest.HttpServerRequest,
    params?: Params,
    options?: CacheStore.InvalidateOptions
  ) => Effect.Effect<void, CacheError.CacheError, KR | CacheStore.CacheStore>
  /** Wipes the partition of a request (every variant of its path parameters or user); softly with `{ soft: true }`. */
  readonly deletePartition: (
    request: HttpServerRequest.HttpServerRequest,
    params?: Params,
    options?: CacheStore.InvalidateOptions
  ) => Effect.Effect<void, CacheError.CacheError, KR | CacheStore.CacheStore>
  /** Wipes every stored response of the cache's namespace. */
  readonly invalidateAll: Effect.Effect<void, CacheError.CacheStoreError, CacheStore.CacheStore>
  /** The key of a request. */
  readonly keyFor: (
    request: HttpServerRequest.HttpServerRequest,
    params?: Params
  ) => Effect.Effect<string, CacheError.KeyError, KR>
}

/**
 * A cached handler: an effect to route like the handler it wraps, with the management
 * surface. `bypass` and `refresh` run the handler for a given request, as a router would.
 *
 * @example
 * ```ts
 * import { HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
 * import { ResponseCache } from "@cachefx/http"
 *
 * const user = ResponseCache.cached()(HttpServerResponse.text("user"))
 * const router = HttpRouter.empty.pipe(HttpRouter.get("/users/:id", user))
 * const rewarm = user.refresh(HttpServerRequest.fromWeb(new Request("http://localhost/users/1")), { id: "1" })
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface CachedHandler<E, R, KR>
  extends Effect.Effect<HttpServerResponse.HttpServerResponse, E, R | KR | CacheStore.CacheStore>, Management<KR>
{
  /** Runs the handler without reading or storing. */
  readonly bypass: (
    request: HttpServerRequest.HttpServerRequest,
    params?: Params
  ) => Effect.Effect<HttpServerResponse.HttpServerResponse, E, CachedHandler.Provided<R> | KR | CacheStore.CacheStore>
  /** Runs the handler and stores its response, whatever is stored. */
  readonly refresh: (
    request: HttpServerRequest.HttpServerRequest,
    params?: Params
  ) => Effect.Effect<HttpServerResponse.HttpServerResponse, E, CachedHandler.Provided<R> | KR | CacheStore.CacheStore>
}

/**
 * @since 0.1.0
 */
export declare namespace CachedHandler {
  /**
   * The services a handler needs once the request, its route and its query are given.
   *
   * @example
   * ```ts
   * import type { HttpServerRequest } from "@effect/platform"
   * import type { ResponseCache } from "@cachefx/http"
   *
   * type Left = ResponseCache.CachedHandler.Provided<HttpServerRequest.HttpServerRequest> // never
   * ```
   *
   * @since 0.1.0
   * @category type-level
   */
  export type Provided<R> = Exclude<
    R,
    HttpServerRequest.HttpServerRequest | HttpServerRequest.ParsedSearchParams | HttpRouter.RouteContext
  >
}

/**
 * A caching middleware (`(app) => app`) with the management surface.
 *
 * @example
 * ```ts
 * import { HttpRouter, HttpServerResponse } from "@effect/platform"
 * import { ResponseCache } from "@cachefx/http"
 *
 * const cache: ResponseCache.Middleware<never> = ResponseCache.middleware({ headers: true })
 * const router = HttpRouter.empty.pipe(HttpRouter.get("/", HttpServerResponse.text("home")), HttpRouter.use(cache))
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Middleware<KR> extends Management<KR> {
  <E, R>(
    app: HttpApp.Default<E, R>
  ): HttpApp.Default<E, R | HttpServerRequest.HttpServerRequest | KR | CacheStore.CacheStore>
  /**
   * The same middleware, typed as `HttpApiBuilder.middleware` takes it (with
   * `{ withContext: true }`, since it needs a `CacheStore`): TypeScript cannot infer
   * the services of a generic middleware there.
   */
  readonly httpApi: (
    app: HttpApp.Default
  ) => HttpApp.Default<never, HttpServerRequest.HttpServerRequest | KR | CacheStore.CacheStore>
}

/**
 * The default key: the path parameters (all of them) as the partition, and the query
 * hashed. Every key also holds the request path, so two routes never share an entry,
 * and the `Host`, `X-Forwarded-Host` and `X-Forwarded-Proto` of the request, so two
 * hosts or schemes never do.
 *
 * @example
 * ```ts
 * import { ResponseCache } from "@cachefx/http"
 *
 * console.log(ResponseCache.defaultKey.namespace) // "http"
 * ```
 *
 * @since 0.1.0
 * @category keys
 */
export const defaultKey: KeyConstructor.KeyConstructor<unknown, never, unknown> = internal.defaultKey

/**
 * Caches the responses of one handler.
 *
 * @example
 * ```ts
 * import { HttpRouter, HttpServerResponse } from "@effect/platform"
 * import { InvalidationRule, KeyConstructor } from "@cachefx/core"
 * import { RequestKeyField, ResponseCache } from "@cachefx/http"
 * import { Effect } from "effect"
 *
 * const getUser = ResponseCache.cached({
 *   key: KeyConstructor.make({
 *     namespace: "user",
 *     fields: [RequestKeyField.pathParams(["id"], { partition: true }), RequestKeyField.query("*", { hash: true })]
 *   }),
 *   ttl: "10 minutes",
 *   headers: true,
 *   invalidatesOn: [InvalidationRule.make({ table: "users", fieldMapping: { id: "id" } })]
 * })(Effect.flatMap(HttpRouter.params, (params) => HttpServerResponse.json({ id: params.id })))
 *
 * const router = HttpRouter.empty.pipe(HttpRouter.get("/users/:id", getUser))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const cached: <K extends KeyConstructor.KeyConstructor.Any = typeof defaultKey>(
  options?: Options<K>
) => <E, R>(
  handler: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>
) => CachedHandler<E, R | HttpServerRequest.HttpServerRequest, KeyConstructor.KeyConstructor.Context<K>> =
  internal.cached

/**
 * Caches the responses of every route of a router, or of a whole app.
 *
 * @example
 * ```ts
 * import { HttpApiBuilder, HttpRouter, HttpServerResponse } from "@effect/platform"
 * import { ResponseCache } from "@cachefx/http"
 *
 * const cache = ResponseCache.middleware({ ttl: "1 minute", headers: true })
 *
 * const router = HttpRouter.empty.pipe(
 *   HttpRouter.get("/hello", HttpServerResponse.text("hello")),
 *   HttpRouter.use(cache)
 * )
 *
 * // an HttpApi: the layer needs a CacheStore
 * const ApiCacheLive = HttpApiBuilder.middleware(cache.httpApi, { withContext: true })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const middleware: <K extends KeyConstructor.KeyConstructor.Any = typeof defaultKey>(
  options?: Options<K>
) => Middleware<KeyConstructor.KeyConstructor.Context<K>> = internal.middleware
