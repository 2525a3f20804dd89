//! Values as JSON, through serde (feature `json`).

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::Result;
use crate::store::Store;

#[cfg_attr(docsrs, doc(cfg(feature = "json")))]
impl Store {
    /// The value under `key` decoded from JSON, or `None` if it is absent.
    /// A value that is not JSON of type `T` is [`Error::Json`](crate::Error::Json).
    ///
    /// ```no_run
    /// use kvhost_guest::Store;
    /// use std::collections::BTreeMap;
    ///
    /// # fn main() -> Result<(), kvhost_guest::Error> {
    /// let store = Store::open_default()?;
    /// let prefs = BTreeMap::from([("theme", "dark")]);
    /// store.set_json("prefs:ada", &prefs)?;
    /// let back: Option<BTreeMap<String, String>> = store.get_json("prefs:ada")?;
    /// assert_eq!(back.unwrap()["theme"], "dark");
    /// # Ok(())
    /// # }
    /// ```
    pub fn get_json<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        self.get(key)?.map(|bytes| decode(&bytes)).transpose()
    }

    /// Store `value` under `key` as JSON; it never expires.
    pub fn set_json<T: Serialize + ?Sized>(&self, key: &str, value: &T) -> Result<()> {
        self.set(key, encode(value)?)
    }

    /// Store `value` under `key` as JSON, expiring `ttl` from now (as in
    /// [`Store::set_with_ttl`]).
    pub fn set_json_with_ttl<T: Serialize + ?Sized>(&self, key: &str, value: &T, ttl: Duration) -> Result<()> {
        self.set_with_ttl(key, encode(value)?, ttl)
    }
}

fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>> {
    Ok(serde_json::to_vec(value)?)
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    Ok(serde_json::from_slice(bytes)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use std::collections::BTreeMap;

    #[test]
    fn values_round_trip() {
        let map = BTreeMap::from([("a".to_string(), vec![1, 2]), ("b".to_string(), vec![])]);
        let bytes = encode(&map).unwrap();
        assert_eq!(bytes, br#"{"a":[1,2],"b":[]}"#);
        assert_eq!(decode::<BTreeMap<String, Vec<i32>>>(&bytes).unwrap(), map);
        assert_eq!(encode("text").unwrap(), br#""text""#);
    }

    #[test]
    fn a_value_of_another_type_is_a_json_error() {
        assert!(matches!(decode::<u32>(b"\"text\""), Err(Error::Json(_))));
        assert!(matches!(decode::<u32>(b"not json"), Err(Error::Json(_))));
    }
}
