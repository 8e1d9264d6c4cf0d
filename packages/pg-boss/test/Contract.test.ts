import { contract } from "@cachefx/testkit/BrokerContract"
import { fileURLToPath } from "node:url"
import { broker } from "./pgBossBroker.js"

contract(broker, fileURLToPath(new URL("./pgBossBroker.ts", import.meta.url)))
