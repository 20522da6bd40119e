//! One parse for anything signed. A signed payload with a repeated key is refused before it is
//! verified: where verification and business code each pick "their" copy of a key (last-wins map vs
//! first match), one genuine signature can be made to vouch for fields it never covered. Every
//! gateway module parses forms and JSON through here and hands the verified result on, so nothing
//! downstream re-reads the raw input.
use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, SeqAccess, Visitor};
use std::collections::{BTreeMap, HashSet};
use std::fmt;

/// Why a payload was refused before verification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StrictError {
    #[error("repeated key {0:?}")]
    RepeatedKey(String),
    #[error("malformed: {0}")]
    Malformed(String),
}

/// Parses `application/x-www-form-urlencoded` into one value per key, refusing a repeated key
/// (after URL-decoding, so `a=1&%61=2` is refused too).
pub fn form(raw: &[u8]) -> Result<BTreeMap<String, String>, StrictError> {
    let mut fields = BTreeMap::new();
    for (k, v) in url::form_urlencoded::parse(raw) {
        if fields.insert(k.to_string(), v.into_owned()).is_some() {
            return Err(StrictError::RepeatedKey(k.into_owned()));
        }
    }
    Ok(fields)
}

/// Checks that no JSON object, at any depth, repeats a key.
pub fn unique_keys(raw: &[u8]) -> Result<(), StrictError> {
    let mut de = serde_json::Deserializer::from_slice(raw);
    // Bound the walk like serde_json bounds its own recursion (128 levels).
    UniqueKeys { depth: 0 }.deserialize_checked(&mut de).map_err(|e| {
        let msg = e.to_string();
        match msg.strip_prefix(REPEATED) {
            Some(rest) => StrictError::RepeatedKey(rest.split(" at line").next().unwrap_or(rest).to_string()),
            None => StrictError::Malformed(msg),
        }
    })?;
    de.end().map_err(|e| StrictError::Malformed(e.to_string()))
}

/// Parses JSON into `T` after `unique_keys` passed: the same bytes, no key ambiguous.
pub fn json<T: DeserializeOwned>(raw: &[u8]) -> Result<T, StrictError> {
    unique_keys(raw)?;
    serde_json::from_slice(raw).map_err(|e| StrictError::Malformed(e.to_string()))
}

const REPEATED: &str = "repeated key ";
const MAX_DEPTH: usize = 128;

/// A visitor that walks any JSON value and fails on the first repeated object key.
#[derive(Clone, Copy)]
struct UniqueKeys {
    depth: usize,
}

impl UniqueKeys {
    fn deserialize_checked<'de, D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        if self.depth > MAX_DEPTH {
            return Err(de::Error::custom("nested too deeply"));
        }
        d.deserialize_any(self)
    }
}

impl<'de> de::DeserializeSeed<'de> for UniqueKeys {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        self.deserialize_checked(d)
    }
}

impl<'de> Visitor<'de> for UniqueKeys {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let inner = UniqueKeys { depth: self.depth + 1 };
        while seq.next_element_seed(inner)?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let inner = UniqueKeys { depth: self.depth + 1 };
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            map.next_value_seed(inner)?;
            if !seen.insert(key.clone()) {
                return Err(de::Error::custom(format!("{REPEATED}{key}")));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn forms_with_a_repeated_key_are_refused() {
        assert_eq!(form(b"a=1&b=2").unwrap().len(), 2);
        assert_eq!(form(b"a=1&a=2"), Err(StrictError::RepeatedKey("a".into())));
        // The same key spelt two ways is still the same key once decoded.
        assert_eq!(form(b"a=1&%61=2"), Err(StrictError::RepeatedKey("a".into())));
        assert_eq!(form(b"sign=x&b=1&sign=y"), Err(StrictError::RepeatedKey("sign".into())));
    }

    #[test]
    fn json_with_a_repeated_key_at_any_depth_is_refused() {
        assert!(unique_keys(br#"{"a":1,"b":{"c":[{"d":1,"e":2}]}}"#).is_ok());
        assert_eq!(
            unique_keys(br#"{"a":1,"a":2}"#),
            Err(StrictError::RepeatedKey("a".into()))
        );
        assert_eq!(
            unique_keys(br#"{"x":{"y":[{"amount":1,"amount":2}]}}"#),
            Err(StrictError::RepeatedKey("amount".into()))
        );
        // Escapes decode to the same key.
        assert_eq!(
            unique_keys(br#"{"id":1,"\u0069d":2}"#),
            Err(StrictError::RepeatedKey("id".into()))
        );
        assert!(matches!(unique_keys(b"{\"a\":1} x"), Err(StrictError::Malformed(_))));
        assert!(matches!(unique_keys(b"not json"), Err(StrictError::Malformed(_))));
        let deep = format!("{}{}", "[".repeat(500), "]".repeat(500));
        assert!(matches!(unique_keys(deep.as_bytes()), Err(StrictError::Malformed(_))));
    }

    #[test]
    fn json_parses_only_unambiguous_input() {
        #[derive(serde::Deserialize)]
        struct T {
            total: i64,
        }
        assert_eq!(json::<T>(br#"{"total":5,"other":1}"#).unwrap().total, 5);
        assert!(json::<T>(br#"{"total":5,"other":1,"other":2}"#).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        #[test]
        fn never_panics_on_arbitrary_bytes(raw in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = form(&raw);
            let _ = unique_keys(&raw);
        }

        /// Agrees with serde_json about well-formedness, and finds exactly the repeats.
        #[test]
        fn finds_repeats_exactly(keys in proptest::collection::vec("[a-c]{1,2}", 0..6)) {
            let body = format!("{{{}}}", keys.iter().enumerate().map(|(i, k)| format!("\"{k}\":{i}")).collect::<Vec<_>>().join(","));
            let distinct: HashSet<_> = keys.iter().collect();
            prop_assert_eq!(unique_keys(body.as_bytes()).is_ok(), distinct.len() == keys.len());
        }
    }
}
