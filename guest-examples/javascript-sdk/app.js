// kvtour-js: the kvhost-guest JavaScript SDK on the default store (or --store ID).
//
//   kvtour-js [--store ID] [tour]   check each part of the SDK, say how many passed
//   kvtour-js visit                 count a visit: "visit N"
//   kvtour-js keys PREFIX           every key under PREFIX, paging for you
//   kvtour-js fill PREFIX N         write N keys PREFIX000000, PREFIX000001, ...
//   kvtour-js bench N               N gets timed inside the guest, as ../javascript's bench:
//                                   "bench get N gets, ns per get: NS"

import { Conflict, InvalidArgument, KvError, Store } from 'kvhost-guest';
import { getArguments } from 'wasi:cli/environment@0.2.12';
import { exit } from 'wasi:cli/exit@0.2.12';
import { getStderr } from 'wasi:cli/stderr@0.2.12';
import { getStdout } from 'wasi:cli/stdout@0.2.12';

const USAGE = 'usage: kvtour-js [--store ID] [tour] | visit | keys PREFIX | fill PREFIX N | bench N';

// QuickJS has no console: lines go to wasi:cli/stdout. Streams are taken on
// first use, since top-level code runs when the component is built.
const ascii = (line) => Uint8Array.from(`${line}\n`, (c) => c.charCodeAt(0));
let stdout = null;
const say = (line) => (stdout ??= getStdout()).blockingWriteAndFlush(ascii(line));
const complain = (line) => getStderr().blockingWriteAndFlush(ascii(line));

class Failed extends Error {}
class Usage extends Error {}

/** Counts checks; the first failure ends the program. */
function checks() {
  let passed = 0;
  return {
    check(what, ok) {
      if (!ok) throw new Failed(`FAILED: ${what}`);
      passed += 1;
    },
    get passed() {
      return passed;
    },
  };
}

/** Whether calling `operation` throws an instance of `kind`. */
function throws(kind, operation) {
  try {
    operation();
  } catch (e) {
    return e instanceof kind;
  }
  return false;
}

const sameBytes = (a, b) => a !== null && a.length === b.length && a.every((x, i) => x === b[i]);

function tour(store) {
  const c = checks();
  const info = store.info();
  say(`kvtour-js: store ${info.id} on ${info.backend} backend`);

  store.set('greeting', 'hello', { ttlMs: 3_600_000 });
  c.check('get after set with a TTL', store.getText('greeting') === 'hello');
  c.check('a zero TTL is refused', throws(InvalidArgument, () => store.set('x', 'y', { ttlMs: 0 })));
  c.check('exists', store.exists('greeting'));
  c.check('delete', store.delete('greeting') && !store.exists('greeting'));

  c.check('increment from absent', store.increment('tour:count', 5) === 5);
  c.check('increment down', store.increment('tour:count', -2) === 3);

  const first = store.putIfAbsent('tour:lock', 'me');
  c.check('putIfAbsent twice', throws(Conflict, () => store.putIfAbsent('tour:lock', 'you')));
  const entry = store.getEntry('tour:lock');
  c.check('getEntry gives the version put returned', entry !== null && entry.version === first && store.getText('tour:lock') === 'me');
  c.check('a version a number cannot hold exactly is refused', throws(InvalidArgument, () => store.putIfVersion('tour:lock', 'x', 2 ** 53)));
  // Versions beyond 2^53 (the 64-bit hashes of SQL and Redis stores) arrive
  // rounded and cannot be sent back (see putIfVersion); on those stores a
  // stale version is one that is certainly not the entry's.
  let stale = 1;
  if (Number.isSafeInteger(entry.version)) {
    store.putIfVersion('tour:lock', 'me again', entry.version);
    stale = entry.version;
  }
  c.check('a stale version conflicts', throws(Conflict, () => store.putIfVersion('tour:lock', 'x', stale)));
  store.put('tour:lock', 'free');

  const items = Array.from({ length: 2500 }, (_, i) => [`tour:item:${String(i).padStart(5, '0')}`, String(i)]);
  for (let start = 0; start < items.length; start += 500) store.setMany(items.slice(start, start + 500));
  const keys = [...store.keys('tour:item:')];
  c.check('keys pages through 2,500 keys in order', keys.length === 2500 && keys.every((k, i) => i === 0 || keys[i - 1] < k));
  const got = store.getMany(['tour:item:00000', 'tour:item:02499', 'tour:nothing']);
  c.check('getMany', sameBytes(got[0], ascii('0').subarray(0, 1)) && sameBytes(got[1], Uint8Array.of(50, 52, 57, 57)) && got[2] === null);
  c.check('deleteMany', store.deleteMany(keys) === 2500);

  const profile = { name: 'ada', langs: ['javascript', 'wit'], motto: 'grüße ✓ 𝄞' };
  store.setJson('tour:profile', profile);
  c.check('getJson reads what setJson wrote', JSON.stringify(store.getJson('tour:profile')) === JSON.stringify(profile));
  store.set('tour:raw', Uint8Array.of(0xff, 0x20, 0x78));
  c.check('getText of a value that is not UTF-8 is an error', throws(TypeError, () => store.getText('tour:raw')));

  store.clear();
  c.check('clear', store.keys().next().done === true);
  return c.passed;
}

function bench(store, n) {
  store.set('bench-key-0000ab', new Uint8Array(100));
  const start = Date.now();
  for (let i = 0; i < n; i++) store.get('bench-key-0000ab');
  // The figure stays the last word, as in ../javascript's bench.
  say(`bench get ${n} gets, ns per get: ${(((Date.now() - start) * 1e6) / Math.max(n, 1)).toFixed(1)}`);
}

function main(args) {
  let name = '';
  if (args[0] === '--store') {
    if (args.length < 2) throw new Usage('--store needs an ID');
    name = args[1];
    args = args.slice(2);
  }
  let store;
  try {
    store = Store.open(name);
  } catch (e) {
    if (e instanceof KvError) throw new Failed(`cannot open the store: ${e.message} (${e.name})`);
    throw e;
  }
  const [command = 'tour', ...rest] = args;
  if (command === 'tour' && rest.length === 0) say(`kvtour-js: all ${tour(store)} checks passed`);
  else if (command === 'visit' && rest.length === 0) say(`visit ${store.increment('visits')}`);
  else if (command === 'keys' && rest.length === 1) for (const key of store.keys(rest[0])) say(key);
  else if (command === 'bench' && rest.length === 1) {
    if (!/^[0-9]+$/.test(rest[0])) throw new Usage('N must be a whole number');
    bench(store, Number(rest[0]));
  } else if (command === 'fill' && rest.length === 2) {
    if (!/^[0-9]+$/.test(rest[1])) throw new Usage('N must be a whole number');
    const n = Number(rest[1]);
    store.setMany(Array.from({ length: n }, (_, i) => [`${rest[0]}${String(i).padStart(6, '0')}`, String(i)]));
  } else throw new Usage('unknown command');
}

export const run = {
  run() {
    try {
      main(getArguments().slice(1));
    } catch (e) {
      if (e instanceof Usage) complain(`kvtour-js: ${e.message}\n${USAGE}`);
      else if (e instanceof Failed) complain(`kvtour-js: ${e.message}`);
      else if (e instanceof KvError) complain(`kvtour-js: ${e.message} (${e.name})`);
      else complain(`kvtour-js: ${e}`);
      exit({ tag: 'err' });
    }
  },
};
