// The public API as a TypeScript guest sees it: `npm run check` compiles this
// file (it never runs), so a change that breaks a guest's types fails there.

import { Conflict, KvError, Store, Unavailable, decodeUtf8, encodeUtf8 } from '../src/index.js';
import type { Entry, Info, KeyPage, Value } from '../src/index.js';

export function usesEveryOperation(): void {
  const store: Store = Store.open();
  Store.open('app:cache');
  store.set('k', 'text');
  store.set('k', new Uint8Array([1, 2]), { ttlMs: 1500 });
  const value: Uint8Array | null = store.get('k');
  const text: string | null = store.getText('k');
  const existed: boolean = store.delete('k') || store.exists('k');
  store.clear();
  const info: Info = store.info();
  const limits: number = info.maxKeyBytes + info.maxValueBytes;
  const entry: Entry | null = store.getEntry('k');
  const version: number = entry ? store.putIfVersion('k', 'v', entry.version) : store.putIfAbsent('k', 'v');
  store.put('k', 'v', { ttlMs: 10 });
  const count: number = store.increment('n') + store.increment('n', -2);
  const many: Array<Uint8Array | null> = store.getMany(['a', 'b']);
  store.setMany([['a', '1'], ['b', new Uint8Array()]], { ttlMs: 60_000 });
  store.setMany({ a: '1', b: '2' });
  store.setMany(new Map<string, Value>([['a', '1']]));
  const removed: number = store.deleteMany(new Set(['a', 'b']));
  const keys: string[] = [...store.keys('user:', { pageSize: 100 }), ...store];
  const page: KeyPage = store.listKeys('user:', { cursor: null, limit: 10 });
  const next: string | null = page.cursor;
  store.setJson('j', { a: [1, 2] });
  const json: unknown = store.getJson('j');
  const roundTrip: string = decodeUtf8(encodeUtf8('grüße'));
  void [value, text, existed, limits, version, count, many, removed, keys, next, json, roundTrip];
}

export function catchesByKind(e: unknown): string {
  if (e instanceof Conflict) return 'lost the race';
  if (e instanceof KvError) return `${e.name}: ${e.message} (${e.detail}, retry: ${e.retryable})`;
  return String(e);
}

export function refusesMisuse(store: Store): void {
  // @ts-expect-error values are bytes or strings
  store.set('k', 5);
  // @ts-expect-error the TTL is a number of milliseconds
  store.set('k', 'v', { ttlMs: '5s' });
  // @ts-expect-error stores are opened, not constructed
  new Store();
  // @ts-expect-error Unavailable carries the host's text
  new Unavailable();
}
