import { ResponseCache } from "@cachefx/http"
import { describe, expect, it } from "@effect/vitest"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect } from "effect"
import * as stored from "../src/internal/storedResponse.js"
import { counter, get, serve, served, ServerLive, statusOf } from "./support.js"

/** The stored form of a text response. */
const storedText = (body: string, options: { readonly status?: number; readonly headers?: Record<string, string> } = {}) =>
  stored.fromResponse(HttpServerResponse.text(body, options), undefined, 0)!

/** What a store read gives: a copy of the stored value (the memory store copies it, Redis parses it). */
const read = (value: stored.Stored): stored.Stored => JSON.parse(JSON.stringify(value))

const bodyOf = (response: HttpServerResponse.HttpServerResponse) =>
  response.body._tag === "Uint8Array" ? Buffer.from(response.body.body).toString() : undefined

describe("a hit serves the response rebuilt for an equal stored value", () => {
  it("a copy of a stored value gets the response built for the first read, not one of its own", () => {
    const value = storedText("rebuilt once", { headers: { "x-app": "1" } })
    const first = stored.toResponse(read(value))
    expect(stored.toResponse(read(value))).toBe(first)
    expect([bodyOf(first), first.headers["x-app"], first.headers["etag"]]).toEqual(["rebuilt once", "1", value.etag])
  })

  it("a stored value is frozen, headers too: a store in this process hands it to every hit as it is, and no hit can change it", () => {
    const value = storedText("shared by every hit", { headers: { "x-app": "1" } })
    expect([Object.isFrozen(value), Object.isFrozen(value.headers)]).toEqual([true, true])
    expect(() => {
      ;(value.headers as Record<string, string>)["x-app"] = "2"
    }).toThrow(TypeError)
    expect(stored.toResponse(value)).toBe(stored.toResponse(value))
  })

  it("a stored value with the same entity tag and another body, status or header gets a response of its own", () => {
    const etag = { etag: "\"given by the handler\"" }
    const a = stored.toResponse(read(storedText("first body", { headers: etag })))
    const body = stored.toResponse(read(storedText("second body", { headers: etag })))
    const status = stored.toResponse(read(storedText("second body", { status: 203, headers: etag })))
    const header = stored.toResponse(read(storedText("second body", { status: 203, headers: { ...etag, "x-app": "2" } })))
    const fewer = stored.toResponse(read(storedText("second body", { status: 203, headers: etag })))
    expect([bodyOf(a), bodyOf(body), status.status, header.headers["x-app"], fewer.headers["x-app"]])
      .toEqual(["first body", "second body", 203, "2", undefined])
    expect(new Set([a, body, status, header, fewer]).size).toBe(5)
  })

  it("past 1,024 responses the oldest is rebuilt on its next hit, with the same content", () => {
    const oldest = storedText("the oldest of many")
    const response = stored.toResponse(read(oldest))
    for (let i = 0; i < 1024; i++) {
      stored.toResponse(storedText(`filler ${i}`))
    }
    const again = stored.toResponse(read(oldest))
    expect(again).not.toBe(response)
    expect([bodyOf(again), again.headers["etag"]]).toEqual(["the oldest of many", oldest.etag])
  })

  it("a body of more than 1 MiB is not kept: it is decoded on every hit", () => {
    const large = storedText("x".repeat(1024 * 1024 + 1))
    const first = stored.toResponse(read(large))
    const second = stored.toResponse(read(large))
    // compared by identity: a matcher would walk both megabyte responses
    expect(second === first).toBe(false)
    expect(bodyOf(second) === bodyOf(first)).toBe(true)
  })

  it.scoped("a handler that keeps its ETag while its body changes: after a delete, hits serve the new body", () =>
    Effect.gen(function*() {
      const calls = counter()
      const handler = ResponseCache.cached({ headers: true })(
        Effect.sync(() => HttpServerResponse.text(`version ${calls.next()}`, { headers: { etag: "\"v\"" } }))
      )
      yield* serve(HttpRouter.empty.pipe(HttpRouter.get("/page", handler)))
      yield* get("/page")
      expect((yield* get("/page")).body).toBe("version 1")
      yield* handler.delete(yield* served("/page"))
      expect((yield* get("/page")).body).toBe("version 2")
      const hit = yield* get("/page")
      expect([statusOf(hit), hit.body, hit.headers["etag"]]).toEqual(["HIT", "version 2", "\"v\""])
    }).pipe(Effect.provide(ServerLive)))
})

describe("the key of a request", () => {
  const handler = ResponseCache.cached()(HttpServerResponse.text("unused"))
  const keyOf = (headers: Record<string, string>, params: ResponseCache.Params = {}) =>
    handler.keyFor(HttpServerRequest.fromWeb(new Request("http://h.example/p", { headers })), params)

  it.effect("the forwarded host and scheme, when given, keep keys apart from the host alone", () =>
    Effect.gen(function*() {
      const keys = [
        yield* keyOf({}),
        yield* keyOf({ "x-forwarded-host": "h.example" }),
        yield* keyOf({ "x-forwarded-proto": "http" }),
        yield* keyOf({ "x-forwarded-host": "h.example", "x-forwarded-proto": "http" }),
        yield* keyOf({ host: "[\"h.example\",\"h.example\",null]" }),
        yield* keyOf({ host: "#[\"h.example\",\"h.example\",null]" })
      ]
      expect(new Set(keys).size).toBe(keys.length)
      expect(yield* keyOf({})).toBe(keys[0])
    }))

  it.effect("a path parameter named __proto__ is in the key, and one named $request does not replace the request", () =>
    Effect.gen(function*() {
      const a = yield* keyOf({}, JSON.parse("{\"__proto__\":\"a\"}"))
      const b = yield* keyOf({}, JSON.parse("{\"__proto__\":\"b\"}"))
      expect(a).not.toBe(b)
      expect(yield* keyOf({}, { $request: "not the request" })).toBe(yield* keyOf({}))
    }))
})
