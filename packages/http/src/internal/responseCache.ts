import { Cached, CacheError, KeyConstructor, Ttl } from "@cachefx/core"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Effectable from "effect/Effectable"
import * as FiberRef from "effect/FiberRef"
import { dual } from "effect/Function"
import * as Option from "effect/Option"
import type * as ResponseCache from "../ResponseCache.js"
import { ResponseCacheSettings } from "../ResponseCacheSettings.js"
import * as requestInput from "./requestInput.js"
import * as fields from "./requestKeyField.js"
import { refusal } from "./storable.js"
import * as stored from "./storedResponse.js"

type Response = HttpServerResponse.HttpServerResponse

/** @internal */
export const currentMode: FiberRef.FiberRef<ResponseCache.Mode> = FiberRef.unsafeMake<ResponseCache.Mode>("Default")

/** @internal */
export const withMode = dual<
  (mode: ResponseCache.Mode) => <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>,
  <A, E, R>(self: Effect.Effect<A, E, R>, mode: ResponseCache.Mode) => Effect.Effect<A, E, R>
>(2, (self, mode) => Effect.locally(self, currentMode, mode))

/** @internal */
export const defaultKey = KeyConstructor.make({
  namespace: "http",
  fields: [fields.pathParams("*", { partition: true }), fields.query("*", { hash: true })]
})

/** Most request headers a cache learns from `Vary`: a bound on how finely keys split. */
const maxVary = 16

const noApp: Effect.Effect<never> = Effect.dieMessage(
  "cachefx/http: a response is computed only for a request; rewarming a response cache is not supported"
)

const varyOf = (response: Response): ReadonlyArray<string> =>
  (response.headers["vary"] ?? "").split(",").map((name) => name.trim().toLowerCase()).filter((name) => name !== "")

const isCacheable = (method: string) => method === "GET" || method === "HEAD"

/** The cache behind `cached` and `middleware`: one core cached value over every app it wraps. */
const make = (options: ResponseCache.Options<KeyConstructor.KeyConstructor.Any>) => {
  const base = options.key ?? defaultKey
  const name = options.name ?? base.namespace
  if (options.cacheIf !== undefined && options.cacheUnless !== undefined) {
    throw new CacheError.CacheDefinitionError({
      subject: `ResponseCache "${name}"`,
      reason: "cacheIf and cacheUnless exclude each other; give one of them"
    })
  }
  const perCaller = options.allowPrivate === true || fields.isPerUser(base.fields)
  const ttl = Ttl.decode(options.ttl ?? Ttl.seconds(3600))
  // request headers named by the `Vary` of responses seen so far, in key order
  let vary: ReadonlyArray<string> = []

  const admit = (response: Response): Effect.Effect<boolean> =>
    options.cacheIf !== undefined
      ? options.cacheIf(response)
      : response.status >= 400
      ? Effect.succeed(false)
      : options.cacheUnless === undefined
      ? Effect.succeed(true)
      : Effect.map(options.cacheUnless(response), (skip) => !skip)

  const skip = (response: Response, reason: string): Effect.Effect<stored.Outcome> =>
    Effect.as(
      Effect.logDebug("cachefx: response not stored").pipe(Effect.annotateLogs({ cache: name, reason })),
      { _tag: "Skipped", response }
    )

  const decide = (live: requestInput.Live, response: Response): Effect.Effect<stored.Outcome> => {
    const refused = refusal(live.request, response, perCaller)
    if (refused !== undefined) {
      return skip(response, refused)
    }
    const unseen = varyOf(response).filter((header) => !live.vary.includes(header))
    if (unseen.length > 0) {
      // keys built before the `Vary` was known cannot hold the response; later keys will
      vary = [...new Set([...vary, ...unseen])].sort().slice(0, maxVary)
      return skip(response, `it varies on ${unseen.join(", ")}, which its key did not hold`)
    }
    return Effect.flatMap(admit(response), (admitted) => {
      const form = admitted ? stored.fromResponse(response) : undefined
      return form !== undefined
        ? Effect.succeed(form)
        : skip(response, admitted ? "its body is a stream" : "cacheIf, cacheUnless or its status refused it")
    })
  }

  const cache = Cached.cached({
    key: KeyConstructor.extend(base, { fields: [fields.path, fields.vary] }),
    name,
    invalidatesOn: options.invalidatesOn,
    ttl: (outcome: stored.Outcome) => outcome._tag === "Stored" ? ttl : Ttl.none
  })((input: requestInput.Input): Effect.Effect<stored.Outcome, unknown, unknown> => {
    const live = requestInput.liveOf(input)
    if (live === undefined) {
      return noApp
    }
    live.computed = true
    return Effect.flatMap(live.app, (response) => decide(live, response))
  })

  const label = (status: Cached.CacheStatus) => status.toUpperCase()

  /** The response to serve for an outcome: the stored one (or a 304), or the request's own. */
  const responseOf = (live: requestInput.Live, outcome: stored.Outcome): Effect.Effect<Response, unknown, unknown> =>
    outcome._tag === "Skipped"
      // a response that is not stored is served only to the request that made it
      ? (live.computed ? Effect.succeed(outcome.response) : live.app)
      : Effect.succeed(stored.matches(live.request, outcome) ? stored.notModified(outcome) : stored.toResponse(outcome))

  /** The response to serve, with the cache headers when asked. */
  const answer = (
    live: requestInput.Live,
    result: Cached.CacheResult<stored.Outcome>,
    status: Cached.CacheStatus
  ): Effect.Effect<Response, unknown, unknown> => {
    const outcome = result.value
    const response = responseOf(live, outcome)
    if (options.headers !== true) {
      return response
    }
    return Effect.zipWith(response, ResponseCacheSettings, (response, settings) => {
      const headers: Record<string, string> = {
        [settings.statusHeader]: outcome._tag === "Skipped" ? "BYPASS" : label(status)
      }
      if (outcome._tag === "Stored") {
        Option.map(result.cachedAt, (at) => headers[settings.cachedAtHeader] = at.toISOString())
        Option.map(result.expiresAt, (at) => headers[settings.resetAtHeader] = at.toISOString())
      }
      return HttpServerResponse.setHeaders(response, headers)
    })
  }

  const bypass = (live: requestInput.Live) =>
    Effect.flatMap(live.app, (response) => {
      live.computed = true
      return answer(live, {
        value: { _tag: "Skipped", response },
        status: "Bypass",
        cachedAt: Option.none(),
        expiresAt: Option.none()
      }, "Bypass")
    })

  const refresh = (input: requestInput.Input, live: requestInput.Live) =>
    cache.delete(input).pipe(
      Effect.catchAll((error) => Effect.logDebug("cachefx: refresh could not delete the stored response", error.message)),
      Effect.zipRight(cache.withStatus(input)),
      Effect.flatMap((result) => answer(live, result, "Refresh"))
    )

  // the app reaches the cache through the input, which erases its types: they are restored here
  const handle = <E, R>(app: Effect.Effect<Response, E, R>): Effect.Effect<Response, E, R | HttpServerRequest.HttpServerRequest> =>
    Effect.withFiberRuntime((fiber): Effect.Effect<Response, unknown, unknown> => {
      const context = fiber.getFiberRef(FiberRef.currentContext)
      const request = Context.unsafeGet(context, HttpServerRequest.HttpServerRequest)
      if (!isCacheable(request.method)) {
        return app
      }
      const route = Context.getOption(context, HttpRouter.RouteContext)
      const input = requestInput.make(request, Option.isSome(route) ? route.value.params : {}, vary, app)
      const live = requestInput.liveOf(input)!
      switch (fiber.getFiberRef(currentMode)) {
        case "Bypass":
          return bypass(live)
        case "Refresh":
          return refresh(input, live)
        case "Default":
          return options.headers === true
            ? Effect.flatMap(cache.withStatus(input), (result) => answer(live, result, result.status))
            : Effect.flatMap(cache(input), (outcome) => responseOf(live, outcome))
      }
    }) as Effect.Effect<Response, E, R | HttpServerRequest.HttpServerRequest>

  const inputFor = (request: HttpServerRequest.HttpServerRequest, params: ResponseCache.Params = {}) =>
    requestInput.make(request, params, vary, noApp)

  const management: ResponseCache.Management<any> = {
    cache,
    delete: (request, params, options) => cache.delete(inputFor(request, params), options),
    deletePartition: (request, params, options) => cache.deletePartition(inputFor(request, params), options),
    invalidateAll: cache.invalidateAll,
    keyFor: (request, params) => cache.keyFor(inputFor(request, params))
  }
  return { handle, management }
}

/** Runs a handler for a given request, with what a router would provide. */
const asRouted = <E, R>(
  handler: Effect.Effect<Response, E, R>,
  request: HttpServerRequest.HttpServerRequest,
  params: ResponseCache.Params = {}
) =>
  handler.pipe(
    Effect.provideService(HttpServerRequest.HttpServerRequest, request),
    Effect.provideService(
      HttpServerRequest.ParsedSearchParams,
      HttpServerRequest.searchParamsFromURL(new URL(request.originalUrl, "http://localhost"))
    ),
    Effect.provideService(HttpRouter.RouteContext, {
      [HttpRouter.RouteContextTypeId]: HttpRouter.RouteContextTypeId,
      params,
      route: HttpRouter.makeRoute("GET", "*", handler)
    })
  )

class CachedHandlerImpl<E, R> extends Effectable.Class<Response, E, R> {
  readonly cache: Cached.Cached.Any
  readonly delete: ResponseCache.Management<any>["delete"]
  readonly deletePartition: ResponseCache.Management<any>["deletePartition"]
  readonly invalidateAll: ResponseCache.Management<any>["invalidateAll"]
  readonly keyFor: ResponseCache.Management<any>["keyFor"]
  constructor(readonly handled: Effect.Effect<Response, E, R>, management: ResponseCache.Management<any>) {
    super()
    this.cache = management.cache
    this.delete = management.delete
    this.deletePartition = management.deletePartition
    this.invalidateAll = management.invalidateAll
    this.keyFor = management.keyFor
  }
  commit(): Effect.Effect<Response, E, R> {
    return this.handled
  }
  bypass(request: HttpServerRequest.HttpServerRequest, params?: ResponseCache.Params) {
    return asRouted(withMode(this.handled, "Bypass"), request, params)
  }
  refresh(request: HttpServerRequest.HttpServerRequest, params?: ResponseCache.Params) {
    return asRouted(withMode(this.handled, "Refresh"), request, params)
  }
}

/** @internal */
export const cached = (options: ResponseCache.Options<KeyConstructor.KeyConstructor.Any> = {}) => {
  const { handle, management } = make(options)
  return <E, R>(handler: Effect.Effect<Response, E, R>): ResponseCache.CachedHandler<E, any, any> =>
    new CachedHandlerImpl(handle(handler), management)
}

/** @internal */
export const middleware = (options: ResponseCache.Options<KeyConstructor.KeyConstructor.Any> = {}): ResponseCache.Middleware<any> => {
  const { handle, management } = make(options)
  return Object.assign(<E, R>(app: Effect.Effect<Response, E, R>) => handle(app), management)
}
