"""The Python SDK for kvhost guests: key-value stores for WebAssembly
components, through the ``kvhost:store@0.1.0`` WIT interface.

The package ships the WIT and tells componentize-py where it is, so a guest
needs nothing else::

    from kvhost_guest import Conflict, Run as _Run, Store

    class Run(_Run):
        def run(self) -> None:
            store = Store.open()                    # the default store
            visits = store.increment("visits")
            print(f"hello from a kvhost guest: visit {visits}")

built with ``componentize-py -w kvhost:store/command componentize app -o
app.wasm`` and run with ``kvhost run app.wasm``.

- `Store.open(name="")`, then `get`, `get_text`, `set` (``ttl`` a
  `datetime.timedelta` or seconds), `delete`, `exists`, `clear`, `info`;
  ``store[key]``, ``key in store``, ``del store[key]``, ``for key in store``;
- `Store.keys(prefix)`: an iterator that follows the host's cursors;
- versions and conditional writes: `get_entry`, `put`, `put_if_absent`,
  `put_if_version` (a lost condition raises `Conflict`); `increment`;
- batches: `get_many`, `set_many`, `delete_many`;
- JSON values: `get_json`, `set_json`;
- errors: `KvError` and one subclass per kind of the WIT's ``error``.
"""

from ._bindings.exports import Run
from ._errors import (
    AccessDenied,
    Conflict,
    InvalidArgument,
    KvError,
    NoSuchStore,
    Other,
    StoreFull,
    TooLarge,
    Unavailable,
)
from ._store import Store, Value
from ._ttl import Ttl
from ._types import Entry, Info, KeyPage

__version__ = "0.1.0"

__all__ = [
    "Store",
    "Run",
    "Value",
    "Ttl",
    "Info",
    "Entry",
    "KeyPage",
    "KvError",
    "NoSuchStore",
    "AccessDenied",
    "StoreFull",
    "InvalidArgument",
    "TooLarge",
    "Conflict",
    "Unavailable",
    "Other",
]
