// A module resolution hook (node:module `register`) for a checkout that has not been
// built: resolves the workspace packages under their private `@cachefx/source` export
// condition, i.e. from their TypeScript sources.
export const resolve = (specifier, context, nextResolve) =>
  nextResolve(specifier, { ...context, conditions: [...context.conditions, "@cachefx/source"] })
