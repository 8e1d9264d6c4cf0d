import { describe, expect, it } from "@effect/vitest"
import { CacheError, CacheSettings, KeyConstructor, KeyField } from "@cachefx/core"
import { Context, Effect, Either } from "effect"
import * as fc from "fast-check"

const Users = KeyConstructor.make({
  namespace: "users",
  fields: [KeyField.arg("view"), KeyField.arg("userId", { partition: true })]
})

const keyOf = <I>(constructor: KeyConstructor.KeyConstructor<I>, input: I) =>
  Effect.runSync(Effect.map(KeyConstructor.keyFor(constructor, input), (key) => key.key))

/** A key value: what inputs of cached functions hold. */
const value: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.string({ unit: "grapheme" }),
    fc.constantFrom(":", "%", "#", "%3A", "#~", "#!", "a:b", "", "*", "{x}", "__proto__", "constructor"),
    fc.double(),
    fc.integer(),
    fc.bigInt(),
    fc.boolean(),
    fc.constant(null),
    fc.constant(undefined),
    fc.date(),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(fc.string(), tie("value"), { maxKeys: 4 })
  )
})).value

/** Equality of key values as keys see them: -0 is 0, undefined properties are absent. */
const same = (a: unknown, b: unknown): boolean => {
  if (typeof a === "number" && typeof b === "number") return Object.is(a + 0, b + 0) || (a === b)
  if (a instanceof Date && b instanceof Date) return Object.is(a.getTime(), b.getTime())
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((item, i) => same(item, b[i]))
  if (
    typeof a === "object" && a !== null && typeof b === "object" && b !== null && !Array.isArray(a) &&
    !Array.isArray(b) && !(a instanceof Date) && !(b instanceof Date)
  ) {
    const ra = a as Readonly<Record<string, unknown>>
    const rb = b as Readonly<Record<string, unknown>>
    const keys = (o: Readonly<Record<string, unknown>>) => Object.keys(o).filter((k) => o[k] !== undefined).sort()
    const ka = keys(ra)
    const kb = keys(rb)
    return ka.length === kb.length && ka.every((k, i) => k === kb[i] && same(ra[k], rb[k]))
  }
  return Object.is(a, b)
}

describe("KeyConstructor", () => {
  it("builds <prefix>:<namespace>:<version>:<partition>:<suffix>, partition fields first", () => {
    expect(keyOf(Users, { userId: 42, view: "full" })).toBe("cachefx:users:1:#42:full")
  })

  it("keeps strings and other values apart: 1 and \"1\", null and \"null\"", () => {
    const Single = KeyConstructor.make({ namespace: "s", fields: [KeyField.arg("v")] })
    const keys = [1, "1", null, "null", true, "true", undefined, "undefined", 1n, "1n"].map((v) =>
      keyOf(Single, { v })
    )
    expect(new Set(keys).size).toBe(keys.length)
  })

  it("escapes the separator, the escape character and the type marker", () => {
    const Pair = KeyConstructor.make({ namespace: "p", fields: [KeyField.arg("a"), KeyField.arg("b")] })
    expect(keyOf(Pair, { a: "x:y", b: "z" })).not.toBe(keyOf(Pair, { a: "x", b: "y:z" }))
    expect(keyOf(Pair, { a: "%3A", b: "" })).not.toBe(keyOf(Pair, { a: ":", b: "" }))
    expect(keyOf(Pair, { a: "#1", b: "" })).not.toBe(keyOf(Pair, { a: 1, b: "" }))
  })

  it("a string slice is the string with every %, : and # percent-encoded, wherever they fall (property)", () => {
    const Host = KeyConstructor.make({ namespace: "host", fields: [KeyField.arg("host")] })
    const text = fc.string({ unit: fc.constantFrom("%", ":", "#", "a", "1", ".", "é"), maxLength: 40 })
    fc.assert(
      fc.property(text, (host) => {
        const encoded = host.replace(/%/g, "%25").replace(/:/g, "%3A").replace(/#/g, "%23")
        expect(keyOf(Host, { host })).toBe(`cachefx:host:1:${encoded}`)
      }),
      { numRuns: 2_000 }
    )
    expect(keyOf(Host, { host: "127.0.0.1:8080" })).toBe("cachefx:host:1:127.0.0.1%3A8080")
  })

  it("hashes on request and when a slice is long, into 128 bits", () => {
    const Hashed = KeyConstructor.make({ namespace: "h", fields: [KeyField.arg("q", { hash: true })] })
    expect(keyOf(Hashed, { q: "python" })).toMatch(/^cachefx:h:1:#~[A-Za-z0-9_-]{22}$/)
    const Plain = KeyConstructor.make({ namespace: "h", fields: [KeyField.arg("q")] })
    const long = keyOf(Plain, { q: "x".repeat(1_000_000) })
    expect(long.length).toBeLessThan(60)
    expect(long).not.toBe(keyOf(Plain, { q: "x".repeat(999_999) }))
  })

  it("encodes objects canonically: key order does not matter", () => {
    const All = KeyConstructor.make({ namespace: "all", fields: [KeyField.args("*")] })
    expect(keyOf(All, { b: 1, a: [1, { d: 2, c: 3 }] })).toBe(keyOf(All, { a: [1, { c: 3, d: 2 }], b: 1 }))
  })

  it("is deterministic and injective over arbitrary values (property)", () => {
    const Single = KeyConstructor.make({ namespace: "prop", fields: [KeyField.arg("v", { partition: true })] })
    fc.assert(
      fc.property(value, value, (a, b) => {
        const ka = keyOf(Single, { v: a })
        expect(keyOf(Single, { v: structuredClone(a) })).toBe(ka)
        expect(ka === keyOf(Single, { v: b })).toBe(same(a, b))
      }),
      { numRuns: 2_000 }
    )
  })

  it("keeps every key of a partition under the partition's prefix (property)", () => {
    const Posts = KeyConstructor.make({
      namespace: "posts",
      fields: [KeyField.arg("author", { partition: true }), KeyField.arg("page")]
    })
    fc.assert(
      fc.property(value, value, (author, page) => {
        const key = Effect.runSync(KeyConstructor.keyFor(Posts, { author, page }))
        const scope = Effect.runSync(KeyConstructor.partitionFor(Posts, { author }))
        expect(key.partition).toBe(scope.partition)
        expect(key.key.startsWith(scope.partition + ":")).toBe(true)
      }),
      { numRuns: 500 }
    )
  })

  it("fails with a KeyError naming the field for a value without canonical form", () => {
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    for (const bad of [() => 1, Symbol("s"), cyclic]) {
      const result = Effect.runSync(Effect.either(KeyConstructor.keyFor(Users, { userId: bad, view: "v" })))
      expect(Either.isLeft(result)).toBe(true)
      const error = (result as Either.Left<CacheError.KeyError, unknown>).left
      expect(error._tag).toBe("KeyError")
      expect(error.message).toMatch(/field "userId"/)
    }
  })

  it("fails with a KeyError when an input the key reads is missing at run time", () => {
    const result = Effect.runSync(Effect.either(KeyConstructor.keyFor(Users, { view: "full" } as never)))
    expect(Either.isLeft(result) && result.left.message).toBe(
      `Cannot build a key of namespace "users": field "userId" reads the input "userId", which the input does not have`
    )
    expect(keyOf(Users, { userId: undefined, view: "full" })).toBe("cachefx:users:1:#undefined:full")
  })

  it("rejects reserved characters in namespaces, versions and prefixes, and duplicate fields", () => {
    expect(() => KeyConstructor.make({ namespace: "a:b" })).toThrow(/reserve/)
    expect(() => KeyConstructor.make({ namespace: "a", version: "{1}" })).toThrow(CacheError.CacheDefinitionError)
    expect(() => KeyConstructor.make({ namespace: "" })).toThrow(/empty/)
    expect(() => CacheSettings.make({ keyPrefix: "app*" })).toThrow(/keyPrefix/)
    expect(() => KeyConstructor.make({ namespace: "d", fields: [KeyField.arg("a"), KeyField.arg("a")] })).toThrow(
      /two fields are named "a"/
    )
  })

  it("extends a base: adds fields, replaces same-named ones, changes the version", () => {
    const Paged = KeyConstructor.extend(Users, { version: 2, fields: [KeyField.arg("page"), KeyField.constant("view", "x")] })
    expect(keyOf(Paged, { userId: 1, view: "ignored", page: 3 })).toBe("cachefx:users:2:#1:x:#3")
  })

  it.effect("reads services in custom fields and uses the settings' prefix", () => {
    class Tenant extends Context.Tag("Tenant")<Tenant, string>() {}
    const Scoped = KeyConstructor.make({
      namespace: "docs",
      fields: [KeyField.make({ name: "tenant", partition: true, read: () => Tenant }), KeyField.arg("id")]
    })
    return Effect.gen(function*() {
      const key = yield* KeyConstructor.keyFor(Scoped, { id: "a" })
      expect(key.key).toBe("shop:docs:1:acme:a")
    }).pipe(Effect.provideService(Tenant, "acme"), Effect.provide(CacheSettings.layer({ keyPrefix: "shop" })))
  })

  it("builds keys of synchronous custom fields, wrapping what they throw in a KeyError", () => {
    const Daily = KeyConstructor.make({
      namespace: "daily",
      fields: [
        KeyField.makeSync({
          name: "day",
          inputs: ["at"],
          partition: true,
          read: (input: { readonly at: Date }) => input.at.toISOString().slice(0, 10)
        })
      ]
    })
    expect(keyOf(Daily, { at: new Date(Date.UTC(2026, 0, 2, 15)) })).toBe("cachefx:daily:1:2026-01-02")
    const failed = Effect.runSync(Effect.either(KeyConstructor.keyFor(Daily, { at: new Date(Number.NaN) })))
    expect(Either.isLeft(failed) && failed.left.message).toMatch(/field "day" could not be read: RangeError/)
  })

  it("makes a missing input a compile error", () => {
    const check = (f: (k: typeof Users) => void) => f
    check((k) => {
      // @ts-expect-error: the input lacks userId
      KeyConstructor.keyFor(k, { view: "full" })
    })
  })
})
