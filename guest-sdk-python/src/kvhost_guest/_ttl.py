"""A TTL (a `timedelta` or seconds) to the `ttl-ms` of the WIT.

The WIT takes a TTL as whole milliseconds, where 0 means "never expires". A
TTL is converted so that it never silently becomes "never":

- a TTL of zero or less (or NaN) is refused with `InvalidArgument`; an entry
  that never expires is written without a TTL (`ttl=None`);
- any other TTL is rounded **up** to whole milliseconds, so 1 µs lives 1 ms;
  a `float` of seconds is first rounded to whole microseconds, as `timedelta`
  does, so `1.1` is 1100 ms and not 1101;
- TTLs beyond 2**64 - 1 milliseconds (and `inf`) saturate to that.
"""

import math
from datetime import timedelta
from typing import TypeAlias

from ._errors import InvalidArgument

#: A TTL: a `timedelta`, or a number of seconds (`int` or `float`).
Ttl: TypeAlias = timedelta | int | float

_U64_MAX = 2**64 - 1
_ONE_MICROSECOND = timedelta(microseconds=1)
# Seconds beyond which a float is past timedelta's range (and whole seconds
# are all that a float still holds).
_HUGE_SECONDS = 1e12


def ttl_ms(ttl: Ttl) -> int:
    """The `ttl-ms` for `ttl`: see the module docs."""
    if isinstance(ttl, bool) or not isinstance(ttl, (timedelta, int, float)):
        raise TypeError(f"a TTL is a timedelta or a number of seconds, not {type(ttl).__name__}")
    if isinstance(ttl, timedelta):
        micros = ttl // _ONE_MICROSECOND
    elif math.isnan(ttl) or ttl <= 0:
        micros = 0
    elif isinstance(ttl, float) and ttl >= _HUGE_SECONDS:
        return min(math.ceil(ttl * 1000), _U64_MAX) if math.isfinite(ttl) else _U64_MAX
    elif isinstance(ttl, float):
        # Positive, so at least 1 µs even where timedelta rounds it to none.
        micros = max(timedelta(seconds=ttl) // _ONE_MICROSECOND, 1)
    else:
        micros = ttl * 1_000_000
    if micros <= 0:
        raise InvalidArgument(
            f"a TTL must be longer than zero, got {ttl!r} "
            "(write with ttl=None for an entry that never expires)"
        )
    return min(-(-micros // 1000), _U64_MAX)


def opt_ttl_ms(ttl: Ttl | None) -> int | None:
    """The `ttl-ms` for an optional TTL: `None` is `None` (never expires)."""
    return None if ttl is None else ttl_ms(ttl)
