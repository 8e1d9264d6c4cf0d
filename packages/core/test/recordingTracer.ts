import { Effect, Tracer } from "effect"

/** A tracer that records the names of the spans it starts, and otherwise is Effect's own. */
export const recordingTracer = () => {
  const started: Array<string> = []
  const builtIn = Effect.runSync(Effect.tracer)
  const tracer = Tracer.make({
    span: (name, ...rest) => {
      started.push(name)
      return builtIn.span(name, ...rest)
    },
    context: builtIn.context
  })
  return { started, tracer }
}
