import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Cached from "../../Cached.js"
import type { CacheTimeoutError } from "../../CacheError.js"
import * as CacheEntry from "../../CacheEntry.js"
import type * as CacheKey from "../../CacheKey.js"
import type { Settings } from "../../CacheSettings.js"
import type { Service as Store } from "../../CacheStore.js"
import { type Call, type Definition, failOpen } from "./definition.js"
import type { Answer } from "./fill.js"
import { answerOf, computeOnly } from "./read.js"

/**
 * Cache-aside for a batch, given the key of each input (`undefined` for one whose key
 * could not be built, which is computed): the distinct keys read at once, each answered
 * as a single call's read is (hits decoded, stale ones refreshed, misses computed through
 * the single-flight under the guards of this read), concurrently.
 *
 * @internal
 */
export const many = <I, A, E, R>(
  def: Definition<I, A, E, R>,
  store: Store,
  settings: Settings,
  inputs: ReadonlyArray<I>,
  keys: ReadonlyArray<CacheKey.CacheKey | undefined>,
  concurrency: NonNullable<Cached.ManyOptions["concurrency"]>
): Effect.Effect<Array<A>, E | CacheTimeoutError, R> => {
  // one call a distinct key, of the first input that has it
  const calls: Array<Call<I, A, E, R>> = []
  const distinct: Array<CacheKey.CacheKey> = []
  const keyless: Array<I> = []
  const indexOf = new Map<string, number>()
  // the answer each input takes: a distinct key's, or (after them) its own computation's
  const slots = keys.map((key, i) => {
    if (key === undefined) {
      keyless.push(inputs[i]!)
      return -keyless.length
    }
    let index = indexOf.get(key.key)
    if (index === undefined) {
      index = calls.push({ def, store, settings, key, input: inputs[i]! }) - 1
      distinct.push(key)
      indexOf.set(key.key, index)
    }
    return index
  })
  const read = failOpen(def, settings, store.getMany(distinct), distinct.map(() => undefined))
  return Effect.flatMap(read, (lookups) =>
    Effect.clockWith((clock) => {
      const now = clock.unsafeCurrentTimeMillis()
      const answers = new Array<Answer<A>>(distinct.length + keyless.length)
      // fresh entries have nothing to wait for: answered in one pass, not a fiber each
      const fresh: Array<Effect.Effect<void, E | CacheTimeoutError, R>> = []
      const others: Array<Effect.Effect<void, E | CacheTimeoutError, R>> = []
      calls.forEach((call, i) => {
        const found = lookups[i]
        const isFresh = found !== undefined && found.stale !== true && Option.isSome(found.entry) &&
          CacheEntry.stateAt(found.entry.value, now) === "Fresh"
        ;(isFresh ? fresh : others).push(
          Effect.map(answerOf(call, found), (answer) => {
            answers[i] = answer
          })
        )
      })
      keyless.forEach((input, j) =>
        others.push(Effect.map(computeOnly(def, input, "Miss"), (answer) => {
          answers[distinct.length + j] = answer
        }))
      )
      const answered = others.length === 0
        ? Effect.all(fresh, { discard: true })
        : Effect.zip(Effect.all(fresh, { discard: true }), Effect.all(others, { concurrency, discard: true }), {
          concurrent: true
        })
      // inputs of one key after the first get a copy of its value: callers never share a mutable value
      const answeredSlots = new Set<number>()
      return Effect.map(answered, () =>
        slots.map((slot) => {
          const value = answers[slot < 0 ? distinct.length - slot - 1 : slot]!.value
          if (slot < 0 || !answeredSlots.has(slot)) {
            answeredSlots.add(slot)
            return value
          }
          return def.copy(value)
        }))
    }))
}
