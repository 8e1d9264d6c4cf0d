import { contract } from "@cachefx/testkit/BrokerContract"
import { fileURLToPath } from "node:url"
import { broker } from "./rabbitMQBroker.js"

contract(broker, fileURLToPath(new URL("./rabbitMQBroker.ts", import.meta.url)))
