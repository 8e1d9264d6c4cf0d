import { createRequire } from "node:module"

/**
 * The drizzle-orm releases the hooks are tested on: the package's peer range (a test
 * holds the two equal).
 *
 * @internal
 */
export const testedRange = "^0.45.4"

let read: { readonly version: string | undefined } | undefined

/**
 * The version of the drizzle-orm the hooks load, or undefined when its `drizzle-orm/version`
 * module cannot be read (a release that dropped it). Read only to report an unsupported one.
 *
 * @internal
 */
export const drizzleVersion = (): string | undefined => {
  if (read === undefined) {
    let version: string | undefined
    try {
      const module: unknown = createRequire(import.meta.url)("drizzle-orm/version")
      const npmVersion: unknown = typeof module === "object" && module !== null ? Reflect.get(module, "npmVersion") : undefined
      version = typeof npmVersion === "string" ? npmVersion : undefined
    } catch {
      version = undefined
    }
    read = { version }
  }
  return read.version
}
