import { Effect, Tracer } from "effect"

/**
 * A tracer that records the names of the spans it starts, and the spans themselves (to
 * read their attributes, parents and exits once ended), and otherwise is Effect's own.
 */
export const recordingTracer = () => {
  const started: Array<string> = []
  const spans: Array<Tracer.Span> = []
  const builtIn = Effect.runSync(Effect.tracer)
  const tracer = Tracer.make({
    span: (name, ...rest) => {
      started.push(name)
      const span = builtIn.span(name, ...rest)
      spans.push(span)
      return span
    },
    context: builtIn.context
  })
  return { started, spans, tracer }
}
