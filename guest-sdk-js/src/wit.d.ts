// The bindings of `kvhost:store/store@0.1.0` as componentize-qjs (jco's
// QuickJS componentize) gives them to a guest: records with camelCase
// fields, variants as `{tag, val}`, u64 and s64 as numbers, an absent option
// as null, list<u8> as Uint8Array, and a `result` error thrown.
// For the SDK's own type check only; guests use the SDK's types.
declare module 'kvhost:store/store@0.1.0' {
  export interface Info {
    id: string;
    backend: string;
    durable: boolean;
    ttl: boolean;
    versioned: boolean;
    conditional: boolean;
    listable: boolean;
    maxKeyBytes: number;
    maxValueBytes: number;
  }
  export interface Entry {
    value: Uint8Array;
    version: number;
  }
  export type Condition = { tag: 'always' } | { tag: 'if-absent' } | { tag: 'if-version'; val: number };
  export interface KeyPage {
    keys: string[];
    cursor: string | null | undefined;
  }
  export class Bucket {
    get(key: string): Uint8Array | null | undefined;
    set(key: string, value: Uint8Array, ttlMs: number | null): void;
    delete(key: string): boolean;
    exists(key: string): boolean;
    clear(): void;
    info(): Info;
    listKeys(prefix: string, cursor: string | null, limit: number): KeyPage;
    getEntry(key: string): Entry | null | undefined;
    put(key: string, value: Uint8Array, ttlMs: number | null, condition: Condition): number;
    increment(key: string, delta: number): number;
    getMany(keys: string[]): Array<Uint8Array | null | undefined>;
    setMany(entries: Array<[string, Uint8Array]>, ttlMs: number | null): void;
    deleteMany(keys: string[]): number;
  }
  export function open(identifier: string): Bucket;
}
