import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import { copyJson } from "../src/internal/codec.js"

describe("copyJson", () => {
  it("copies every JSON value into an equal one (same text) that shares no object with it", () =>
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const copy = copyJson(value)
        expect(copy).toStrictEqual(value)
        expect(JSON.stringify(copy)).toBe(JSON.stringify(value))
        const member = (value: unknown, key: string): unknown => (value as Record<string, unknown>)[key]
        const shared = (a: unknown, b: unknown): boolean =>
          typeof a === "object" && a !== null &&
          (a === b || Object.keys(a).some((key) => shared(member(a, key), member(b, key))))
        expect(shared(value, copy)).toBe(false)
      }),
      { numRuns: 500 }
    ))

  it("keeps a __proto__ member an own property and never sets the copy's prototype", () => {
    const value = JSON.parse("{\"__proto__\": {\"polluted\": true}, \"a\": {\"__proto__\": [1]}}")
    const copy = copyJson(value) as { readonly a: object; readonly polluted?: unknown }
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype)
    expect(Object.keys(copy)).toEqual(["__proto__", "a"])
    expect(copy.polluted).toBeUndefined()
    expect(Object.getOwnPropertyDescriptor(copy, "__proto__")?.value).toEqual({ polluted: true })
    expect(Object.getOwnPropertyDescriptor(copy.a, "__proto__")?.value).toEqual([1])
    expect(JSON.stringify(copy)).toBe(JSON.stringify(value))
  })
})
