//! `Duration` to the `ttl-ms` of the WIT.
//!
//! The WIT takes a TTL as whole milliseconds, where `0` means "never expires".
//! A `Duration` is converted so that it never silently becomes "never":
//!
//! - `Duration::ZERO` is refused with [`Error::InvalidArgument`] (an entry that
//!   never expires is written without a TTL: `set`, or `put` with `None`);
//! - any other duration is rounded **up** to whole milliseconds, so 1 ns lives
//!   1 ms rather than forever;
//! - durations beyond `u64::MAX` milliseconds saturate to `u64::MAX`.

use std::time::Duration;

use crate::error::{Error, Result};

/// The `ttl-ms` for `ttl`: see the module docs.
pub(crate) fn ttl_ms(ttl: Duration) -> Result<u64> {
    if ttl.is_zero() {
        return Err(Error::InvalidArgument(
            "a TTL must be longer than zero (write without a TTL for an entry that never expires)".into(),
        ));
    }
    let ms = ttl.as_millis() + u128::from(!ttl.subsec_nanos().is_multiple_of(1_000_000));
    Ok(u64::try_from(ms).unwrap_or(u64::MAX))
}

/// The `ttl-ms` for an optional TTL: `None` is `None` (never expires).
pub(crate) fn opt_ttl_ms(ttl: Option<Duration>) -> Result<Option<u64>> {
    ttl.map(ttl_ms).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_milliseconds_convert_exactly() {
        assert_eq!(ttl_ms(Duration::from_millis(1)).unwrap(), 1);
        assert_eq!(ttl_ms(Duration::from_secs(1)).unwrap(), 1000);
        assert_eq!(ttl_ms(Duration::from_secs(3600)).unwrap(), 3_600_000);
    }

    #[test]
    fn fractions_of_a_millisecond_round_up() {
        assert_eq!(ttl_ms(Duration::from_nanos(1)).unwrap(), 1);
        assert_eq!(ttl_ms(Duration::from_micros(999)).unwrap(), 1);
        assert_eq!(ttl_ms(Duration::from_micros(1001)).unwrap(), 2);
        assert_eq!(ttl_ms(Duration::new(2, 500_000)).unwrap(), 2001);
    }

    #[test]
    fn huge_durations_saturate() {
        assert_eq!(ttl_ms(Duration::MAX).unwrap(), u64::MAX);
        assert_eq!(ttl_ms(Duration::from_millis(u64::MAX)).unwrap(), u64::MAX);
        assert_eq!(ttl_ms(Duration::from_millis(u64::MAX - 1)).unwrap(), u64::MAX - 1);
    }

    #[test]
    fn zero_is_refused_not_never() {
        let e = ttl_ms(Duration::ZERO).unwrap_err();
        assert!(matches!(e, Error::InvalidArgument(ref m) if m.contains("longer than zero")), "{e}");
    }

    #[test]
    fn no_ttl_is_no_ttl() {
        assert_eq!(opt_ttl_ms(None).unwrap(), None);
        assert_eq!(opt_ttl_ms(Some(Duration::from_millis(5))).unwrap(), Some(5));
        assert!(opt_ttl_ms(Some(Duration::ZERO)).is_err());
    }
}
