/**
 * Hostile keys: separators, escape characters, glob characters, unicode (lone
 * surrogates included), prototype-polluting names (`__proto__`, `constructor`) as
 * input values and as input names, and 1 MB strings. Properties over a generated
 * corpus: no two different inputs share a key (injectivity), nothing crashes, and
 * cached calls return each input's own value, on the memory store and on Redis (where
 * a key is bytes: two strings that encode to the same UTF-8 would collide there only).
 */
import { Cached, CacheSettings, CacheStore, KeyConstructor, KeyField } from "@cachefx/core"
import { RedisStore } from "@cachefx/redis"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import fc from "fast-check"
import { Redis } from "ioredis"
import { afterAll } from "vitest"
import { cleanup, report, runs, sharedUrl } from "./support.js"

const hostile = [
  "", " ", ":", "::", "#", "#1", "#~", "%", "%3A", "%25", "%23", "{", "}", "{a}", "*", "?", "[", "]", "[a-z]",
  "\\", "\\:", "\"", "'", "\u0000", "\n", "\r\n", "\t", "~", "__proto__", "constructor", "prototype", "toString",
  "hasOwnProperty", "valueOf", "null", "undefined", "true", "1", "1n", "NaN", "é", "e\u0301", "\u00e9", "😀",
  "\ud83d", "\ude00", "\ud800", "\udbff", "\udfff", "\uffff", "\ufffd", "日本", "\u202e", "a:b", "a%3Ab"
] as const

/** A string built of hostile pieces and arbitrary code units (lone surrogates included). */
const hostileString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...hostile),
  fc.array(fc.oneof(fc.constantFrom(...hostile), fc.string({ unit: "binary", maxLength: 3 })), { maxLength: 4 })
    .map((parts) => parts.join("")),
  fc.string({ unit: "binary-ascii", minLength: 120, maxLength: 140 }),
  fc.string({ unit: "binary", maxLength: 8 })
)

/** An object that really has an own property named `name`, whatever the name (`__proto__` too). */
const own = (entries: ReadonlyArray<readonly [string, unknown]>): Record<string, unknown> => {
  const object: Record<string, unknown> = {}
  for (const [name, value] of entries) {
    Object.defineProperty(object, name, { value, enumerable: true, writable: true, configurable: true })
  }
  return object
}

const valueArb: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { weight: 6, arbitrary: hostileString },
    { weight: 2, arbitrary: fc.integer({ min: -3, max: 3 }) },
    { weight: 1, arbitrary: fc.constantFrom(true, false, null) },
    {
      weight: 1,
      arbitrary: fc.array(tie("value"), { maxLength: 3 })
    },
    {
      weight: 1,
      arbitrary: fc.uniqueArray(fc.tuple(hostileString, tie("value")), { maxLength: 3, selector: ([name]) => name })
        .map(own)
    }
  )
})).value

/** An input: a `name` and a `tag` the key reads one by one, and hostile input names read by `args("*")`. */
const inputArb = fc.tuple(
  valueArb,
  valueArb,
  fc.uniqueArray(fc.tuple(hostileString.filter((name) => name !== "name" && name !== "tag"), valueArb), {
    maxLength: 3,
    selector: ([name]) => name
  })
).map(([name, tag, rest]) => own([["name", name], ["tag", tag], ...rest]))

/**
 * What tells two inputs apart: a canonical form with types (strings JSON-escaped, so
 * lone surrogates stay distinct; objects by sorted own names).
 */
const fingerprint = (value: unknown): string => {
  if (typeof value === "string") return "s" + JSON.stringify(value)
  if (typeof value === "number") return "n" + String(value)
  if (typeof value === "boolean" || value === null) return String(value)
  if (Array.isArray(value)) return "[" + value.map(fingerprint).join(",") + "]"
  const object = value as Record<string, unknown>
  return "{" + Object.keys(object).sort().map((name) => JSON.stringify(name) + ":" + fingerprint(object[name])).join(",") + "}"
}

/** What a key of `NameKey` reads. */
const nameOnly = (input: Record<string, unknown>) => fingerprint(input["name"])

const Key = KeyConstructor.make({
  namespace: "hostile",
  fields: [KeyField.arg("name", { partition: true }), KeyField.arg("tag"), KeyField.args("*")]
})
const ProtoKey = KeyConstructor.make({
  namespace: "proto",
  fields: [KeyField.arg("__proto__", { partition: true }), KeyField.arg("constructor")]
})

/** Only one slice, the name: nothing else tells two keys apart. */
const NameKey = KeyConstructor.make({ namespace: "named", fields: [KeyField.arg("name")] })

type Input = Record<string, unknown>

const makeCached = (key: typeof Key | typeof NameKey = Key) => {
  let calls = 0
  const fn = Cached.cached({ key, ttl: "1 minute" })((input: Input) => Effect.sync(() => {
    calls++
    return fingerprint(input)
  }))
  return { fn, calls: () => calls }
}

const prefix = `proof-hostile-${process.pid}`
const redis = new Redis(sharedUrl)
afterAll(async () => {
  await cleanup(prefix)
  await redis.quit()
})

const stores = [
  { name: "memory", layer: (_run: number) => CacheStore.layerMemory({ capacity: 10_000 }) },
  {
    name: "Redis",
    layer: (run: number) =>
      RedisStore.layer({ client: redis }).pipe(
        Layer.provideMerge(CacheSettings.layer({ keyPrefix: `${prefix}-${run}`, operationTimeout: "5 seconds" }))
      )
  }
] as const

describe("hostile keys", () => {
  it(`keys are injective over a generated corpus of hostile inputs, and never crash (${runs} runs)`, async () => {
    const counts = { runs: 0, inputs: 0, keys: 0 }
    await fc.assert(
      fc.asyncProperty(fc.array(inputArb, { minLength: 2, maxLength: 12 }), async (inputs) => {
        for (const [key, print] of [[Key, fingerprint], [NameKey, nameOnly]] as const) {
          const { fn } = makeCached(key)
          const seen = new Map<string, string>()
          for (const input of inputs) {
            // compared as the bytes a store such as Redis keeps (UTF-8), not as JavaScript strings
            const bytes = Buffer.from(await Effect.runPromise(fn.keyFor(input as never)), "utf8").toString("hex")
            const other = seen.get(bytes)
            if (other !== undefined && other !== print(input)) {
              throw new Error(`two inputs share the key ${bytes}:\n${other}\n${print(input)}`)
            }
            seen.set(bytes, print(input))
            counts.inputs++
          }
          counts.keys += seen.size
        }
        counts.runs++
      }),
      { numRuns: runs }
    )
    report("hostile/injective", counts)
  }, 300_000)

  it.each(stores)("cached calls return each input's own value on the $name store", async (store) => {
    const counts = { runs: 0, inputs: 0, hits: 0 }
    let run = 0
    await fc.assert(
      fc.asyncProperty(fc.array(inputArb, { minLength: 2, maxLength: 10 }), async (inputs) => {
        const program = Effect.gen(function*() {
          // every slice of the input, and the name alone (nothing else to tell keys apart)
          for (const [{ calls, fn }, print] of [[makeCached(Key), fingerprint], [makeCached(NameKey), nameOnly]] as const) {
            const distinct = new Set(inputs.map(print)).size
            // the first input of each key computes the value every later one reads
            const values = new Map<string, string>()
            for (const input of inputs) if (!values.has(print(input))) values.set(print(input), fingerprint(input))
            for (const input of inputs) {
              expect(yield* fn(input as never)).toBe(values.get(print(input)))
            }
            for (const input of inputs) {
              const result = yield* fn.withStatus(input as never)
              expect(result.value).toBe(values.get(print(input)))
              if (result.status === "Hit") counts.hits++
            }
            // each distinct input computed once: no entry was lost or shared
            expect(calls()).toBe(distinct)
            counts.inputs += inputs.length
          }
        })
        await Effect.runPromise(program.pipe(Effect.provide(store.layer(run++))))
        counts.runs++
      }),
      { numRuns: runs }
    )
    report(`hostile/${store.name}`, counts)
  }, 300_000)

  it.each(stores)("`__proto__` and `constructor` as input names, and 1 MB strings, on the $name store", async (store) => {
    const program = Effect.gen(function*() {
      let calls = 0
      // inputs are any record here: hostile names are not known to the type checker
      const proto = Cached.cached({ key: ProtoKey, ttl: "1 minute" })((input: any) => Effect.sync(() => {
        calls++
        return fingerprint(input)
      }))
      const inputs: ReadonlyArray<Input> = [
        own([["__proto__", "a"], ["constructor", "b"]]),
        own([["__proto__", "a"], ["constructor", "c"]]),
        own([["__proto__", { polluted: true }], ["constructor", "b"]]),
        own([["__proto__", "__proto__"], ["constructor", "constructor"]]),
        own([["__proto__", null], ["constructor", null]]),
        JSON.parse("{\"__proto__\":{\"polluted\":1},\"constructor\":{\"prototype\":{\"polluted\":1}}}") as Input
      ]
      for (const input of inputs) expect(yield* proto(input as never)).toBe(fingerprint(input))
      for (const input of inputs) expect(yield* proto(input as never)).toBe(fingerprint(input))
      expect(calls).toBe(inputs.length)
      expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined()

      // strings UTF-8 cannot tell apart: every lone surrogate encodes to U+FFFD
      const lone: ReadonlyArray<Input> = ["\ud800", "\udbff", "\udfff", "\ufffd", "a\ud800", "a\udc00"].map((name) =>
        own([["name", name], ["tag", name]])
      )
      let loneCalls = 0
      const loneFn = Cached.cached({ key: NameKey, ttl: "1 minute" })((input: any) => Effect.sync(() => {
        loneCalls++
        return fingerprint(input)
      }))
      for (const input of lone) expect(yield* loneFn(input as never)).toBe(fingerprint(input))
      for (const input of lone) expect(yield* loneFn(input as never)).toBe(fingerprint(input))
      expect(loneCalls).toBe(lone.length)

      const mega = "x".repeat(1024 * 1024)
      const big: ReadonlyArray<Input> = [
        own([["name", mega], ["tag", 1]]),
        own([["name", mega + "y"], ["tag", 1]]),
        own([["name", "y" + mega], ["tag", 1]]),
        own([["name", mega.slice(1) + ":"], ["tag", 1]]),
        own([["name", "a"], ["tag", mega]]),
        own([["name", "a"], ["tag", mega], [mega, mega]])
      ]
      const { calls: bigCalls, fn } = makeCached()
      const keys = new Set<string>()
      for (const input of big) {
        const key = yield* fn.keyFor(input)
        expect(key.length).toBeLessThan(300)
        keys.add(key)
        expect(yield* fn(input)).toBe(fingerprint(input))
      }
      expect(keys.size).toBe(big.length)
      for (const input of big) expect((yield* fn.withStatus(input)).value).toBe(fingerprint(input))
      expect(bigCalls()).toBe(big.length)
    })
    await Effect.runPromise(program.pipe(Effect.provide(store.layer(-1))))
  }, 60_000)
})
