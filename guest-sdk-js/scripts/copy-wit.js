// Copies ../wit (the one copy of kvhost's WIT) into wit/ of this package, for
// `npm pack` and `npm publish` and for installs from this folder (`prepare`):
// componentize-qjs reads the WIT from node_modules/kvhost-guest/wit.
import { cpSync, existsSync, rmSync } from 'node:fs';

const from = new URL('../../wit', import.meta.url);
const to = new URL('../wit', import.meta.url);
if (existsSync(from)) {
  rmSync(to, { recursive: true, force: true });
  cpSync(from, to, { recursive: true });
} else if (!existsSync(to)) {
  throw new Error(`no WIT: neither ${from.pathname} nor ${to.pathname} exists`);
}
