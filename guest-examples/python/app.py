"""kvdemo in Python: a kvhost guest built with componentize-py.

    kvdemo-py [demo]     self-check of the default store (get, set with TTL,
                         delete, exists, clear, list-keys); exits 1 on failure
    kvdemo-py bench N    N gets of one key, timed inside the guest; prints
                         "bench get N gets, ns per get: NS"
"""

import sys
import time
from typing import NoReturn

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import store
from wit_world.imports.types import Error_InvalidArgument

USAGE = "usage: kvdemo-py [demo] | bench N"


class Checks:
    def __init__(self) -> None:
        self.passed = 0

    def check(self, what: str, ok: bool) -> None:
        if not ok:
            print(f"kvdemo-py: FAILED: {what}", file=sys.stderr)
            sys.exit(1)
        self.passed += 1
        print(f"  ok  {what}")


def list_all(bucket: store.Bucket, prefix: str, page: int) -> list[str]:
    """Every key under `prefix`, following the cursor a page at a time."""
    keys: list[str] = []
    cursor = None
    while True:
        result = bucket.list_keys(prefix, cursor, page)
        keys.extend(result.keys)
        cursor = result.cursor
        if cursor is None:
            return keys


def demo(bucket: store.Bucket) -> None:
    info = bucket.info()
    print(f"kvdemo-py: store {info.id} on {info.backend} backend")
    c = Checks()
    bucket.clear()
    c.check("get of a missing key is none", bucket.get("greeting") is None)
    bucket.set("greeting", b"hello", None)
    c.check("set then get returns the value", bucket.get("greeting") == b"hello")
    c.check("exists after set", bucket.exists("greeting"))
    bucket.set("session", b"token", 60_000)
    c.check("an entry with a 60s TTL is visible", bucket.get("session") == b"token")
    c.check("delete of a present key returns true", bucket.delete("greeting"))
    c.check("delete of an absent key returns false", not bucket.delete("greeting"))
    c.check("a deleted key does not exist", not bucket.exists("greeting"))
    for i in range(5):
        bucket.set(f"user:{i:02}", b"u", None)
    c.check("list-keys pages through a prefix in order",
            list_all(bucket, "user:", 2) == [f"user:{i:02}" for i in range(5)])
    try:
        bucket.get("")
        c.check("an empty key is invalid-argument", False)
    except Err as e:
        c.check("an empty key is invalid-argument", isinstance(e.value, Error_InvalidArgument))
    bucket.clear()
    c.check("clear removes every entry", not bucket.exists("session") and list_all(bucket, "", 0) == [])
    print(f"kvdemo-py: all {c.passed} checks passed")


def bench(bucket: store.Bucket, n: int) -> None:
    bucket.set("bench-key-0000ab", bytes(100), None)
    start = time.perf_counter_ns()
    for _ in range(n):
        bucket.get("bench-key-0000ab")
    # The figure stays the last word: kvhost-bench and scripts read it.
    print(f"bench get {n} gets, ns per get: {(time.perf_counter_ns() - start) / max(n, 1):.1f}")


def usage(message: str) -> NoReturn:
    """A command line kvdemo-py does not understand: the reason and the usage, exit non-zero."""
    print(f"kvdemo-py: {message}\n{USAGE}", file=sys.stderr)
    sys.exit(2)


def count(args: list[str]) -> int:
    """The N of `bench N`: a whole number, 0 or more."""
    if len(args) < 2:
        usage("bench needs a number N")
    try:
        n = int(args[1])
    except ValueError:
        n = -1
    if n < 0:
        usage(f"N must be a whole number, got {args[1]!r}")
    return n


class Run(exports.Run):
    def run(self) -> None:
        args = sys.argv[1:]
        try:
            bucket = store.open("")
            if not args or args[0] == "demo":
                demo(bucket)
            elif args[0] == "bench":
                bench(bucket, count(args))
            else:
                usage(f"unknown command {args[0]}")
        except Err as e:
            print(f"kvdemo-py: FAILED: store error {e.value}", file=sys.stderr)
            sys.exit(1)
