// kvhost-guest: the JavaScript SDK for kvhost guests, key-value stores for
// WebAssembly components through the `kvhost:store@0.1.0` WIT interface.

export { Store } from './store.js';
export {
  AccessDenied,
  Conflict,
  InvalidArgument,
  KvError,
  NoSuchStore,
  Other,
  StoreFull,
  TooLarge,
  Unavailable,
} from './errors.js';
// UTF-8 for guests on engines without TextEncoder (QuickJS), such as for
// writing to wasi:cli/stdout.
export { decode as decodeUtf8, encode as encodeUtf8 } from './utf8.js';

/** @typedef {import('./store.js').Value} Value */
/** @typedef {import('./store.js').WriteOptions} WriteOptions */
/** @typedef {import('./store.js').Info} Info */
/** @typedef {import('./store.js').Entry} Entry */
/** @typedef {import('./store.js').KeyPage} KeyPage */
