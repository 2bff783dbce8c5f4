/** A plain JSON object (not null, not an array): the first check on any JSON read from disk. */
export const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
