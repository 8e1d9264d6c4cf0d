import { project } from "../../vitest.shared.js"

export default project("proof", { testTimeout: 120_000, hookTimeout: 60_000 })
