"""TTLs to the WIT's ttl-ms: never silently "never expires"."""

import unittest
from datetime import timedelta

from kvhost_guest import InvalidArgument
from kvhost_guest._ttl import opt_ttl_ms, ttl_ms


class TtlTest(unittest.TestCase):
    def test_whole_milliseconds_convert_exactly(self) -> None:
        self.assertEqual(ttl_ms(timedelta(milliseconds=1)), 1)
        self.assertEqual(ttl_ms(1), 1000)
        self.assertEqual(ttl_ms(timedelta(hours=1)), 3_600_000)
        self.assertEqual(ttl_ms(1.1), 1100)
        self.assertEqual(ttl_ms(0.25), 250)

    def test_fractions_of_a_millisecond_round_up(self) -> None:
        self.assertEqual(ttl_ms(timedelta(microseconds=1)), 1)
        self.assertEqual(ttl_ms(timedelta(microseconds=999)), 1)
        self.assertEqual(ttl_ms(timedelta(microseconds=1001)), 2)
        self.assertEqual(ttl_ms(0.0000001), 1)
        self.assertEqual(ttl_ms(2.0005), 2001)

    def test_huge_ttls_saturate(self) -> None:
        self.assertEqual(ttl_ms(2**64), 2**64 - 1)
        self.assertEqual(ttl_ms(float("inf")), 2**64 - 1)
        self.assertEqual(ttl_ms(1e30), 2**64 - 1)
        self.assertEqual(ttl_ms(timedelta.max), timedelta.max // timedelta(milliseconds=1) + 1)
        self.assertEqual(ttl_ms(1e12), 10**15)

    def test_zero_negative_and_nan_are_refused_not_never(self) -> None:
        refused: list[timedelta | int | float] = [0, 0.0, -1, -0.5, float("nan"), float("-inf"), timedelta(0), timedelta(seconds=-1)]
        for ttl in refused:
            with self.subTest(ttl=ttl), self.assertRaises(InvalidArgument) as caught:
                ttl_ms(ttl)
            self.assertIn("longer than zero", str(caught.exception))

    def test_other_types_are_a_type_error(self) -> None:
        for ttl in ["5", True, None, [1]]:
            with self.subTest(ttl=ttl), self.assertRaises(TypeError):
                ttl_ms(ttl)  # type: ignore[arg-type]

    def test_no_ttl_is_no_ttl(self) -> None:
        self.assertIsNone(opt_ttl_ms(None))
        self.assertEqual(opt_ttl_ms(5), 5000)


if __name__ == "__main__":
    unittest.main()
