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
  { id: "core", title: "memory store vs Effect Cache, cache-manager, bentocache", script: "core" },
  { id: "entries", title: "memory hit, 1,000 to 1,000,000 entries, vs Effect Cache", script: "entries" },
  { id: "redis", title: "Redis store vs raw ioredis and bentocache L2", script: "redis" },
  { id: "cpu-redis", title: "CPU per Redis operation, client and Redis", script: "redisCpu" },
  { id: "tiers", title: "L1 of two tiers vs memory store and Redis", script: "tiers/hit" },
  { id: "stampede", title: "distributed stampede, 2 processes", script: "tiers/stampede" },
  { id: "many", title: "batch reads, many() vs single calls", script: "many" },
  ...keyCounts.map((keys) => ({
    id: `wipe-${keys}`,
    title: `partition wipe, ${keys.toLocaleString("en-US")} keys loaded`,
    script: "wipe",
    env: { BENCH_KEYS: String(keys) }
  })),
  { id: "bento", title: "partition wipe vs bentocache deleteByTag", script: "bento" },
  { id: "drizzle", title: "Drizzle hooks on PostgreSQL", script: "drizzle" },
  { id: "http", title: "HTTP response cache", script: "http" },
  { id: "sql", title: "SQL store (PostgreSQL UNLOGGED, SQLite) vs Redis store", script: "sql" },
  { id: "cdc", title: "PostgreSQL change stream: write cost and commit-to-invalidation lag", script: "cdc" },
  { id: "dispatch", title: "broker dispatchers vs inline", script: "dispatch" }
]

const only = process.env["BENCH_REPORT_ONLY"]?.split(",").map((id) => id.trim())

/** The runs selected by `BENCH_REPORT_ONLY` (a prefix selects a family: "wipe"), else all. */
export const runs: ReadonlyArray<Run> = only === undefined
  ? all
  : all.filter((run) => only.some((id) => run.id === id || run.id.startsWith(`${id}-`)))
