/**
 * Machine-readable results: when `BENCH_JSON` names a file, every figure a benchmark
 * reports is appended to it as one line of JSON, besides the printout. The report
 * (bench/report.ts) reads these lines.
 */
import { appendFileSync } from "node:fs"

/** One cachefx figure beside its baseline, measured in the same run. */
export interface Figure {
  readonly name: string
  readonly unit: string
  readonly cachefx: number
  readonly baselineName: string
  readonly baseline: number
  /** `cachefx / baseline`. */
  readonly ratio: number
  /** The target for the ratio, e.g. "≤ 2×", when there is one. */
  readonly target?: string | undefined
}

/** Appends `figure` to the file of `BENCH_JSON`, if set. */
export const record = (figure: Omit<Figure, "ratio">): void => {
  const file = process.env["BENCH_JSON"]
  if (file !== undefined && file !== "") {
    appendFileSync(file, JSON.stringify({ ...figure, ratio: figure.cachefx / figure.baseline }) + "\n")
  }
}

/** The figures of a file written through `record`. */
export const parseFigures = (text: string): Array<Figure> =>
  text.split("\n").filter((line) => line.trim() !== "").map((line) => JSON.parse(line) as Figure)
