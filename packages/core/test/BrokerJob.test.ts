import { describe, expect, it } from "@effect/vitest"
import { BrokerJob, type Dispatcher, InvalidationEvent } from "@cachefx/core"
import { Effect, Option, Schema } from "effect"

const job = (rows: number, before?: number): Dispatcher.Job => ({
  cache: "posts",
  rule: "posts(author=author_id)",
  event: InvalidationEvent.make({
    table: "posts",
    operation: "update",
    rows: Array.from({ length: rows }, (_, id) => ({ id, author_id: 2 })),
    before: before === undefined ? undefined : Array.from({ length: before }, (_, id) => ({ id, author_id: 1 })),
    changed: ["author_id"]
  })
})

describe("BrokerJob.fanOut", () => {
  it("keeps a job within the threshold, and a job without rows, whole", () => {
    expect(BrokerJob.fanOut(job(3), 3)).toEqual([job(3)])
    expect(BrokerJob.fanOut(job(0), 1)).toEqual([job(0)])
  })

  it("splits rows and the rows before them alike, keeping the rest of the event", () => {
    const parts = BrokerJob.fanOut(job(5, 5), 2)
    expect(parts.map((part) => part.event.rows.map((row) => row.id))).toEqual([[0, 1], [2, 3], [4]])
    expect(parts.map((part) => Option.map(part.event.before, (rows) => rows.map((row) => row.id)))).toEqual(
      [[0, 1], [2, 3], [4]].map(Option.some)
    )
    expect(parts.every((part) => Option.isSome(part.event.changed) && part.rule === "posts(author=author_id)")).toBe(true)
  })

  it("counts the rows before a write when there are more of them", () => {
    expect(BrokerJob.fanOut(job(0, 3), 2).map((part) => Option.getOrThrow(part.event.before).length)).toEqual([2, 1])
  })

  it("each part crosses the wire", () => {
    for (const part of BrokerJob.fanOut(job(4, 4), 3)) {
      expect(Schema.decodeSync(BrokerJob.Wire)(Schema.encodeSync(BrokerJob.Wire)(part))).toEqual(part)
    }
  })
})

describe("BrokerJob.deadLetterCount", () => {
  it("is the count asked for, or 100", () => {
    expect(BrokerJob.deadLetterCount({ queue: "users", count: 7 })).toBe(7)
    expect(BrokerJob.deadLetterCount({})).toBe(100)
  })

  it("refuses a count that is not a whole number of at least 1, naming the call", () => {
    for (const count of [0, -1, 1.5, Number.NaN]) {
      expect(() => BrokerJob.deadLetterCount({ count }, "MyDispatcher.deadLetters")).toThrow(
        `MyDispatcher.deadLetters: count must be a whole number of at least 1, got ${count}`
      )
    }
  })
})

describe("BrokerJob.attempt", () => {
  it.effect("a call that rejects fails with a BrokerError naming the broker and the call, with the client's message", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(BrokerJob.attempt("RabbitMQ", "connect", () => Promise.reject(new Error("ECONNREFUSED"))))
      expect(error).toEqual(new BrokerJob.BrokerError({ operation: "RabbitMQ: connect", reason: "ECONNREFUSED" }))
      expect(error.message).toBe("RabbitMQ: connect: ECONNREFUSED")
      expect(yield* BrokerJob.attempt("RabbitMQ", "ping", () => Promise.resolve("PONG"))).toBe("PONG")
      expect(BrokerJob.failure("pg-boss", "start", "refused").reason).toBe("refused")
    }))
})
