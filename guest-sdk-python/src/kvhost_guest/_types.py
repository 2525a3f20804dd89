"""The records of `kvhost:store`, as plain Python values."""

from dataclasses import dataclass

from ._bindings.imports import kvhost_store_types_0_1_0 as wit



@dataclass(frozen=True, slots=True)
class Info:
    """What a store is and what it can do (`Store.info()`)."""

    #: The store's ID in the registry, such as ``app:sessions``.
    id: str
    #: The backend: ``memory``, ``sqlite``, ``postgres``, ``mysql``, ``redis``...
    backend: str
    #: Whether data survives a restart of the host.
    durable: bool
    #: Entries with a TTL are honoured.
    ttl: bool
    #: Versions change on every write (False: a version is a hash of the
    #: value, so a write of the same value keeps it).
    versioned: bool
    #: Conditional writes (`put_if_absent`, `put_if_version`) are atomic.
    conditional: bool
    #: Keys can be listed (`Store.keys()`).
    listable: bool
    #: Maximum key length in bytes.
    max_key_bytes: int
    #: Maximum value length in bytes.
    max_value_bytes: int

    @classmethod
    def _from_wit(cls, info: wit.Info) -> "Info":
        return cls(
            id=info.id,
            backend=info.backend,
            durable=info.durable,
            ttl=info.ttl,
            versioned=info.versioned,
            conditional=info.conditional,
            listable=info.listable,
            max_key_bytes=info.max_key_bytes,
            max_value_bytes=info.max_value_bytes,
        )


@dataclass(frozen=True, slots=True)
class Entry:
    """A value with the version it was read at (`Store.get_entry()`)."""

    #: The stored bytes.
    value: bytes
    #: The version to give `Store.put_if_version()`.
    version: int


@dataclass(frozen=True, slots=True)
class KeyPage:
    """One page of keys (`Store.list_keys()`)."""

    #: Keys in ascending byte order.
    keys: list[str]
    #: Give this to `list_keys` for the next page; None on the last page.
    cursor: str | None
