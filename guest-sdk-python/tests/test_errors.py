"""Every case of the WIT's error variant is its own exception class."""

import unittest

import kvhost_guest as kv
from kvhost_guest._bindings.imports import kvhost_store_types_0_1_0 as wit
from kvhost_guest._errors import from_wit


class ErrorsTest(unittest.TestCase):
    def test_every_wit_case_maps_to_its_own_class(self) -> None:
        cases: list[tuple[wit.Error, type[kv.KvError], str]] = [
            (wit.Error_NoSuchStore(), kv.NoSuchStore, "no such store is running"),
            (wit.Error_AccessDenied(), kv.AccessDenied, "access denied"),
            (wit.Error_StoreFull(), kv.StoreFull, "store full"),
            (wit.Error_InvalidArgument("empty key"), kv.InvalidArgument, "invalid argument: empty key"),
            (wit.Error_TooLarge("at most 1024 bytes"), kv.TooLarge, "too large: at most 1024 bytes"),
            (wit.Error_Conflict(), kv.Conflict, "conflict: the condition of the write did not hold"),
            (wit.Error_Unavailable("database down"), kv.Unavailable, "store unavailable: database down"),
            (wit.Error_Other("disk on fire"), kv.Other, "store error: disk on fire"),
        ]
        self.assertEqual(len({cls for _, cls, _ in cases}), 8)
        for error, cls, text in cases:
            with self.subTest(cls=cls.__name__):
                raised = from_wit(error)
                self.assertIs(type(raised), cls)
                self.assertIsInstance(raised, kv.KvError)
                self.assertEqual(str(raised), text)

    def test_the_message_is_kept(self) -> None:
        self.assertEqual(kv.TooLarge("limit 5").message, "limit 5")
        self.assertEqual(kv.Conflict().message, "")

    def test_only_unavailable_is_retryable(self) -> None:
        self.assertTrue(kv.Unavailable("restarting").retryable)
        self.assertFalse(kv.Conflict().retryable)
        self.assertFalse(kv.Other("x").retryable)


if __name__ == "__main__":
    unittest.main()
