/**
 * A small benchmark harness: runs an effect many times in one fiber, several rounds,
 * and reports the median time per operation. Every figure is printed beside its
 * baseline from the same process, as a ratio.
 */
import { Effect } from "effect"
import * as os from "node:os"
import { record } from "./results.js"

/** Median of a list of numbers. */
export const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

/** Nanoseconds per operation of `effect`, repeated `iterations` times, median of `rounds`. */
export const nsPerOp = <E, R>(
  effect: Effect.Effect<unknown, E, R>,
  options: { readonly iterations: number; readonly rounds: number }
): Effect.Effect<number, E, R> =>
  Effect.gen(function*() {
    const loop = Effect.repeatN(effect, options.iterations - 1)
    yield* loop // warm up
    const samples: Array<number> = []
    for (let round = 0; round < options.rounds; round++) {
      const start = process.hrtime.bigint()
      yield* loop
      samples.push(Number(process.hrtime.bigint() - start) / options.iterations)
    }
    return median(samples)
  })

/** Microseconds of one run of `make(round)`, median of `rounds` (each round gets fresh input). */
export const microsPerRun = <E, R>(
  make: (round: number) => Effect.Effect<unknown, E, R>,
  rounds: number
): Effect.Effect<number, E, R> =>
  Effect.gen(function*() {
    yield* make(-1)
    const samples: Array<number> = []
    for (let round = 0; round < rounds; round++) {
      const run = make(round)
      const start = process.hrtime.bigint()
      yield* run
      samples.push(Number(process.hrtime.bigint() - start) / 1_000)
    }
    return median(samples)
  })

/** The machine a figure was measured on. */
export const machine = (): string =>
  `${os.cpus()[0]?.model ?? "unknown cpu"} × ${os.cpus().length}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`

/** Prints a row: a cachefx figure, its baseline, and their ratio (recorded too, see ./results.ts). */
export const report = (
  label: string,
  subject: number,
  baseline: number,
  unit: string,
  baselineName: string,
  target?: string
) => {
  record({ name: label, unit, cachefx: subject, baselineName, baseline, target })
  console.log(
    `${label.padEnd(44)} ${subject.toFixed(0).padStart(8)} ${unit}   ${baselineName}: ${
      baseline.toFixed(0).padStart(8)
    } ${unit}   ratio ${(subject / baseline).toFixed(2)}×${target === undefined ? "" : ` (target ${target})`}`
  )
}

/** Runs `op` in `fibers` concurrent loops for `seconds`; gives operations per second. */
export const opsPerSecond = <E, R>(
  op: Effect.Effect<unknown, E, R>,
  options: { readonly fibers: number; readonly seconds: number }
): Effect.Effect<number, E, R> =>
  Effect.suspend(() => {
    let done = 0
    const end = Date.now() + options.seconds * 1_000
    const loop = Effect.repeat(Effect.tap(op, () => done++), { while: () => Date.now() < end })
    return Effect.map(
      Effect.all(Array.from({ length: options.fibers }, () => loop), { concurrency: "unbounded", discard: true }),
      () => done / options.seconds
    )
  })
