// The kvhost key browser. Keys and values are data: they reach the page only
// through textContent and attributes, never as markup.
'use strict';

const TOKEN_KEY = 'kvhost-ui-token';
const PAGE = 200;

// The token comes once in the address (the URL kvhost ui printed); keep it
// for this tab and take it out of the address bar and the history.
const token = (() => {
  const params = new URLSearchParams(location.search);
  const given = params.get('token');
  if (given !== null) {
    sessionStorage.setItem(TOKEN_KEY, given);
    params.delete('token');
    const rest = params.toString();
    history.replaceState(null, '', location.pathname + (rest ? '?' + rest : '') + location.hash);
  }
  return sessionStorage.getItem(TOKEN_KEY) || '';
})();

const $ = (id) => document.getElementById(id);
const enc = encodeURIComponent;
const state = {
  readOnly: false,
  stores: [],
  store: null,
  prefix: '',
  cursor: null,
  keys: [],
  selected: null,
  value: null,
  view: 'text',
  events: null,
};

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (cls) node.className = cls;
  return node;
}

function status(message, isError) {
  $('status').textContent = message;
  $('status').classList.toggle('error', Boolean(isError));
}

// The change stream's state, beside the status so that it never hides what
// the user's last action did.
function streamState(message, isError) {
  $('stream').textContent = message;
  $('stream').classList.toggle('error', Boolean(isError));
}

async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    body,
    cache: 'no-store',
    headers: { Authorization: 'Bearer ' + token },
  });
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (_) { data = null; }
  if (!response.ok) throw new Error((data && data.message) || response.status + ' ' + response.statusText);
  return data;
}

const storePath = () => '/api/stores/' + enc(state.store.id);
const keyPath = (key) => storePath() + '/keys/' + enc(key);

// Keys in the store's order: by code point, which is UTF-8 byte order.
function compareKeys(a, b) {
  const x = Array.from(a, (c) => c.codePointAt(0));
  const y = Array.from(b, (c) => c.codePointAt(0));
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) return x[i] - y[i];
  }
  return x.length - y.length;
}

function bytesText(n) {
  const units = ['KiB', 'MiB', 'GiB'];
  let shown = n.toLocaleString('en') + ' bytes';
  let v = n;
  for (const unit of units) {
    if (v < 1024) break;
    v /= 1024;
    shown = n.toLocaleString('en') + ' bytes (' + v.toFixed(1) + ' ' + unit + ')';
  }
  return shown;
}

function durationText(ms) {
  let s = Math.ceil(ms / 1000);
  const parts = [];
  for (const [unit, size] of [['d', 86400], ['h', 3600], ['m', 60]]) {
    if (s >= size) { parts.push(Math.floor(s / size) + unit); s %= size; }
  }
  if (s || !parts.length) parts.push(s + 's');
  return parts.join(' ');
}

// ---- stores

async function loadStores() {
  const data = await api('GET', '/api/stores');
  state.readOnly = data.read_only;
  state.stores = data.stores;
  $('mode').hidden = !state.readOnly;
  for (const node of document.querySelectorAll('.writes')) node.hidden = state.readOnly;
  const body = $('stores').tBodies[0];
  body.replaceChildren();
  for (const store of state.stores) {
    const row = el('tr');
    row.dataset.id = store.id;
    const limits = store.limits;
    row.append(
      el('td', store.id),
      el('td', store.kind),
      el('td', store.entries === null ? 'not known' : store.entries.toLocaleString('en')),
      el('td', store.durable ? 'yes' : 'no'),
      el('td', store.versioned ? 'yes' : 'by value'),
      el('td', 'key ' + limits.max_key_bytes + ' B, value ' + bytesText(limits.max_value_bytes) +
        ', ' + limits.max_concurrency + ' at once', 'limits'),
    );
    row.addEventListener('click', () => selectStore(store.id));
    body.append(row);
  }
  status(state.stores.length + ' stores');
}

function selectStore(id) {
  // A prefix names keys of one store: another store starts unfiltered.
  if (state.store && state.store.id !== id) $('prefix').value = '';
  state.store = state.stores.find((s) => s.id === id);
  for (const row of $('stores').tBodies[0].rows) row.classList.toggle('selected', row.dataset.id === id);
  $('store-name').textContent = id;
  $('keys-panel').hidden = false;
  $('set').hidden = state.readOnly;
  $('value-panel').hidden = true;
  $('changes').replaceChildren();
  state.selected = null;
  listKeys();
}

// ---- keys

async function listKeys() {
  state.prefix = $('prefix').value;
  state.keys = [];
  state.cursor = null;
  renderKeys();
  await moreKeys();
  watch();
}

async function moreKeys() {
  const store = state.store;
  let path = storePath() + '/keys?limit=' + PAGE + '&prefix=' + enc(state.prefix);
  if (state.cursor) path += '&cursor=' + enc(state.cursor);
  try {
    const page = await api('GET', path);
    if (store !== state.store) return;
    state.keys.push(...page.keys);
    state.cursor = page.cursor;
    renderKeys();
  } catch (e) {
    status('cannot list keys: ' + e.message, true);
  }
}

function keyButton(key, label) {
  const button = el('button', label, 'key');
  button.type = 'button';
  button.title = key;
  button.dataset.key = key;
  button.classList.toggle('selected', key === state.selected);
  button.addEventListener('click', () => showKey(key));
  return button;
}

// The keys as a tree of their segments after the prefix, split at `sep`.
function tree(keys, sep) {
  const root = { folders: new Map(), leaves: [], count: 0 };
  for (const key of keys) {
    const parts = key.slice(state.prefix.length).split(sep);
    let node = root;
    node.count++;
    for (const part of parts.slice(0, -1)) {
      if (!node.folders.has(part)) node.folders.set(part, { folders: new Map(), leaves: [], count: 0 });
      node = node.folders.get(part);
      node.count++;
    }
    node.leaves.push([key, parts[parts.length - 1]]);
  }
  return root;
}

function renderTree(node, sep) {
  const list = el('ul');
  for (const [name, child] of node.folders) {
    const item = el('li');
    const details = el('details');
    details.append(el('summary', name + sep + ' (' + child.count + ')'), renderTree(child, sep));
    item.append(details);
    list.append(item);
  }
  for (const [key, leaf] of node.leaves) {
    const item = el('li');
    item.append(keyButton(key, leaf === '' ? '(empty)' : leaf));
    list.append(item);
  }
  return list;
}

function renderKeys() {
  const sep = $('separator').value;
  let list;
  if (sep) {
    list = renderTree(tree(state.keys, sep), sep);
  } else {
    list = el('ul');
    for (const key of state.keys) {
      const item = el('li');
      item.append(keyButton(key, key));
      list.append(item);
    }
  }
  $('keys').replaceChildren(list);
  const n = state.keys.length;
  const keys = n.toLocaleString('en') + (n === 1 ? ' key' : ' keys');
  $('shown').textContent = state.cursor ? keys + ' shown, more follow' : keys;
  $('more').hidden = !state.cursor;
}

// ---- one value

function decodeBase64(text) {
  const raw = atob(text);
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  return bytes;
}

function hexDump(bytes) {
  const lines = [];
  for (let at = 0; at < bytes.length; at += 16) {
    const row = bytes.subarray(at, at + 16);
    const hex = Array.from(row, (b) => b.toString(16).padStart(2, '0')).join(' ');
    const ascii = Array.from(row, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
    lines.push(at.toString(16).padStart(8, '0') + '  ' + hex.padEnd(47) + '  ' + ascii);
  }
  return lines.join('\n');
}

async function showKey(key) {
  state.selected = key;
  for (const b of document.querySelectorAll('#keys button.key')) b.classList.toggle('selected', b.dataset.key === key);
  try {
    const value = await api('GET', keyPath(key));
    if (state.selected !== key) return;
    value.bytes = decodeBase64(value.preview_base64);
    value.text = new TextDecoder('utf-8').decode(value.bytes);
    value.json = undefined;
    if (value.utf8 && !value.truncated) {
      try { value.json = JSON.parse(value.text); } catch (_) { value.json = undefined; }
    }
    state.value = value;
    state.view = value.json !== undefined ? 'json' : value.utf8 ? 'text' : 'hex';
    renderValue();
  } catch (e) {
    status('cannot read ' + JSON.stringify(key) + ': ' + e.message, true);
  }
}

function renderValue() {
  const v = state.value;
  $('value-panel').hidden = false;
  $('value-key').textContent = v.key;
  $('value-size').textContent = bytesText(v.size);
  $('value-ttl').textContent = {
    in: 'expires in ' + durationText(v.ttl_ms || 0),
    never: 'never expires',
    expired: 'expired',
    unknown: 'not known for this store',
  }[v.expires];
  $('value-version').textContent = v.version;
  for (const b of document.querySelectorAll('#views button')) {
    b.setAttribute('aria-selected', String(b.dataset.view === state.view));
  }
  let note = '';
  let shown;
  if (state.view === 'hex') {
    shown = hexDump(v.bytes);
  } else if (state.view === 'json') {
    if (v.json !== undefined) shown = JSON.stringify(v.json, null, 2);
    else {
      shown = v.text;
      note = v.truncated ? 'Too large to parse here: download it.' : 'Not JSON.';
    }
  } else {
    shown = v.text;
    if (!v.utf8) note = 'Not UTF-8 text: bytes that are not are shown as \uFFFD; see Hex.';
  }
  if (v.truncated) {
    note = ('Showing the first ' + bytesText(v.bytes.length) + ' of ' + bytesText(v.size) + '. ' + note).trim();
  }
  $('value-note').textContent = note;
  $('value').textContent = shown;
  $('download').href = keyPath(v.key) + '?raw=1';
  $('edit').disabled = !v.utf8 || v.truncated;
}

// ---- writes

async function setKey(event) {
  event.preventDefault();
  const key = $('set-key').value;
  const ttl = $('set-ttl').value.trim();
  let path = keyPath(key);
  if (ttl) path += '?ttl=' + enc(ttl);
  try {
    const done = await api('PUT', path, $('set-value').value);
    status('set ' + JSON.stringify(key) + ', version ' + done.version);
    if (!state.store.watch) await listKeys();
    await showKey(key);
  } catch (e) {
    status('cannot set ' + JSON.stringify(key) + ': ' + e.message, true);
  }
}

async function deleteKey() {
  const key = state.selected;
  try {
    const done = await api('DELETE', keyPath(key));
    status(done.deleted ? 'deleted ' + JSON.stringify(key) : JSON.stringify(key) + ' was already gone');
    removeKey(key);
    $('value-panel').hidden = true;
  } catch (e) {
    status('cannot delete ' + JSON.stringify(key) + ': ' + e.message, true);
  }
}

async function askClear() {
  try {
    const { count } = await api('GET', storePath() + '/count?prefix=' + enc(state.prefix));
    const what = state.prefix
      ? count.toLocaleString('en') + ' keys starting with ' + JSON.stringify(state.prefix)
      : 'all ' + count.toLocaleString('en') + ' keys';
    $('confirm-text').textContent = 'Delete ' + what + ' from ' + state.store.id + '? This cannot be undone.';
    $('confirm').hidden = false;
  } catch (e) {
    status('cannot count keys: ' + e.message, true);
  }
}

async function clearKeys() {
  $('confirm').hidden = true;
  try {
    const { removed } = await api('POST', storePath() + '/clear?prefix=' + enc(state.prefix));
    status('deleted ' + removed.toLocaleString('en') + ' keys');
    await listKeys();
  } catch (e) {
    status('cannot delete keys: ' + e.message, true);
  }
}

function editValue() {
  $('set-key').value = state.value.key;
  $('set-value').value = state.value.text;
  $('set-ttl').value = state.value.expires === 'in' ? String(Math.ceil(state.value.ttl_ms / 1000)) : '';
  $('set-value').focus();
}

// ---- live changes

function logChange(text) {
  const item = el('li', new Date().toLocaleTimeString() + ' ' + text);
  $('changes').prepend(item);
  while ($('changes').children.length > 50) $('changes').lastChild.remove();
}

function removeKey(key) {
  const at = state.keys.indexOf(key);
  if (at >= 0) {
    state.keys.splice(at, 1);
    renderKeys();
  }
}

// A key that is set appears in its place when that place is among the keys
// shown (before the last one, or all are shown).
function addKey(key) {
  if (!key.startsWith(state.prefix) || state.keys.includes(key)) return;
  const last = state.keys[state.keys.length - 1];
  if (state.cursor && last !== undefined && compareKeys(key, last) > 0) return;
  let at = state.keys.findIndex((k) => compareKeys(key, k) < 0);
  if (at < 0) at = state.keys.length;
  state.keys.splice(at, 0, key);
  renderKeys();
}

// One stream per store and prefix: listing again under the same ones (after
// a delete, Refresh) keeps it, so no change falls between two streams.
function watch() {
  const store = state.store;
  const watching = store.id + '\u0000' + state.prefix;
  if (state.events && state.watching === watching) return;
  if (state.events) state.events.close();
  state.events = null;
  state.watching = watching;
  streamState('');
  if (!store.watch) {
    $('live').textContent = 'This store publishes no changes: press Refresh to see new ones.';
    return;
  }
  $('live').textContent = store.watch === 'shared'
    ? 'Live: every change to this store appears as it happens.'
    : 'Live: changes made through this kvhost appear as they happen; other processes\u2019 writes appear on Refresh.';
  const events = new EventSource(storePath() + '/events?prefix=' + enc(state.prefix) + '&token=' + enc(token));
  events.addEventListener('set', (e) => {
    const { key, size } = JSON.parse(e.data);
    logChange('set ' + JSON.stringify(key) + ' (' + bytesText(size) + ')');
    addKey(key);
    if (key === state.selected) showKey(key);
  });
  events.addEventListener('delete', (e) => {
    const { key } = JSON.parse(e.data);
    logChange('delete ' + JSON.stringify(key));
    removeKey(key);
  });
  events.addEventListener('missed', () => logChange('some changes were missed: press Refresh'));
  events.addEventListener('open', () => streamState('watching ' + store.id));
  events.addEventListener('error', () => streamState('the change stream was cut; reconnecting', true));
  state.events = events;
}

// ---- wiring

$('filter').addEventListener('submit', (e) => { e.preventDefault(); listKeys(); });
$('refresh').addEventListener('click', () => { listKeys(); loadStores().catch(() => {}); });
$('separator').addEventListener('change', renderKeys);
$('more').addEventListener('click', moreKeys);
$('set').addEventListener('submit', setKey);
$('delete').addEventListener('click', deleteKey);
$('edit').addEventListener('click', editValue);
$('clear').addEventListener('click', askClear);
$('confirm-yes').addEventListener('click', clearKeys);
$('confirm-no').addEventListener('click', () => { $('confirm').hidden = true; });
for (const b of document.querySelectorAll('#views button')) {
  b.addEventListener('click', () => { state.view = b.dataset.view; renderValue(); });
}

loadStores().catch((e) => status('cannot load the stores: ' + e.message, true));
