/**
 * Fills the bench:report blocks of every README (./report/readmes.ts) from the figures
 * the last `npm run bench:report` saved in docs/benchmarks/figures.json, without running
 * a benchmark: for a block added or moved since that run.
 *
 * Run: npm run bench:readmes
 */
import { load, writeReadmes } from "./report/readmes.js"

const root = new URL("..", import.meta.url).pathname
const { figures, from } = load(`${root}docs/benchmarks/figures.json`)
const written = writeReadmes(root, figures, from)
console.log(`filled ${written.length} READMEs from the report of ${from.startedAt.toISOString()}: ${written.join(", ")}`)
