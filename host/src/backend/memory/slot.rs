//! One entry of the memory store in one allocation behind a thin pointer:
//! a 24-byte header (expiry, version, key and value lengths), then the key,
//! then the value. The table holds 8 bytes per bucket for it, where a
//! `(Box<str>, Box<[u8]>, u64, u64)` tuple took 48 and two allocations.

use std::alloc::{Layout, alloc, dealloc, handle_alloc_error};
use std::ptr::NonNull;

/// The header at the start of every slot's allocation.
#[repr(C)]
struct Header {
    /// Unix milliseconds, or `u64::MAX` for never.
    expires_at: u64,
    version: u64,
    key_len: u32,
    value_len: u32,
}

const HEADER: usize = size_of::<Header>();

/// An owned entry: key, value, expiry and version in one heap block.
pub(super) struct Slot(NonNull<Header>);

// SAFETY: a Slot owns its allocation outright (like a Box), and its bytes
// are only read through `&self` and written through `&mut self`.
unsafe impl Send for Slot {}
// SAFETY: as above; `&Slot` gives read-only access.
unsafe impl Sync for Slot {}

impl Slot {
    /// A new slot. Keys and values longer than `u32::MAX` bytes cannot be
    /// stored (the store's limits are far below).
    pub(super) fn new(key: &str, value: &[u8], expires_at: u64, version: u64) -> Self {
        let key_len = u32::try_from(key.len()).expect("keys are limited to u32::MAX bytes");
        let value_len = u32::try_from(value.len()).expect("values are limited to u32::MAX bytes");
        let layout = Self::layout(key.len(), value.len());
        // SAFETY: the layout is never zero-sized (it holds the header).
        let raw = unsafe { alloc(layout) };
        let Some(ptr) = NonNull::new(raw.cast::<Header>()) else { handle_alloc_error(layout) };
        // SAFETY: `raw` is a fresh allocation of `layout`: the header fits at
        // its start (aligned to 8), then `key.len() + value.len()` bytes.
        unsafe {
            ptr.as_ptr().write(Header { expires_at, version, key_len, value_len });
            let data = raw.add(HEADER);
            std::ptr::copy_nonoverlapping(key.as_ptr(), data, key.len());
            std::ptr::copy_nonoverlapping(value.as_ptr(), data.add(key.len()), value.len());
        }
        Slot(ptr)
    }

    fn layout(key_len: usize, value_len: usize) -> Layout {
        let size = HEADER.checked_add(key_len).and_then(|n| n.checked_add(value_len)).expect("entry size overflows");
        Layout::from_size_align(size, align_of::<Header>()).expect("entry size overflows")
    }

    fn header(&self) -> &Header {
        // SAFETY: the header was written by `new` and lives as long as self.
        unsafe { self.0.as_ref() }
    }

    fn data(&self) -> *mut u8 {
        // SAFETY: the data follows the header inside the same allocation.
        unsafe { self.0.as_ptr().cast::<u8>().add(HEADER) }
    }

    pub(super) fn key(&self) -> &str {
        let len = self.header().key_len as usize;
        // SAFETY: `new` copied `len` bytes of a `&str` here: valid UTF-8,
        // borrowed for as long as self.
        unsafe { std::str::from_utf8_unchecked(std::slice::from_raw_parts(self.data(), len)) }
    }

    pub(super) fn value(&self) -> &[u8] {
        let h = self.header();
        // SAFETY: `new` copied `value_len` bytes after the key.
        unsafe { std::slice::from_raw_parts(self.data().add(h.key_len as usize), h.value_len as usize) }
    }

    pub(super) fn expires_at(&self) -> u64 {
        self.header().expires_at
    }

    /// Whether the entry is live at `now_ms` (Unix milliseconds).
    pub(super) fn is_live_at(&self, now_ms: u64) -> bool {
        self.expires_at() > now_ms
    }

    pub(super) fn version(&self) -> u64 {
        self.header().version
    }

    /// Replace value, expiry and version, keeping the key. The same
    /// allocation is reused when the new value has the old one's length.
    pub(super) fn overwrite(&mut self, value: &[u8], expires_at: u64, version: u64) {
        if value.len() != self.value().len() {
            *self = Slot::new(self.key(), value, expires_at, version);
            return;
        }
        let key_len = self.header().key_len as usize;
        // SAFETY: `&mut self` is the only access; the header and the value's
        // `value.len()` bytes after the key are inside the allocation.
        unsafe {
            let h = self.0.as_mut();
            h.expires_at = expires_at;
            h.version = version;
            std::ptr::copy_nonoverlapping(value.as_ptr(), self.data().add(key_len), value.len());
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let h = self.header();
        let layout = Self::layout(h.key_len as usize, h.value_len as usize);
        // SAFETY: allocated by `new` with this same layout, freed once.
        unsafe { dealloc(self.0.as_ptr().cast(), layout) }
    }
}

impl std::fmt::Debug for Slot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Slot")
            .field("key", &self.key())
            .field("value_len", &self.value().len())
            .field("expires_at", &self.expires_at())
            .field("version", &self.version())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_key_value_expiry_and_version() {
        let s = Slot::new("user:1", b"ada", 42, 7);
        assert_eq!((s.key(), s.value(), s.expires_at(), s.version()), ("user:1", &b"ada"[..], 42, 7));
    }

    #[test]
    fn overwrites_in_place_or_reallocates_keeping_the_key() {
        let mut s = Slot::new("k\u{e9}", b"abc", 1, 1);
        s.overwrite(b"xyz", 2, 2);
        assert_eq!((s.key(), s.value(), s.expires_at(), s.version()), ("k\u{e9}", &b"xyz"[..], 2, 2));
        s.overwrite(b"a longer value", u64::MAX, 3);
        assert_eq!((s.key(), s.value(), s.expires_at(), s.version()), ("k\u{e9}", &b"a longer value"[..], u64::MAX, 3));
        s.overwrite(b"", 4, 4);
        assert_eq!((s.key(), s.value()), ("k\u{e9}", &b""[..]));
    }

    #[test]
    fn is_one_pointer_wide() {
        assert_eq!(size_of::<Slot>(), size_of::<usize>());
        assert_eq!(HEADER, 24);
    }
}
