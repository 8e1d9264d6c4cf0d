/**
 * An oracle comparison: random sequences of requests from several callers (random
 * `Authorization`, `Cookie`, `X-Api-Key`, host, method, `Accept-Language`, request
 * `Cache-Control`, time between them) against a handler whose responses have random
 * directives, `Expires`, status and `Vary`. Whenever cachefx answers a request with a
 * response produced for another request (from its store, or a computation it joined):
 *
 * - http-cache-semantics (`shared: true`), given the request and response that produced
 *   it, says the new request is satisfied without revalidation at that time;
 * - it was produced for the same credentials (none, with the default options);
 * - it was produced by a `GET` (a `HEAD` never fills).
 *
 * Two readings the oracle makes, both from RFC 9111: a response without explicit
 * freshness gets the configured TTL as its heuristic freshness (§4.2.2; the library
 * derives one only from `Last-Modified`), written here as `s-maxage`; and a `HEAD` may be
 * answered from a stored `GET` (§4; the library matches methods exactly), so a `HEAD` is
 * checked as a `GET`. With `requestDirectives: "ignore"` the request's `Cache-Control`
 * and `Pragma` are left out, as the cache leaves them out.
 *
 * The handler runs in process (no sockets), so 2,000 sequences take seconds.
 */
import { CacheStore } from "@cachefx/core"
import { ResponseCache } from "@cachefx/http"
import { describe, expect, it } from "@effect/vitest"
import { HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Clock, Effect } from "effect"
import fc from "fast-check"
import CachePolicy from "http-cache-semantics"

/** The oracle's clock: http-cache-semantics reads it through `now()`. */
let oracleNow = 0

class PolicyAt extends CachePolicy {
  now(): number {
    return oracleNow
  }
}

const ttlSeconds = 10

/** How many answers came from the store, over all runs: the property must exercise it. */
let answeredFromStore = 0

/** A clock moved by hand (TestClock yields to the event loop on every move: too slow for 2,000 runs). */
const manualClock = () => {
  let millis = 0
  const clock: Clock.Clock = {
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    unsafeCurrentTimeMillis: () => millis,
    currentTimeMillis: Effect.sync(() => millis),
    unsafeCurrentTimeNanos: () => BigInt(millis) * 1_000_000n,
    currentTimeNanos: Effect.sync(() => BigInt(millis) * 1_000_000n),
    sleep: () => Effect.never
  }
  return { clock, advance: (by: number) => millis += by }
}

const credentials = [
  {},
  { authorization: "Bearer alice" },
  { authorization: "Bearer bob" },
  { cookie: "session=alice" },
  { "x-api-key": "alice-key" },
  { "x-api-key": "bob-key" },
  { "proxy-authorization": "Basic alice" }
] as const

/** A caller: who it is (its credentials), where it calls, in which language. */
const callerArb = fc.record({
  credentials: fc.oneof(
    { weight: 3, arbitrary: fc.constant({}) },
    { weight: 1, arbitrary: fc.constantFrom(...credentials) }
  ),
  host: fc.constantFrom("a.example", "a.example", "b.example"),
  language: fc.constantFrom(undefined, undefined, "en", "fr")
})

const requestArb = fc.record({
  caller: fc.nat(),
  method: fc.constantFrom("GET", "GET", "GET", "GET", "HEAD"),
  path: fc.constantFrom("/r", "/r", "/r?page=2"),
  control: fc.oneof(
    { weight: 4, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.constantFrom("no-cache", "max-age=0", "max-age=3", "min-fresh=5", "no-store") }
  ),
  pragma: fc.constantFrom(undefined, undefined, undefined, "no-cache"),
  /** Milliseconds of the clock before it is sent. */
  wait: fc.constantFrom(0, 0, 0, 0, 500, 500, 1000, 1999, 2000, 2999, 3000, 4000, 9999, 10000, 12000)
})

/** Mostly absent, sometimes one of `values`. */
const rarely = <A>(...values: ReadonlyArray<A>): fc.Arbitrary<A | undefined> =>
  fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom(...values) })

const responseArb = fc.record({
  status: fc.oneof({ weight: 6, arbitrary: fc.constant(200) }, { weight: 3, arbitrary: fc.constantFrom(203, 301, 404, 500) }),
  control: fc.oneof(
    {
      weight: 3,
      arbitrary: fc.constantFrom(
        undefined,
        undefined,
        "max-age=3",
        "public, max-age=4",
        "s-maxage=2, max-age=100",
        "MAX-AGE=4",
        "public"
      )
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        "no-cache",
        "max-age=0",
        "s-maxage=0, max-age=60",
        "must-revalidate",
        "must-revalidate, max-age=2",
        "proxy-revalidate",
        "proxy-revalidate, max-age=5",
        "private",
        "private, max-age=60",
        "no-store",
        "max-age=5, max-age=50",
        "no-cache=\"set-cookie\", max-age=5"
      )
    }
  ),
  /** Seconds from the response's `Date` to its `Expires`, or none. */
  expires: rarely(-10, 0, 3, 30),
  age: rarely("2", "60"),
  vary: rarely("Accept-Language", "*", "accept-language, *", "X-Api-Key")
})

type CallerSpec = typeof callerArb extends fc.Arbitrary<infer A> ? A : never
type RequestSpec = typeof requestArb extends fc.Arbitrary<infer A> ? A : never
type ResponseSpec = typeof responseArb extends fc.Arbitrary<infer A> ? A : never

const headersOf = (caller: CallerSpec, spec: RequestSpec): Record<string, string> => {
  const headers: Record<string, string> = { host: caller.host, ...caller.credentials }
  if (caller.language !== undefined) headers["accept-language"] = caller.language
  if (spec.control !== undefined) headers["cache-control"] = spec.control
  if (spec.pragma !== undefined) headers["pragma"] = spec.pragma
  return headers
}

const credentialOf = (headers: Readonly<Record<string, string | undefined>>) =>
  JSON.stringify(["authorization", "cookie", "x-api-key", "proxy-authorization"].map((name) => headers[name] ?? null))

/** What the handler produced: for which request, at what time, with which headers. */
interface Produced {
  readonly index: number
  readonly method: string
  readonly url: string
  readonly requestHeaders: Record<string, string>
  readonly status: number
  readonly responseHeaders: Record<string, string>
  readonly at: number
}

/** The response headers as the oracle reads them: the configured TTL as heuristic freshness. */
const withHeuristic = (headers: Record<string, string>): Record<string, string> => {
  const control = (headers["cache-control"] ?? "").toLowerCase()
  const explicit = /max-age|s-maxage/.test(control) || headers["expires"] !== undefined
  return explicit
    ? headers
    : { ...headers, "cache-control": [headers["cache-control"], `s-maxage=${ttlSeconds}`].filter(Boolean).join(", ") }
}

const bodyOf = (response: HttpServerResponse.HttpServerResponse): string =>
  response.body._tag === "Uint8Array" ? new TextDecoder().decode(response.body.body) : ""

const run = (
  callers: ReadonlyArray<CallerSpec>,
  requests: ReadonlyArray<RequestSpec>,
  responses: ReadonlyArray<ResponseSpec>,
  directives: "ignore" | "honor",
  storeErrors: boolean
) => {
  const time = manualClock()
  return Effect.gen(function*() {
    const produced = new Map<string, Produced>()
    let current = 0
    let runs = 0
    const handler = ResponseCache.cached({
      headers: true,
      ttl: `${ttlSeconds} seconds`,
      requestDirectives: directives,
      ...(storeErrors ? { cacheIf: () => Effect.succeed(true) } : {})
    })(Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const spec = responses[runs % responses.length]!
        const id = `#${runs++}`
        const headers: Record<string, string> = { date: new Date(now).toUTCString() }
        if (spec.control !== undefined) headers["cache-control"] = spec.control
        if (spec.expires !== undefined) {
          headers["expires"] = new Date(Math.floor(now / 1000) * 1000 + spec.expires * 1000).toUTCString()
        }
        if (spec.age !== undefined) headers["age"] = spec.age
        if (spec.vary !== undefined) headers["vary"] = spec.vary
        produced.set(id, {
          index: current,
          method: request.method,
          url: requests[current]!.path,
          requestHeaders: { ...request.headers },
          status: spec.status,
          responseHeaders: headers,
          at: now
        })
        return HttpServerResponse.text(id, { status: spec.status, headers })
      })))
    for (const [index, spec] of requests.entries()) {
      current = index
      time.advance(spec.wait)
      const caller = callers[spec.caller % callers.length]!
      const headers = headersOf(caller, spec)
      const request = HttpServerRequest.fromWeb(new Request(`http://${caller.host}${spec.path}`, { method: spec.method, headers }))
      const response = yield* Effect.provideService(handler, HttpServerRequest.HttpServerRequest, request)
      const source = produced.get(bodyOf(response))
      if (source === undefined) {
        throw new Error(`request ${index} got a body no handler produced: ${bodyOf(response)}`)
      }
      if (source.index === index) {
        continue
      }
      // answered with a response produced for another request
      answeredFromStore++
      const context = `request ${index} (${spec.method} ${spec.path} ${JSON.stringify(headers)}) got the response to request ${source.index} ` +
        `(${source.method} ${JSON.stringify(source.requestHeaders)} → ${source.status} ${JSON.stringify(source.responseHeaders)})`
      expect(source.method, context).toBe("GET")
      expect(credentialOf(headers), context).toBe(credentialOf(source.requestHeaders))
      oracleNow = source.at
      const policy = new PolicyAt(
        { method: "GET", url: source.url, headers: source.requestHeaders },
        { status: source.status, headers: withHeuristic(source.responseHeaders) },
        { shared: true }
      )
      oracleNow = time.clock.unsafeCurrentTimeMillis()
      const asked = { ...headers }
      if (directives === "ignore") {
        delete asked["cache-control"]
        delete asked["pragma"]
      }
      expect(policy.satisfiesWithoutRevalidation({ method: "GET", url: spec.path, headers: asked }), context).toBe(true)
    }
    // the memory store reads the clock it was built with: build it under the hand-moved one
  }).pipe(Effect.provide(CacheStore.layerMemory()), Effect.withClock(time.clock))
}

describe("ResponseCache against an oracle (http-cache-semantics, shared)", () => {
  it("no answer from the store that HTTP would not give, and no body across credentials", { timeout: 300_000 }, async () => {
    let runs = 0
    await fc.assert(
      fc.asyncProperty(
        fc.array(callerArb, { minLength: 1, maxLength: 4 }),
        fc.array(requestArb, { minLength: 2, maxLength: 12 }),
        fc.array(responseArb, { minLength: 1, maxLength: 3 }),
        fc.constantFrom("ignore" as const, "honor" as const),
        fc.boolean(),
        async (callers, requests, responses, directives, storeErrors) => {
          await Effect.runPromise(run(callers, requests, responses, directives, storeErrors))
          runs++
        }
      ),
      { numRuns: 2000 }
    )
    expect(runs).toBe(2000)
    // about 1,000 in a run: the property exercises the store, not only the handler
    expect(answeredFromStore).toBeGreaterThan(500)
  })
})
