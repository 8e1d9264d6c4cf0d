/**
 * Machine-readable results: when `BENCH_JSON` names a file, every comparison a benchmark
 * makes (./harness.ts) is appended to it as one line of JSON, besides the printout. The
 * report (bench/report.ts) reads these lines.
 */
import { appendFileSync } from "node:fs"

/** One comparison: the medians of both sides and of their per-round ratio, from one run. */
export interface Figure {
  readonly name: string
  readonly unit: string
  /** The subject's median (mostly cachefx). */
  readonly cachefx: number
  readonly subjectName?: string | undefined
  readonly baselineName: string
  readonly baseline: number
  /** The median of the per-round ratios `subject / baseline`. */
  readonly ratio: number
  readonly ratioMin?: number | undefined
  readonly ratioMax?: number | undefined
  readonly rounds?: number | undefined
  /** The target for the ratio, e.g. "≤ 2×", when there is one. */
  readonly target?: string | undefined
}

/** Appends `figure` to the file of `BENCH_JSON`, if set. */
export const record = (figure: Figure): void => {
  const file = process.env["BENCH_JSON"]
  if (file !== undefined && file !== "") {
    appendFileSync(file, JSON.stringify(figure) + "\n")
  }
}

/** The figures of a file written through `record`. */
export const parseFigures = (text: string): Array<Figure> =>
  text.split("\n").filter((line) => line.trim() !== "").map((line) => JSON.parse(line) as Figure)
