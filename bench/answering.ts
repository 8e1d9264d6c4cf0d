/**
 * A node-postgres client that answers at once: an update gives one row (`RETURNING`,
 * its author in 0–49 from the row id) or none. Drizzle over it runs without a database,
 * which leaves the CPU of Drizzle, the hooks and the engine alone.
 */
export const answering = {
  query: (query: { readonly text: string }, params: ReadonlyArray<unknown>) =>
    Promise.resolve(
      / returning /.test(query.text)
        ? { command: "UPDATE", rowCount: 1, rows: [{ author_id: Number(params[1]) % 50 }], fields: [] }
        : { command: "UPDATE", rowCount: 1, rows: [], fields: [] }
    )
}
