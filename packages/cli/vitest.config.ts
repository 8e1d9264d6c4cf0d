import { project } from "../../vitest.shared.js"

// each test starts the command in a child process that compiles TypeScript: seconds on a loaded machine
export default project("cli", { testTimeout: 120_000 })
