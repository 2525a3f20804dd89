"""kvtour-py: the kvhost-guest Python SDK on the default store (or --store ID).

    kvtour-py [--store ID] [tour]   check each part of the SDK, say how many passed
    kvtour-py visit                 count a visit: "visit N"
    kvtour-py keys PREFIX           every key under PREFIX, paging for you
    kvtour-py fill PREFIX N         write N keys PREFIX000000, PREFIX000001, ...
    kvtour-py bench N               N gets timed inside the guest, as ../python's bench:
                                    "bench get N gets, ns per get: NS"
"""

import sys
import time
from datetime import timedelta
from typing import NoReturn

import kvhost_guest
from kvhost_guest import Conflict, InvalidArgument, KvError, Store

USAGE = "usage: kvtour-py [--store ID] [tour] | visit | keys PREFIX | fill PREFIX N | bench N"


class Checks:
    """Counts checks; the first failure ends the program."""

    def __init__(self) -> None:
        self.passed = 0

    def check(self, what: str, ok: bool) -> None:
        if not ok:
            fail(f"FAILED: {what}")
        self.passed += 1


def raises(error: type[Exception], operation: "object") -> bool:
    """Whether calling `operation` raises `error`."""
    try:
        operation()  # type: ignore[operator]
    except error:
        return True
    return False


def tour(store: Store) -> int:
    c = Checks()
    info = store.info()
    print(f"kvtour-py: store {info.id} on {info.backend} backend")

    store.set("greeting", "hello", ttl=timedelta(hours=1))
    c.check("get after set with a TTL", store.get("greeting") == b"hello")
    c.check("a zero TTL is refused", raises(InvalidArgument, lambda: store.set("x", "y", ttl=0)))
    c.check("exists", store.exists("greeting"))
    c.check("delete", store.delete("greeting") and not store.exists("greeting"))

    c.check("increment from absent", store.increment("tour:count", 5) == 5)
    c.check("increment down", store.increment("tour:count", -2) == 3)

    first = store.put_if_absent("tour:lock", "me")
    c.check("put_if_absent twice", raises(Conflict, lambda: store.put_if_absent("tour:lock", "you")))
    entry = store.get_entry("tour:lock")
    c.check("get_entry gives the version put returned", entry is not None and entry.version == first and entry.value == b"me")
    assert entry is not None
    store.put_if_version("tour:lock", "me again", entry.version)
    c.check("a stale version conflicts", raises(Conflict, lambda: store.put_if_version("tour:lock", "x", entry.version)))
    store.put("tour:lock", "free")

    items = [(f"tour:item:{i:05}", str(i)) for i in range(2500)]
    for start in range(0, len(items), 500):
        store.set_many(items[start : start + 500])
    keys = list(store.keys("tour:item:"))
    c.check("keys pages through 2,500 keys in order", len(keys) == 2500 and keys == sorted(keys))
    got = store.get_many(["tour:item:00000", "tour:item:02499", "tour:nothing"])
    c.check("get_many", got == [b"0", b"2499", None])
    c.check("delete_many", store.delete_many(keys) == 2500)

    profile = {"name": "ada", "langs": ["python", "wit"]}
    store.set_json("tour:profile", profile)
    c.check("get_json reads what set_json wrote", store.get_json("tour:profile") == profile)
    store.set("tour:raw", b"\xff not json")
    c.check("get_json of a value that is not JSON is an error", raises(ValueError, lambda: store.get_json("tour:raw")))

    store["tour:dict"] = "like a dict"
    c.check(
        "the mapping protocol: store[key], in, del",
        store["tour:dict"] == b"like a dict" and "tour:dict" in store and store.get_text("tour:dict") == "like a dict",
    )
    del store["tour:dict"]
    c.check("del of an absent key is a KeyError", "tour:dict" not in store and raises(KeyError, lambda: store["tour:dict"]))

    store.clear()
    c.check("clear", next(iter(store), None) is None)
    return c.passed


def bench(store: Store, n: int) -> None:
    store.set("bench-key-0000ab", bytes(100))
    start = time.perf_counter_ns()
    for _ in range(n):
        store.get("bench-key-0000ab")
    # The figure stays the last word, as in ../python's bench.
    print(f"bench get {n} gets, ns per get: {(time.perf_counter_ns() - start) / max(n, 1):.1f}")


def usage(message: str) -> NoReturn:
    print(f"kvtour-py: {message}\n{USAGE}", file=sys.stderr)
    sys.exit(2)


def fail(message: str) -> NoReturn:
    print(f"kvtour-py: {message}", file=sys.stderr)
    sys.exit(1)


def main(args: list[str]) -> None:
    name = ""
    if args[:1] == ["--store"]:
        if len(args) < 2:
            usage("--store needs an ID")
        name, args = args[1], args[2:]
    try:
        store = Store.open(name)
    except KvError as e:
        fail(f"cannot open the store: {e} ({type(e).__name__})")
    try:
        match args:
            case [] | ["tour"]:
                print(f"kvtour-py: all {tour(store)} checks passed")
            case ["visit"]:
                print(f"visit {store.increment('visits')}")
            case ["keys", prefix]:
                for key in store.keys(prefix):
                    print(key)
            case ["fill", prefix, n] if n.isdigit():
                store.set_many((f"{prefix}{i:06}", str(i)) for i in range(int(n)))
            case ["bench", n] if n.isdigit():
                bench(store, int(n))
            case ["fill", _, _] | ["bench", _]:
                usage("N must be a whole number")
            case _:
                usage("unknown command")
    except KvError as e:
        fail(f"{e} ({type(e).__name__})")


class Run(kvhost_guest.Run):
    def run(self) -> None:
        main(sys.argv[1:])
