import { project } from "../../vitest.shared.js"

// each test starts a real server: on a loaded machine the first takes seconds
export default project("http", { testTimeout: 30_000 })
