import { Cached, CacheError, KeyConstructor, Ttl } from "@cachefx/core"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Effectable from "effect/Effectable"
import * as FiberRef from "effect/FiberRef"
import { dual } from "effect/Function"
import * as Option from "effect/Option"
import type * as ResponseCache from "../ResponseCache.js"
import { ResponseCacheSettings } from "../ResponseCacheSettings.js"
import * as requestInput from "./requestInput.js"
import * as fields from "./requestKeyField.js"
import { credentialed, credentialHeaders, directives, hasBody, verdict } from "./storable.js"
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

/**
 * A policy whose lifetime is capped by a response's explicit freshness (seconds): no
 * stale window past it, since serving it stale would outlive what the response allows.
 */
const capped = (ttl: Ttl.Ttl, seconds: number): Ttl.Ttl => {
  const cap = Duration.millis(Math.floor(seconds * 1000))
  switch (ttl._tag) {
    case "None":
      return ttl
    case "Forever":
      return Ttl.duration(cap)
    case "Expiring":
      return { ...ttl, fresh: Duration.min(ttl.fresh, cap), stale: Duration.zero }
  }
}

/**
 * The configured policy for a response without explicit freshness that came with an
 * `Age`: that age counts against the configured freshness (RFC 9111 §4.2.3).
 */
const aged = (ttl: Ttl.Ttl, seconds: number): Ttl.Ttl =>
  ttl._tag === "Expiring" && seconds > 0
    ? { ...ttl, fresh: Duration.millis(Math.max(0, Duration.toMillis(ttl.fresh) - seconds * 1000)) }
    : ttl

/** Whether a request's `Cache-Control` (or `Pragma`) asks for a response computed anew. */
const wantsFresh = (request: HttpServerRequest.HttpServerRequest): boolean => {
  // `Pragma: no-cache` counts even beside a `Cache-Control`, as http-cache-semantics reads it
  if (/no-cache/i.test(request.headers["pragma"] ?? "")) {
    return true
  }
  const parsed = directives(request.headers["cache-control"])
  return parsed.has("no-cache") || parsed.get("max-age") === "0"
}

/** Whether a stored response is older than the request's `max-age`, or fresh for less than its `min-fresh`. */
const tooOld = (
  request: HttpServerRequest.HttpServerRequest,
  entry: stored.Stored,
  expiresAt: Option.Option<Date>,
  now: number
): boolean => {
  const parsed = directives(request.headers["cache-control"])
  const seconds = (name: string) => {
    const value = parsed.get(name)
    return typeof value === "string" ? Number(value) : Number.NaN
  }
  const maxAge = seconds("max-age")
  const minFresh = seconds("min-fresh")
  return (Number.isFinite(maxAge) && stored.ageAt(entry, now) > maxAge) ||
    (Number.isFinite(minFresh) && Option.isSome(expiresAt) && expiresAt.value.getTime() - now < minFresh * 1000)
}

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
  const directivesOption = options.requestDirectives ?? "ignore"
  if (directivesOption !== "ignore" && directivesOption !== "honor") {
    throw new CacheError.CacheDefinitionError({
      subject: `ResponseCache "${name}"`,
      reason: `requestDirectives must be "ignore" or "honor", not ${JSON.stringify(directivesOption)}`
    })
  }
  const honor = directivesOption === "honor"
  const perCaller = options.allowPrivate === true || fields.isPerUser(base.fields)
  const privateHeaders = [
    ...new Set([...credentialHeaders, ...(options.privateHeaders ?? []).map((name) => name.trim().toLowerCase())])
  ]
  const bodyLimit = fields.bodyLimit(base.fields)
  const ttl = Ttl.decode(options.ttl ?? Ttl.seconds(3600))
  const ttlOf = (outcome: stored.Outcome): Ttl.Ttl =>
    outcome._tag === "Skipped"
      ? Ttl.none
      : typeof outcome.maxAge === "number"
      ? capped(ttl, outcome.maxAge)
      : outcome.headers["age"] === undefined
      ? ttl
      : aged(ttl, stored.givenAge(outcome.headers))
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
    if (live.request.method === "HEAD") {
      return skip(response, "a response to HEAD never fills an entry: it has no body")
    }
    const judged = verdict(live.request, response, perCaller)
    if (judged._tag === "Refused") {
      return skip(response, judged.reason)
    }
    if (
      judged.maxAge === undefined && ttl._tag === "Expiring" &&
      stored.givenAge(response.headers) * 1000 >= Duration.toMillis(ttl.fresh)
    ) {
      return skip(response, "its Age is past the configured TTL")
    }
    const unseen = varyOf(response).filter((header) => !live.vary.includes(header))
    if (unseen.length > 0) {
      // keys built before the `Vary` was known cannot hold the response; later keys will
      vary = [...new Set([...vary, ...unseen])].sort().slice(0, maxVary)
      return skip(response, `it varies on ${unseen.join(", ")}, which its key did not hold`)
    }
    return Effect.flatMap(Effect.zip(admit(response), Clock.currentTimeMillis), ([admitted, now]) => {
      const form = admitted ? stored.fromResponse(response, judged.maxAge, now) : undefined
      return form !== undefined
        ? Effect.succeed(form)
        : skip(response, admitted ? "its body is a stream" : "cacheIf, cacheUnless or its status refused it")
    })
  }

  const cache = Cached.cached({
    key: KeyConstructor.extend(base, { fields: [fields.origin, fields.path, fields.vary] }),
    name,
    invalidatesOn: options.invalidatesOn,
    ttl: ttlOf
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
      : stored.matches(live.request, outcome)
      ? Effect.succeed(stored.notModified(outcome))
      : typeof outcome.maxAge !== "number"
      ? Effect.succeed(stored.toResponse(outcome))
      : Effect.map(Clock.currentTimeMillis, (now) => stored.toResponseAt(outcome, now))

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

  /**
   * A failure reaches only the request whose app failed: a request that joined another's
   * computation and got its failure runs its own app.
   */
  const ownFailure = (live: requestInput.Live, effect: Effect.Effect<Response, unknown, unknown>) =>
    Effect.catchAllCause(effect, (cause) => live.computed ? Effect.failCause(cause) : bypass(live))

  /** Answers from the cache: honoring the request's `max-age` and `min-fresh` when asked to. */
  const lookup = (input: requestInput.Input, live: requestInput.Live): Effect.Effect<Response, unknown, unknown> => {
    if (honor) {
      return wantsFresh(live.request) ? refresh(input, live) : Effect.flatMap(
        Effect.zip(cache.withStatus(input), Clock.currentTimeMillis),
        ([result, now]) =>
          !live.computed && result.value._tag === "Stored" && tooOld(live.request, result.value, result.expiresAt, now)
            ? refresh(input, live)
            : answer(live, result, result.status)
      )
    }
    return options.headers === true
      ? Effect.flatMap(cache.withStatus(input), (result) => answer(live, result, result.status))
      : Effect.flatMap(cache(input), (outcome) => responseOf(live, outcome))
  }

  /**
   * Whether a request may use the cache at all: not with credentials unless the key is per
   * caller, and not with a body unless the key reads it (within its bound, as text).
   */
  const admitted = (
    input: requestInput.Input,
    live: requestInput.Live,
    use: (input: requestInput.Input, live: requestInput.Live) => Effect.Effect<Response, unknown, unknown>
  ): Effect.Effect<Response, unknown, unknown> => {
    const request = live.request
    if (!perCaller && credentialed(request, privateHeaders)) {
      return bypass(live)
    }
    if (!hasBody(request)) {
      return ownFailure(live, use(input, live))
    }
    const length = Number(request.headers["content-length"])
    if (bodyLimit === undefined || !Number.isSafeInteger(length) || length > bodyLimit) {
      return bypass(live)
    }
    // the platform keeps the text it read, for the handler to read again
    return Effect.matchEffect(request.text, {
      onFailure: () => bypass(live),
      onSuccess: (text) => {
        if (text.includes("\uFFFD")) {
          // not UTF-8: two different bodies could read as one text
          return bypass(live)
        }
        live.body = text
        return ownFailure(live, use(input, live))
      }
    })
  }

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
          return admitted(input, live, refresh)
        case "Default":
          return admitted(input, live, lookup)
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
  const apply = <E, R>(app: Effect.Effect<Response, E, R>) => handle(app)
  return Object.assign(apply, management, { httpApi: apply })
}
