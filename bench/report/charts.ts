/** Which figures each chart of the report shows. */
import type { Figure } from "../results.js"
import type { Chart } from "./svg.js"

/** A figure and the run that measured it. */
export interface RunFigure extends Figure {
  readonly run: string
  readonly runTitle: string
}

export interface ChartSpec {
  /** The SVG's file name under docs/benchmarks/, without extension. */
  readonly file: string
  readonly title: string
  readonly scale: Chart["scale"]
  readonly select: (figure: RunFigure) => boolean
  /** The label of a group; the figure's name unless given. */
  readonly label?: (figure: RunFigure) => string
  /** Where the method and the analysis of these figures are written, as Markdown links. */
  readonly readMore?: string
}

const dispatchReadMore = "[@cachefx/bullmq, Cost](../packages/bullmq/README.md#cost), " +
  "[@cachefx/pg-boss, Measured](../packages/pg-boss/README.md#measured), " +
  "[@cachefx/rabbitmq, Measured](../packages/rabbitmq/README.md#measured)"

export const charts: ReadonlyArray<ChartSpec> = [
  {
    file: "hit-cost",
    title: "Memory hit cost, 1,000 keys",
    scale: "linear",
    select: (f) => (f.run === "core" || f.run === "tiers") && f.unit === "ns/op",
    readMore: "[README, Performance](../README.md#performance)"
  },
  {
    file: "hit-entries",
    title: "Memory hit as the store grows",
    scale: "linear",
    select: (f) => f.run === "entries" && f.unit === "ns/op"
  },
  {
    file: "redis-hits",
    title: "Redis hit throughput, 50 callers",
    scale: "linear",
    select: (f) => f.run === "redis" && f.unit === "ops/s",
    readMore: "[@cachefx/redis, Benchmark](../packages/redis/README.md#benchmark)"
  },
  {
    file: "redis-latency",
    title: "Redis latency, one caller: hit, and miss + fill",
    scale: "linear",
    select: (f) => f.run === "redis" && f.unit === "µs/op"
  },
  {
    file: "redis-cpu",
    title: "Redis server CPU per operation",
    scale: "linear",
    // the redis run's; cpu-redis measures the same cases in the same unit under the same names
    select: (f) => f.run === "redis" && f.unit === "µs Redis CPU/op"
  },
  {
    file: "partition-wipe",
    title: "Invalidating a partition of 1,000 keys",
    scale: "log",
    select: (f) => f.name.startsWith("partition wipe") || f.name.startsWith("invalidate "),
    readMore: "[@cachefx/redis, Benchmark](../packages/redis/README.md#benchmark)"
  },
  {
    file: "stampede",
    title: "Concurrent misses of one key",
    scale: "linear",
    select: (f) => f.name.includes("concurrent misses") && f.unit === "µs/op" || f.name.startsWith("stampede")
  },
  {
    file: "write-overhead",
    title: "Write overhead: Drizzle hooks vs plain Drizzle",
    scale: "linear",
    select: (f) => f.run === "drizzle" && f.unit === "µs/op",
    readMore: "[@cachefx/drizzle, Cost](../packages/drizzle/README.md#cost)"
  },
  {
    file: "http",
    title: "HTTP requests per second",
    scale: "linear",
    select: (f) => f.unit === "req/s",
    readMore: "[@cachefx/http, Benchmark](../packages/http/README.md#benchmark)"
  },
  {
    file: "dispatch-latency",
    title: "Dispatch: publish latency",
    scale: "log",
    select: (f) => f.run === "dispatch" && f.unit === "µs/op",
    readMore: dispatchReadMore
  },
  {
    file: "dispatch-throughput",
    title: "Dispatch: end-to-end throughput",
    scale: "linear",
    select: (f) => f.run === "dispatch" && f.unit === "ev/s",
    readMore: dispatchReadMore
  }
]

/** The chart of `spec` over `figures`, or nothing when no figure was measured for it. */
export const chartOf = (spec: ChartSpec, figures: ReadonlyArray<RunFigure>): Chart | undefined => {
  const selected = figures.filter(spec.select)
  if (selected.length === 0) {
    return undefined
  }
  return {
    title: spec.title,
    unit: selected[0]!.unit,
    scale: spec.scale,
    groups: selected.map((figure) => ({
      label: spec.label?.(figure) ?? figure.name.trim(),
      subjectName: figure.subjectName ?? "cachefx",
      cachefx: figure.cachefx,
      baselineName: figure.baselineName,
      baseline: figure.baseline
    }))
  }
}
