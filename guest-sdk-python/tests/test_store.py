"""Store's own logic on CPython, over a bucket double that behaves as the
WIT says (the guest tests in ../tests run it against real stores)."""

import unittest
from typing import cast

from componentize_py_types import Err

import kvhost_guest
from kvhost_guest import Store
from kvhost_guest._bindings.imports import kvhost_store_store_0_1_0 as wit_store
from kvhost_guest._bindings.imports import kvhost_store_types_0_1_0 as wit


class DictBucket:
    """A bucket over a dict: sorted keys, pages of `limit`, cursors of its own."""

    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}
        self.pages_asked = 0

    def get(self, key: str) -> bytes | None:
        if not key:
            raise Err(wit.Error_InvalidArgument("empty key"))
        return self.data.get(key)

    def set(self, key: str, value: bytes, ttl_ms: int | None) -> None:
        self.data[key] = value

    def set_many(self, entries: list[tuple[str, bytes]], ttl_ms: int | None) -> None:
        self.data.update(entries)

    def delete(self, key: str) -> bool:
        return self.data.pop(key, None) is not None

    def exists(self, key: str) -> bool:
        return key in self.data

    def put(self, key: str, value: bytes, ttl_ms: int | None, condition: wit.Condition) -> int:
        if isinstance(condition, wit.Condition_IfAbsent) and key in self.data:
            raise Err(wit.Error_Conflict())
        self.data[key] = value
        return 1

    def list_keys(self, prefix: str, cursor: str | None, limit: int) -> wit.KeyPage:
        self.pages_asked += 1
        keys = sorted(k for k in self.data if k.startswith(prefix) and (cursor is None or k > cursor))
        page = keys[: limit or 1000]
        return wit.KeyPage(page, page[-1] if len(keys) > len(page) else None)


def store_over(bucket: DictBucket) -> Store:
    return Store(cast(wit_store.Bucket, bucket))


class StoreTest(unittest.TestCase):
    def test_keys_follows_cursors_lazily(self) -> None:
        bucket = DictBucket()
        store = store_over(bucket)
        store.set_many({f"k{i:03}": "v" for i in range(7)} | {"other": "x"})
        keys = store.keys("k", page_size=3)
        self.assertEqual(next(keys), "k000")
        self.assertEqual(bucket.pages_asked, 1)
        self.assertEqual(list(keys), [f"k{i:03}" for i in range(1, 7)])
        self.assertEqual(bucket.pages_asked, 3)
        self.assertEqual(list(store), sorted(bucket.data))

    def test_values_are_bytes_and_text_is_utf8(self) -> None:
        bucket = DictBucket()
        store = store_over(bucket)
        store.set("a", "grüße")
        store.set("b", bytearray(b"\x00\xff"))
        store["c"] = memoryview(b"mv")
        self.assertEqual(bucket.data, {"a": "grüße".encode(), "b": b"\x00\xff", "c": b"mv"})
        self.assertEqual(store.get_text("a"), "grüße")
        self.assertIsNone(store.get_text("nothing"))
        with self.assertRaises(TypeError):
            store.set("d", 5)  # type: ignore[arg-type]

    def test_mapping_protocol_reads_like_a_dict(self) -> None:
        store = store_over(DictBucket())
        store["k"] = "v"
        self.assertEqual(store["k"], b"v")
        self.assertIn("k", store)
        self.assertNotIn(5, store)
        del store["k"]
        self.assertNotIn("k", store)
        with self.assertRaises(KeyError):
            store["k"]
        with self.assertRaises(KeyError):
            del store["k"]

    def test_store_errors_raise_their_own_class(self) -> None:
        store = store_over(DictBucket())
        with self.assertRaises(kvhost_guest.InvalidArgument) as caught:
            store.get("")
        self.assertEqual(str(caught.exception), "invalid argument: empty key")
        self.assertIsNone(caught.exception.__cause__)
        store.put_if_absent("lock", "me")
        with self.assertRaises(kvhost_guest.Conflict):
            store.put_if_absent("lock", "you")

    def test_json_is_compact_utf8(self) -> None:
        bucket = DictBucket()
        store = store_over(bucket)
        store.set_json("p", {"name": "Ada", "langs": ["py", "wit"], "ü": 1})
        self.assertEqual(bucket.data["p"], '{"name":"Ada","langs":["py","wit"],"ü":1}'.encode())
        self.assertEqual(store.get_json("p"), {"name": "Ada", "langs": ["py", "wit"], "ü": 1})
        self.assertIsNone(store.get_json("absent"))
        bucket.data["bad"] = b"not json"
        with self.assertRaises(ValueError):
            store.get_json("bad")


if __name__ == "__main__":
    unittest.main()
