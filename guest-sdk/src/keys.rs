//! [`Keys`]: every key under a prefix, paging through `list-keys` cursors.

use std::iter::FusedIterator;

use crate::error::Result;
use crate::store::Store;
use crate::types::KeyPage;

/// An iterator over the keys of a store that start with a prefix, in
/// ascending byte order, from [`Store::keys`].
///
/// It asks the host for one page at a time (up to 1000 keys by default, see
/// [`Keys::page_size`]) and for the next page, with the cursor of the last,
/// only when the page in hand is used up. A key that stays live throughout the
/// listing is returned exactly once, even while others write to the store.
///
/// A failed page request is returned as one `Err` item, after which the
/// iterator ends.
///
/// ```no_run
/// use kvhost_guest::Store;
///
/// # fn main() -> Result<(), kvhost_guest::Error> {
/// let store = Store::open_default()?;
/// for key in store.keys("user:") {
///     println!("{}", key?);
/// }
/// let users: Vec<String> = store.keys("user:").collect::<Result<_, _>>()?;
/// # let _ = users;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
#[must_use = "iterators are lazy and do nothing unless consumed"]
pub struct Keys<'a> {
    store: &'a Store,
    prefix: String,
    page_size: u32,
    pager: Pager,
}

impl<'a> Keys<'a> {
    pub(crate) fn new(store: &'a Store, prefix: &str) -> Self {
        Keys { store, prefix: prefix.to_owned(), page_size: 0, pager: Pager::default() }
    }

    /// Ask for pages of at most `limit` keys; `0` (the default) lets the store
    /// choose (1000). Only pages not yet fetched are affected.
    pub fn page_size(mut self, limit: u32) -> Self {
        self.page_size = limit;
        self
    }
}

impl Iterator for Keys<'_> {
    type Item = Result<String>;

    fn next(&mut self) -> Option<Self::Item> {
        let Keys { store, prefix, page_size, pager } = self;
        pager.next_with(|cursor| store.list_keys(prefix, cursor, *page_size))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.pager.size_hint()
    }
}

impl FusedIterator for Keys<'_> {}

/// What comes after the keys in hand.
#[derive(Debug, Default)]
enum Next {
    /// The first page, not asked for yet.
    #[default]
    First,
    /// The page after this cursor.
    After(String),
    /// Nothing: the last page was fetched, or a fetch failed.
    Done,
}

/// The paging logic of [`Keys`], over any function that fetches a page given
/// a cursor (`None` for the first page), so that it can be tested without a host.
#[derive(Debug, Default)]
pub(crate) struct Pager {
    buffer: std::vec::IntoIter<String>,
    next: Next,
}

impl Pager {
    /// The next key, fetching pages with `fetch` as needed. Pages without keys
    /// but with a cursor are skipped. After an error, always `None`.
    pub(crate) fn next_with(
        &mut self,
        mut fetch: impl FnMut(Option<&str>) -> Result<KeyPage>,
    ) -> Option<Result<String>> {
        loop {
            if let Some(key) = self.buffer.next() {
                return Some(Ok(key));
            }
            let cursor = match std::mem::replace(&mut self.next, Next::Done) {
                Next::Done => return None,
                Next::First => None,
                Next::After(cursor) => Some(cursor),
            };
            match fetch(cursor.as_deref()) {
                Ok(page) => {
                    self.buffer = page.keys.into_iter();
                    if let Some(cursor) = page.cursor {
                        self.next = Next::After(cursor);
                    }
                }
                Err(e) => return Some(Err(e)),
            }
        }
    }

    pub(crate) fn size_hint(&self) -> (usize, Option<usize>) {
        let here = self.buffer.len();
        match self.next {
            Next::Done => (here, Some(here)),
            _ => (here, None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    /// A fake `list-keys` over `keys` (sorted) that pages by `limit`, with the
    /// index of the next key as cursor, recording the cursors it was given.
    struct Fake {
        keys: Vec<String>,
        limit: usize,
        calls: Vec<Option<String>>,
    }

    impl Fake {
        fn new(n: usize, limit: usize) -> Self {
            Fake { keys: (0..n).map(|i| format!("k{i:05}")).collect(), limit, calls: Vec::new() }
        }

        fn fetch(&mut self, cursor: Option<&str>) -> Result<KeyPage> {
            self.calls.push(cursor.map(str::to_owned));
            let start: usize = match cursor {
                None => 0,
                Some(c) => c.parse().map_err(|_| Error::InvalidArgument(format!("bad cursor {c}")))?,
            };
            let end = (start + self.limit).min(self.keys.len());
            let cursor = (end < self.keys.len()).then(|| end.to_string());
            Ok(KeyPage { keys: self.keys[start..end].to_vec(), cursor })
        }

        fn drain(&mut self) -> Vec<String> {
            let mut pager = Pager::default();
            let mut out = Vec::new();
            while let Some(key) = pager.next_with(|c| self.fetch(c)) {
                out.push(key.unwrap());
            }
            assert!(pager.next_with(|c| self.fetch(c)).is_none(), "fused");
            out
        }
    }

    #[test]
    fn pages_through_every_cursor_in_order() {
        let mut fake = Fake::new(2500, 1000);
        let keys = fake.drain();
        assert_eq!(keys, fake.keys);
        assert_eq!(fake.calls, [None, Some("1000".into()), Some("2000".into())]);
    }

    #[test]
    fn a_single_page_is_one_call() {
        let mut fake = Fake::new(3, 1000);
        assert_eq!(fake.drain().len(), 3);
        assert_eq!(fake.calls, [None]);
    }

    #[test]
    fn an_empty_listing_is_one_call_and_no_keys() {
        let mut fake = Fake::new(0, 1000);
        assert!(fake.drain().is_empty());
        assert_eq!(fake.calls, [None]);
    }

    #[test]
    fn an_exact_multiple_of_the_page_ends_on_a_cursorless_page() {
        let mut fake = Fake::new(4, 2);
        assert_eq!(fake.drain().len(), 4);
        assert_eq!(fake.calls, [None, Some("2".into())]);
    }

    #[test]
    fn pages_without_keys_but_with_a_cursor_are_skipped() {
        let mut pages = vec![
            KeyPage { keys: vec![], cursor: Some("a".into()) },
            KeyPage { keys: vec!["x".into()], cursor: Some("b".into()) },
            KeyPage { keys: vec![], cursor: Some("c".into()) },
            KeyPage { keys: vec!["y".into(), "z".into()], cursor: None },
        ]
        .into_iter();
        let mut seen = Vec::new();
        let mut pager = Pager::default();
        let mut keys = Vec::new();
        while let Some(k) = pager.next_with(|c| {
            seen.push(c.map(str::to_owned));
            Ok(pages.next().expect("no fetch after the last page"))
        }) {
            keys.push(k.unwrap());
        }
        assert_eq!(keys, ["x", "y", "z"]);
        assert_eq!(seen, [None, Some("a".into()), Some("b".into()), Some("c".into())]);
    }

    #[test]
    fn an_error_is_returned_once_then_the_iterator_ends() {
        let mut calls = 0;
        let mut fetch = |c: Option<&str>| {
            calls += 1;
            match c {
                None => Ok(KeyPage { keys: vec!["a".into()], cursor: Some("1".into()) }),
                Some(_) => Err(Error::Unavailable("database down".into())),
            }
        };
        let mut pager = Pager::default();
        assert_eq!(pager.next_with(&mut fetch).unwrap().unwrap(), "a");
        assert!(matches!(pager.next_with(&mut fetch), Some(Err(Error::Unavailable(_)))));
        assert!(pager.next_with(&mut fetch).is_none());
        assert!(pager.next_with(&mut fetch).is_none());
        assert_eq!(calls, 2);
    }

    #[test]
    fn size_hint_counts_the_page_in_hand() {
        let mut fake = Fake::new(5, 3);
        let mut pager = Pager::default();
        assert_eq!(pager.size_hint(), (0, None));
        pager.next_with(|c| fake.fetch(c)).unwrap().unwrap();
        assert_eq!(pager.size_hint(), (2, None));
        for _ in 0..3 {
            pager.next_with(|c| fake.fetch(c)).unwrap().unwrap();
        }
        assert_eq!(pager.size_hint(), (1, Some(1)));
    }
}
