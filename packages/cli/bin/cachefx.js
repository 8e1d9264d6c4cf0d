#!/usr/bin/env node
// The `cachefx` bin. A file committed in the package, not one under dist/: npm links a
// bin at install time only when its file exists, so a bin in dist/ was never linked
// after `npm ci` in the repository. It runs the compiled command; in a checkout that
// has not been built yet, the TypeScript sources (through tsx, with the workspace's
// export condition, so the other workspace packages load from their sources too).
import { existsSync } from "node:fs"
import { register } from "node:module"

const compiled = new URL("../dist/bin.js", import.meta.url)

if (existsSync(compiled)) {
  await import(compiled.href)
} else {
  const tsx = await import("tsx/esm/api")
  tsx.register()
  register("./sourceCondition.js", import.meta.url)
  await import(new URL("../src/bin.ts", import.meta.url).href)
}
