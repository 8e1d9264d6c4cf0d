import { fileURLToPath } from "node:url"
import { contract } from "@cachefx/testkit/BrokerContract"
import { broker } from "./streamBroker.js"

contract(broker, fileURLToPath(new URL("./streamBroker.ts", import.meta.url)))
