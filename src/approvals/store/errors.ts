/** Store failures with stable snake_case codes (they double as log/metric reason labels). */
export type StoreErrorCode = 'invalid_cursor' | 'schema_too_new' | 'migration_failed' | 'store_closed' | 'store_unavailable';

export class StoreError extends Error {
  override readonly name = 'StoreError';
  constructor(readonly code: StoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * Opaque page cursors: base64url of a JSON array of the sort key of the last item returned.
 * Opaque so a backend can change its key without breaking the API contract.
 */
export function encodeCursor(key: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

/** Decode a cursor made by {@link encodeCursor} whose key has the given element types. */
export function decodeCursor<T extends readonly ('string' | 'number')[]>(
  cursor: string,
  types: T,
): { [K in keyof T]: T[K] extends 'string' ? string : number } {
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch (err) {
    throw new StoreError('invalid_cursor', 'cursor is not one this store issued', { cause: err });
  }
  const ok = Array.isArray(key) && key.length === types.length && key.every((k, i) => typeof k === types[i]);
  if (!ok) throw new StoreError('invalid_cursor', 'cursor is not one this store issued');
  return key as { [K in keyof T]: T[K] extends 'string' ? string : number };
}
