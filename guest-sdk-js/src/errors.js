// The errors a store operation throws: one class per case of the WIT's `error`.

/**
 * Why a store operation failed: the base of one class per kind.
 *
 * The host never traps a guest because of a store error; it reports one of
 * the kinds below, and the SDK throws it as that class:
 *
 * ```js
 * try {
 *   store.putIfAbsent('lock', 'me');
 * } catch (e) {
 *   if (!(e instanceof Conflict)) throw e;
 *   // someone else holds the lock
 * }
 * ```
 */
export class KvError extends Error {
  /**
   * @param {string} summary what the kind is, the start of `message`
   * @param {string} [detail] the host's explanation, if the kind carries one
   */
  constructor(summary, detail = '') {
    super(detail ? `${summary}: ${detail}` : summary);
    this.name = new.target.name;
    /** The host's explanation (empty for the kinds that carry none). */
    this.detail = detail;
  }

  /** Whether the operation may succeed if tried again later (`Unavailable`). */
  get retryable() {
    return false;
  }
}

/** The ID was granted to this guest but no such store is running. */
export class NoSuchStore extends KvError {
  constructor() {
    super('no such store is running');
  }
}

/**
 * The guest was not granted this store (or this operation on it). Also
 * thrown for IDs that name no store at all, so a guest cannot probe which
 * stores exist.
 */
export class AccessDenied extends KvError {
  constructor() {
    super('access denied');
  }
}

/** A new key was refused because the store holds its maximum number of live entries. */
export class StoreFull extends KvError {
  constructor() {
    super('store full');
  }
}

/**
 * A malformed request: an empty or over-long key, a bad cursor, a bad TTL.
 * The SDK throws it too, before asking the host, for a TTL that is not a
 * whole number of milliseconds above zero.
 */
export class InvalidArgument extends KvError {
  /** @param {string} detail */
  constructor(detail) {
    super('invalid argument', detail);
  }
}

/** A value or result over the store's size limit; the detail names the limit. */
export class TooLarge extends KvError {
  /** @param {string} detail */
  constructor(detail) {
    super('too large', detail);
  }
}

/** A conditional write lost: the version did not match, or the key was already present. */
export class Conflict extends KvError {
  constructor() {
    super('conflict: the condition of the write did not hold');
  }
}

/** The backend cannot serve now (database down, store stopping); it may be retried. */
export class Unavailable extends KvError {
  /** @param {string} detail */
  constructor(detail) {
    super('store unavailable', detail);
  }

  get retryable() {
    return true;
  }
}

/** Anything else, described by the host. */
export class Other extends KvError {
  /** @param {string} detail */
  constructor(detail) {
    super('store error', detail);
  }
}

/** @type {Record<string, (detail: string) => KvError>} */
const KINDS = {
  'no-such-store': () => new NoSuchStore(),
  'access-denied': () => new AccessDenied(),
  'store-full': () => new StoreFull(),
  'invalid-argument': (detail) => new InvalidArgument(detail),
  'too-large': (detail) => new TooLarge(detail),
  conflict: () => new Conflict(),
  unavailable: (detail) => new Unavailable(detail),
  other: (detail) => new Other(detail),
};

/**
 * The `KvError` for what a binding threw: the WIT's `error` variant
 * (`{tag, val}`), bare or as the `payload` of an Error, as engines throw it;
 * anything else as it is.
 *
 * @param {unknown} thrown
 * @returns {unknown}
 */
export function fromWit(thrown) {
  const variant = /** @type {{payload?: unknown}} */ (thrown)?.payload ?? thrown;
  const { tag, val } = /** @type {{tag?: unknown, val?: unknown}} */ (variant ?? {});
  const make = typeof tag === 'string' && Object.hasOwn(KINDS, tag) ? KINDS[tag] : undefined;
  return make ? make(typeof val === 'string' ? val : '') : thrown;
}
