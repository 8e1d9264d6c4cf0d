/**
 * A worker process of the broker contract: `brokerWorker.ts <broker module> <namespace>`
 * runs the broker's worker over the contract's engine until it is killed.
 */
import { Effect, Layer } from "effect"
import { type Broker, engine } from "./BrokerFixture.js"

const [module, ns] = process.argv.slice(2) as [string, string]
const { broker } = (await import(module)) as { readonly broker: Broker }

Effect.runFork(Layer.launch(broker.worker(ns).pipe(Layer.provide(engine(broker, ns)))))
