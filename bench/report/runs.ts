/**
 * The benchmark runs of the report: each a bench/<script>.ts run as a child process with
 * `BENCH_JSON` set. Knobs: `BENCH_REPORT_ONLY` (comma-separated run ids) and
 * `BENCH_REPORT_KEYS` (comma-separated key counts of the partition wipe runs).
 */
export interface Run {
  readonly id: string
  readonly title: string
  readonly script: string
  readonly env?: Readonly<Record<string, string>>
}

const keyCounts = (process.env["BENCH_REPORT_KEYS"] ?? "10000,100000,1000000").split(",").map(Number)

const all: ReadonlyArray<Run> = [
  { id: "core", title: "core: memory store vs Effect Cache", script: "core" },
  ...keyCounts.map((keys) => ({
    id: `redis-${keys}`,
    title: `Redis store, ${keys.toLocaleString("en-US")} keys loaded`,
    script: "redis",
    env: { BENCH_KEYS: String(keys) }
  })),
  { id: "bento", title: "cachefx vs bentocache", script: "bento" },
  { id: "drizzle", title: "Drizzle hooks on PostgreSQL", script: "drizzle" },
  { id: "http", title: "HTTP response cache", script: "http" },
  { id: "dispatch", title: "broker dispatchers vs inline", script: "dispatch" }
]

const only = process.env["BENCH_REPORT_ONLY"]?.split(",").map((id) => id.trim())

/** The runs selected by `BENCH_REPORT_ONLY` (a prefix selects a family: "redis"), else all. */
export const runs: ReadonlyArray<Run> = only === undefined
  ? all
  : all.filter((run) => only.some((id) => run.id === id || run.id.startsWith(`${id}-`)))
