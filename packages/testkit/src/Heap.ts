/**
 * The heap a test measures: in use after full collections (`gc`, exposed at run time),
 * so that what is left is what something still holds.
 */
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"

setFlagsFromString("--expose-gc")
const gc = runInNewContext("gc") as () => void

/** The heap in use, in bytes, after two full collections. */
export const heapUsed = (): number => {
  gc()
  gc()
  return process.memoryUsage().heapUsed
}
