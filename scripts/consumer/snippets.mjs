// Writes the consumer project's programs: each README snippet the consumer test runs,
// between what the snippet leaves to its reader (`<name>.before.ts`: a database read,
// a table) and what runs and checks it (`<name>.after.ts`). The snippets are read from
// the READMEs at every run, so a README that changes is what gets tested.
// Usage: node snippets.mjs <repository root> <output directory>
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"

const snippets = [
  { name: "quick-start", readme: "README.md", heading: "## Quick start" },
  { name: "redis", readme: "packages/redis/README.md", heading: "## Use" },
  { name: "drizzle", readme: "packages/drizzle/README.md", heading: "# @cachefx/drizzle" },
  { name: "http", readme: "packages/http/README.md", heading: "# @cachefx/http" }
]

const [root, out] = process.argv.slice(2)
const here = new URL(".", import.meta.url)

/** The first ```ts block under a heading, before the next heading. */
const snippetUnder = (markdown, heading) => {
  const lines = markdown.split("\n")
  const start = lines.indexOf(heading)
  if (start === -1) return undefined
  const block = []
  let inside = false
  for (const line of lines.slice(start + 1)) {
    if (!inside && line.startsWith("#")) return undefined
    if (!inside && line.trim() === "```ts") inside = true
    else if (inside && line.trim() === "```") return block.join("\n")
    else if (inside) block.push(line)
  }
  return undefined
}

const part = (file) => existsSync(new URL(file, here)) ? readFileSync(new URL(file, here), "utf8") : ""

mkdirSync(out, { recursive: true })
for (const { heading, name, readme } of snippets) {
  const snippet = snippetUnder(readFileSync(join(root, readme), "utf8"), heading)
  if (snippet === undefined) {
    console.error(`${readme}: no \`\`\`ts block under "${heading}"`)
    process.exit(1)
  }
  writeFileSync(
    join(out, `${name}.ts`),
    [part(`${name}.before.ts`), `// ---- ${readme}, "${heading}" ----`, snippet, "// ----", part(`${name}.after.ts`)].join("\n")
  )
  console.log(`${name}.ts: ${readme} "${heading}", ${snippet.split("\n").length} lines`)
}
