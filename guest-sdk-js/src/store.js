// `Store`: one open store, and every operation of `kvhost:store` on it.

import { open } from 'kvhost:store/store@0.1.0';

import { InvalidArgument, fromWit } from './errors.js';
import { decode, encode } from './utf8.js';

/**
 * What can be written: bytes as they are, a string as its UTF-8 bytes.
 *
 * @typedef {Uint8Array | string} Value
 */

/**
 * Options of a write.
 *
 * @typedef {object} WriteOptions
 * @property {number} [ttlMs] Milliseconds after which the entry disappears
 *   (a fraction is rounded up); absent, it never expires. Zero, less, or NaN
 *   throws `InvalidArgument`.
 */

/**
 * What a store is and what it can do (`store.info()`).
 *
 * @typedef {object} Info
 * @property {string} id The store's ID in the registry, such as `app:sessions`.
 * @property {string} backend `memory`, `sqlite`, `postgres`, `mysql`, `redis`...
 * @property {boolean} durable Whether data survives a restart of the host.
 * @property {boolean} ttl Entries with a TTL are honoured.
 * @property {boolean} versioned Versions change on every write (false: a
 *   version is a hash of the value, so a write of the same value keeps it).
 * @property {boolean} conditional Conditional writes are atomic.
 * @property {boolean} listable Keys can be listed.
 * @property {number} maxKeyBytes Maximum key length in bytes.
 * @property {number} maxValueBytes Maximum value length in bytes.
 */

/**
 * A value with the version it was read at (`store.getEntry()`).
 *
 * @typedef {object} Entry
 * @property {Uint8Array} value The stored bytes.
 * @property {number} version The version to give `store.putIfVersion()`.
 */

/**
 * One page of keys (`store.listKeys()`).
 *
 * @typedef {object} KeyPage
 * @property {string[]} keys Keys in ascending byte order.
 * @property {string | null} cursor Give this to `listKeys` for the next
 *   page; null on the last page.
 */

// Each method calls the bindings inside its own `try`, which costs nothing
// when nothing is thrown, rather than through a helper taking a closure.

// The largest TTL a u64 carried as a JavaScript number holds exactly.
const MAX_TTL_MS = Number.MAX_SAFE_INTEGER;

/**
 * The `ttl-ms` of the WIT for `options.ttlMs`: never silently "never expires".
 *
 * @param {WriteOptions | undefined} options
 * @returns {number | null}
 */
function ttlMs(options) {
  const ttl = options?.ttlMs;
  if (ttl === undefined || ttl === null) return null;
  if (typeof ttl !== 'number') throw new TypeError(`ttlMs is a number of milliseconds, not ${typeof ttl}`);
  if (!(ttl > 0)) {
    throw new InvalidArgument(`a TTL must be longer than zero, got ${ttl} (leave ttlMs out for an entry that never expires)`);
  }
  return Math.min(Math.ceil(ttl), MAX_TTL_MS);
}

/**
 * @param {Value} value
 * @returns {Uint8Array}
 */
function bytes(value) {
  if (typeof value === 'string') return encode(value);
  if (value instanceof Uint8Array) return value;
  throw new TypeError(`a value is a Uint8Array or a string, not ${value === null ? 'null' : typeof value}`);
}

/**
 * @param {Uint8Array | null | undefined} value
 * @returns {Uint8Array | null}
 */
function orNull(value) {
  return value ?? null;
}

/**
 * An open store. Each operation works on this store alone.
 *
 * Keys are non-empty strings; values are bytes, and a string value is
 * stored as its UTF-8 bytes. A failed operation throws a `KvError` subclass
 * (`Conflict`, `AccessDenied`, ...). Every call is synchronous.
 *
 * ```js
 * const store = Store.open();            // the default store
 * store.set('greeting', 'hello', { ttlMs: 60_000 });
 * store.getText('greeting');             // 'hello'
 * for (const key of store.keys('user:')) { ... }
 * ```
 */
export class Store {
  /** @type {import('kvhost:store/store@0.1.0').Bucket} */
  #bucket;

  /**
   * Use `Store.open()`.
   *
   * @private
   * @param {import('kvhost:store/store@0.1.0').Bucket} bucket
   */
  constructor(bucket) {
    this.#bucket = bucket;
  }

  /**
   * Open a store by ID (`namespace:name`); `''` (the default) or
   * `'default'` opens the guest's default store.
   *
   * The host decides which IDs a guest may open (`kvhost run --allow ID`);
   * any other ID throws `AccessDenied`, whether or not a store has it, and a
   * granted ID whose store is not running `NoSuchStore`.
   *
   * @param {string} [name]
   * @returns {Store}
   */
  static open(name = '') {
    try {
      return new Store(open(name));
    } catch (e) {
      throw fromWit(e);
    }
  }

  /**
   * The value under `key`, or null if it is absent or expired.
   *
   * @param {string} key
   * @returns {Uint8Array | null}
   */
  get(key) {
    try {
      return this.#bucket.get(key) ?? null;
    } catch (e) {
      throw fromWit(e);
    }
  }

  /**
   * The value under `key` decoded as UTF-8, or null if it is absent. A value
   * that is not UTF-8 throws a TypeError.
   *
   * @param {string} key
   * @returns {string | null}
   */
  getText(key) {
    const value = this.get(key);
    return value === null ? null : decode(value);
  }

  /**
   * Insert or overwrite `key`; with `{ ttlMs }` it disappears that many
   * milliseconds from now.
   *
   * @param {string} key
   * @param {Value} value
   * @param {WriteOptions} [options]
   * @returns {void}
   */
  set(key, value, options) {
    const ttl = ttlMs(options);
    const data = bytes(value);
    try {
      this.#bucket.set(key, data, ttl);
    } catch (e) {
      throw fromWit(e);
    }
  }

  /**
   * Remove `key`; true if a live entry was there.
   *
   * @param {string} key
   * @returns {boolean}
   */
  delete(key) {
    try {
      return this.#bucket.delete(key);
    } catch (e) {
      throw fromWit(e);
    }
  }

  /**
   * Whether a live entry exists under `key`.
   *
   * @param {string} key
   * @returns {boolean}
   */
  exists(key) {
    try {
      return this.#bucket.exists(key);
    } catch (e) {
      throw fromWit(e);
    }
  }

  /**
   * Remove every entry of this store, and nothing else.
   *
   * @returns {void}
   */
  clear() {
    try {
      this.#bucket.clear();
    } catch (e) {
      throw fromWit(e);
    }
  }

  /**
   * The store's ID, backend, capabilities and limits.
   *
   * @returns {Info}
   */
  info() {
    const { id, backend, durable, ttl, versioned, conditional, listable, maxKeyBytes, maxValueBytes } = this.#bucket.info();
    return { id, backend, durable, ttl, versioned, conditional, listable, maxKeyBytes, maxValueBytes };
  }

  /**
   * The value under `key` with its version, or null. Give the version to
   * `putIfVersion` for a compare-and-swap.
   *
   * @param {string} key
   * @returns {Entry | null}
   */
  getEntry(key) {
    let entry;
    try {
      entry = this.#bucket.getEntry(key);
    } catch (e) {
      throw fromWit(e);
    }
    return entry ? { value: entry.value, version: entry.version } : null;
  }

  /**
   * Write unconditionally, like `set`, and return the entry's new version.
   *
   * @param {string} key
   * @param {Value} value
   * @param {WriteOptions} [options]
   * @returns {number}
   */
  put(key, value, options) {
    return this.#put(key, value, options, { tag: 'always' });
  }

  /**
   * Write only if no live entry has `key`; the new version. Throws
   * `Conflict` if one has.
   *
   * @param {string} key
   * @param {Value} value
   * @param {WriteOptions} [options]
   * @returns {number}
   */
  putIfAbsent(key, value, options) {
    return this.#put(key, value, options, { tag: 'if-absent' });
  }

  /**
   * Write only if the live entry under `key` has `version`; the new
   * version. Throws `Conflict` if it has another (someone wrote since you
   * read it) or none.
   *
   * Versions are the WIT's u64, which QuickJS gives as numbers: exact up to
   * 2^53 - 1 (memory stores, whose versions count writes). Stores that hash
   * values into 64-bit versions (SQL without a version column, Redis:
   * `info().versioned` is false) give larger ones, which arrive rounded; a
   * version that is not a safe integer throws `InvalidArgument` here rather
   * than a `Conflict` that no retry would resolve.
   *
   * @param {string} key
   * @param {Value} value
   * @param {number} version
   * @param {WriteOptions} [options]
   * @returns {number}
   */
  putIfVersion(key, value, version, options) {
    if (!Number.isSafeInteger(version) || version < 0) {
      throw new InvalidArgument(
        `version ${version} is not a whole number a JavaScript number holds exactly (0 to 2^53 - 1): ` +
          'QuickJS gives the WIT\'s u64 versions as numbers, so a larger version (a store with ' +
          'info().versioned false hashes values into 64-bit versions) arrives rounded and cannot be sent back',
      );
    }
    return this.#put(key, value, options, { tag: 'if-version', val: version });
  }

  /**
   * @param {string} key
   * @param {Value} value
   * @param {WriteOptions | undefined} options
   * @param {import('kvhost:store/store@0.1.0').Condition} condition
   * @returns {number}
   */
  #put(key, value, options, condition) {
    const ttl = ttlMs(options);
    const data = bytes(value);
    try {
      return this.#bucket.put(key, data, ttl, condition);
    } catch (e) {
      throw fromWit(e);
    }
  }

  /**
   * Add `delta` (default 1) to the decimal integer stored under `key`
   * (absent = 0) and return the result, atomically; the entry's TTL is kept.
   * The value is kept as decimal ASCII text, so a key set to `'5'`
   * increments to 6. A non-numeric value or an overflow throws
   * `InvalidArgument`.
   *
   * @param {string} key
   * @param {number} [delta]
   * @returns {number}
   */
  increment(key, delta = 1) {
    if (!Number.isSafeInteger(delta)) throw new InvalidArgument(`the delta must be a whole number, got ${delta}`);
    try {
      return this.#bucket.increment(key, delta);
    } catch (e) {
      throw fromWit(e);
    }
  }

  /**
   * The values of `keys`, in the same order (null for absent ones).
   *
   * @param {Iterable<string>} keys
   * @returns {Array<Uint8Array | null>}
   */
  getMany(keys) {
    const wanted = Array.from(keys);
    try {
      return this.#bucket.getMany(wanted).map(orNull);
    } catch (e) {
      throw fromWit(e);
    }
  }

  /**
   * Set every key to its value, all with the same `ttlMs` (as in `set`).
   * `entries` is an iterable of `[key, value]` pairs (such as a Map) or a
   * plain object. Atomic on SQL stores.
   *
   * @param {Iterable<[string, Value]> | Record<string, Value>} entries
   * @param {WriteOptions} [options]
   * @returns {void}
   */
  setMany(entries, options) {
    const ttl = ttlMs(options);
    const pairs = Symbol.iterator in entries ? Array.from(/** @type {Iterable<[string, Value]>} */ (entries)) : Object.entries(entries);
    /** @type {Array<[string, Uint8Array]>} */
    const data = pairs.map(([key, value]) => [key, bytes(value)]);
    try {
      this.#bucket.setMany(data, ttl);
    } catch (e) {
      throw fromWit(e);
    }
  }

  /**
   * Delete `keys`; how many live entries were removed.
   *
   * @param {Iterable<string>} keys
   * @returns {number}
   */
  deleteMany(keys) {
    const doomed = Array.from(keys);
    try {
      return this.#bucket.deleteMany(doomed);
    } catch (e) {
      throw fromWit(e);
    }
  }

  /**
   * Every key that starts with `prefix`, in ascending byte order.
   *
   * The iterator asks the host for one page at a time (`pageSize` keys, 0 =
   * the store's default, 1000), and for the next page, with the cursor of the
   * last, only when the page in hand is used up. A key that stays live
   * throughout the listing is returned exactly once, even while others
   * write to the store.
   *
   * @param {string} [prefix]
   * @param {{pageSize?: number}} [options]
   * @returns {Generator<string, void, undefined>}
   */
  *keys(prefix = '', options = {}) {
    /** @type {string | null} */
    let cursor = null;
    do {
      const page = this.listKeys(prefix, { cursor, limit: options.pageSize ?? 0 });
      yield* page.keys;
      cursor = page.cursor;
    } while (cursor !== null);
  }

  /**
   * One page of the keys that start with `prefix`: at most `limit` (0 = the
   * store's default, 1000), after `cursor` (null for the first page).
   * `keys()` does this paging for you. A cursor this store did not issue
   * throws `InvalidArgument`.
   *
   * @param {string} [prefix]
   * @param {{cursor?: string | null, limit?: number}} [options]
   * @returns {KeyPage}
   */
  listKeys(prefix = '', options = {}) {
    let page;
    try {
      page = this.#bucket.listKeys(prefix, options.cursor ?? null, options.limit ?? 0);
    } catch (e) {
      throw fromWit(e);
    }
    return { keys: page.keys, cursor: page.cursor ?? null };
  }

  /**
   * The value under `key` parsed as JSON, or null if it is absent. A value
   * that is not JSON throws a SyntaxError.
   *
   * @param {string} key
   * @returns {unknown}
   */
  getJson(key) {
    const text = this.getText(key);
    return text === null ? null : JSON.parse(text);
  }

  /**
   * Store `value` under `key` as JSON text; `options` as in `set`. A value
   * JSON cannot represent (undefined, a function) throws a TypeError.
   *
   * @param {string} key
   * @param {unknown} value
   * @param {WriteOptions} [options]
   * @returns {void}
   */
  setJson(key, value, options) {
    const text = JSON.stringify(value);
    if (text === undefined) throw new TypeError(`JSON cannot represent ${typeof value}`);
    this.set(key, text, options);
  }

  /**
   * Every key of the store: `for (const key of store)`.
   *
   * @returns {Generator<string, void, undefined>}
   */
  [Symbol.iterator]() {
    return this.keys();
  }
}
