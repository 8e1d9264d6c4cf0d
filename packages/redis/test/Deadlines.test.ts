import { describe, expect, it } from "@effect/vitest"
import { Deadlines, type Pending } from "../src/internal/deadlines.js"

class Call implements Pending {
  settled = false
  expiredAt: number | undefined = undefined
  readonly deadline: number
  constructor(private readonly deadlines: Deadlines, private readonly started = performance.now()) {
    this.deadline = deadlines.deadline()
  }
  answer() {
    this.settled = true
    this.deadlines.settle()
  }
  expire() {
    this.expiredAt = performance.now() - this.started
    this.answer()
  }
}

const sleep = (millis: number) => new Promise((resolve) => setTimeout(resolve, millis))

describe("Deadlines", () => {
  it("expires every call still pending at its timeout, and no call that answered", async () => {
    const deadlines = new Deadlines(50)
    const calls: Array<Call> = []
    for (let round = 0; round < 4; round++) {
      for (let n = 0; n < 100; n++) {
        const call = new Call(deadlines)
        deadlines.watch(call)
        calls.push(call)
        if (n % 3 !== 0) {
          call.answer()
        }
      }
      await sleep(20)
    }
    await sleep(120)
    for (const [index, call] of calls.entries()) {
      if ((index % 100) % 3 === 0) {
        expect(call.expiredAt).toBeGreaterThanOrEqual(50)
        expect(call.expiredAt).toBeLessThan(150)
      } else {
        expect(call.expiredAt).toBeUndefined()
      }
    }
  })

  it("keeps no timer once no call is pending, and arms one again for the next", async () => {
    const deadlines = new Deadlines(30)
    const first = new Call(deadlines)
    deadlines.watch(first)
    first.answer()
    await sleep(60)
    expect(first.expiredAt).toBeUndefined()
    const second = new Call(deadlines)
    deadlines.watch(second)
    await sleep(80)
    expect(second.expiredAt).toBeGreaterThanOrEqual(30)
  })
})
