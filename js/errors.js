// The errors the package rejects with: an `Error` whose `name` is stable (index.d.ts:
// `LocalRecErrorName`), shared by the page-side LocalRec and its worker.
export function namedError(name, message) {
  const e = new Error(message);
  e.name = name;
  return e;
}
