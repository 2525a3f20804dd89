// kvdemo in JavaScript: a kvhost guest built with componentize-qjs (QuickJS).
//
//   kvdemo-js [demo]     self-check of the default store (get, set with TTL,
//                        delete, exists, clear, list-keys); exits 1 on failure
//   kvdemo-js bench N    N gets of one key, timed inside the guest; prints
//                        "bench get N gets, ns per get: NS"

import { open } from 'kvhost:store/store@0.1.0';
import { getArguments } from 'wasi:cli/environment@0.2.12';
import { exit } from 'wasi:cli/exit@0.2.12';
import { getStderr } from 'wasi:cli/stderr@0.2.12';
import { getStdout } from 'wasi:cli/stdout@0.2.12';

// QuickJS has no TextEncoder and no console; keys, values and output here are ASCII.
const bytes = (s) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const text = (b) => (b == null ? null : String.fromCharCode(...b));
// Streams are taken on first use: top-level code runs when the component is
// built (pre-initialized), so a handle taken there would not exist at run time.
let stdout = null;
const say = (line) => (stdout ??= getStdout()).blockingWriteAndFlush(bytes(`${line}\n`));
const complain = (line) => getStderr().blockingWriteAndFlush(bytes(`${line}\n`));

// A store error arrives as an exception whose payload is the WIT variant.
const errorTag = (e) => e?.payload?.tag ?? e?.tag ?? String(e);

class Failed extends Error {}
// A command line kvdemo-js does not understand: the reason and the usage, exit non-zero.
class Usage extends Error {}
const USAGE = 'usage: kvdemo-js [demo] | bench N';

// The N of `bench N`: a whole number, 0 or more.
function count(arg) {
  if (arg === undefined) throw new Usage('bench needs a number N');
  if (!/^[0-9]+$/.test(arg)) throw new Usage(`N must be a whole number, got '${arg}'`);
  return Number(arg);
}

function checks() {
  let passed = 0;
  return {
    check(what, ok) {
      if (!ok) throw new Failed(what);
      passed += 1;
      say(`  ok  ${what}`);
    },
    get passed() { return passed; },
  };
}

function listAll(bucket, prefix, page) {
  const keys = [];
  let cursor = null;
  do {
    const result = bucket.listKeys(prefix, cursor, page);
    keys.push(...result.keys);
    cursor = result.cursor ?? null;
  } while (cursor !== null);
  return keys;
}

function demo(bucket) {
  const info = bucket.info();
  say(`kvdemo-js: store ${info.id} on ${info.backend} backend`);
  const c = checks();
  bucket.clear();
  c.check('get of a missing key is none', bucket.get('greeting') == null);
  bucket.set('greeting', bytes('hello'), null);
  c.check('set then get returns the value', text(bucket.get('greeting')) === 'hello');
  c.check('exists after set', bucket.exists('greeting'));
  bucket.set('session', bytes('token'), 60000);
  c.check('an entry with a 60s TTL is visible', text(bucket.get('session')) === 'token');
  c.check('delete of a present key returns true', bucket.delete('greeting') === true);
  c.check('delete of an absent key returns false', bucket.delete('greeting') === false);
  c.check('a deleted key does not exist', !bucket.exists('greeting'));
  const users = [0, 1, 2, 3, 4].map((i) => `user:0${i}`);
  users.forEach((k) => bucket.set(k, bytes('u'), null));
  c.check('list-keys pages through a prefix in order', listAll(bucket, 'user:', 2).join() === users.join());
  let tag = null;
  try { bucket.get(''); } catch (e) { tag = errorTag(e); }
  c.check('an empty key is invalid-argument', tag === 'invalid-argument');
  bucket.clear();
  c.check('clear removes every entry', !bucket.exists('session') && listAll(bucket, '', 0).length === 0);
  say(`kvdemo-js: all ${c.passed} checks passed`);
}

function bench(bucket, n) {
  bucket.set('bench-key-0000ab', new Uint8Array(100), null);
  const start = Date.now();
  for (let i = 0; i < n; i++) bucket.get('bench-key-0000ab');
  // The figure stays the last word: kvhost-bench and scripts read it.
  say(`bench get ${n} gets, ns per get: ${(((Date.now() - start) * 1e6) / Math.max(n, 1)).toFixed(1)}`);
}

export const run = {
  run() {
    const args = getArguments().slice(1);
    try {
      const bucket = open('');
      if (args.length === 0 || args[0] === 'demo') demo(bucket);
      else if (args[0] === 'bench') bench(bucket, count(args[1]));
      else throw new Usage(`unknown command ${args[0]}`);
    } catch (e) {
      if (e instanceof Usage) complain(`kvdemo-js: ${e.message}\n${USAGE}`);
      else complain(`kvdemo-js: FAILED: ${e instanceof Failed ? e.message : `store error ${errorTag(e)}`}`);
      exit({ tag: 'err' });
    }
  },
};
