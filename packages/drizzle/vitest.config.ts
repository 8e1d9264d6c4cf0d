import { project } from "../../vitest.shared.js"

export default project("drizzle", { hookTimeout: 30_000 })
