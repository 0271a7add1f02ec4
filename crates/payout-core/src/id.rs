//! `id!`: the one way every provider crate declares its id newtypes.

/// Declares an id newtype: `pub struct Name(String)` or `pub struct Name(i64)`.
///
/// A string id implements `new`, `as_str`, `Display`, `AsRef<str>`, `From<&str>`,
/// `From<String>`, `From<&String>`, `From<&Name>`, and serde as a plain string; a JSON number is accepted too and
/// kept as its decimal text (providers have switched id types before, and that must not break
/// decoding). An integer id implements `get`, `Display`, `From<i64>`, `From<&Name>`, `FromStr`,
/// and serde as a number. Both derive `Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord`.
///
/// ```
/// payout_core::id! {
///     /// An order id.
///     pub struct OrderId(String);
/// }
/// payout_core::id! {
///     /// A product id.
///     pub struct ProductId(i64);
/// }
/// let id: OrderId = serde_json::from_str("123").unwrap();
/// assert_eq!(id.as_str(), "123");
/// assert_eq!(OrderId::from("a b").to_string(), "a b");
/// let p: ProductId = serde_json::from_str("456").unwrap();
/// assert_eq!(p.get(), 456);
/// fn takes(id: impl Into<OrderId>) -> OrderId { id.into() }
/// assert_eq!(takes(&id), id);
/// let stored = String::from("123");
/// assert_eq!(takes(&stored), id);
/// ```
#[macro_export]
macro_rules! id {
    ($(#[$meta:meta])* $vis:vis struct $name:ident(String);) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis struct $name(String);

        impl $name {
            /// Wraps an id.
            pub fn new(id: impl Into<String>) -> Self {
                $name(id.into())
            }
            /// The id as sent on the wire.
            pub fn as_str(&self) -> &str {
                &self.0
            }
            /// The id as an owned string.
            pub fn into_string(self) -> String {
                self.0
            }
        }
        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl ::std::convert::AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
        impl ::std::convert::From<&str> for $name {
            fn from(s: &str) -> Self {
                $name(s.to_string())
            }
        }
        impl ::std::convert::From<String> for $name {
            fn from(s: String) -> Self {
                $name(s)
            }
        }
        impl ::std::convert::From<&String> for $name {
            fn from(s: &String) -> Self {
                $name(s.clone())
            }
        }
        impl ::std::convert::From<&$name> for $name {
            fn from(s: &$name) -> Self {
                s.clone()
            }
        }
        impl $crate::__serde::Serialize for $name {
            fn serialize<S: $crate::__serde::Serializer>(&self, s: S) -> ::std::result::Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }
        impl<'de> $crate::__serde::Deserialize<'de> for $name {
            fn deserialize<D: $crate::__serde::Deserializer<'de>>(d: D) -> ::std::result::Result<Self, D::Error> {
                $crate::id::string_or_number(d).map($name)
            }
        }
    };
    ($(#[$meta:meta])* $vis:vis struct $name:ident(i64);) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis struct $name(i64);

        impl $name {
            /// Wraps an id.
            pub const fn new(id: i64) -> Self {
                $name(id)
            }
            /// The id's value.
            pub const fn get(self) -> i64 {
                self.0
            }
        }
        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                ::std::fmt::Display::fmt(&self.0, f)
            }
        }
        impl ::std::convert::From<i64> for $name {
            fn from(v: i64) -> Self {
                $name(v)
            }
        }
        impl ::std::convert::From<&$name> for $name {
            fn from(v: &$name) -> Self {
                *v
            }
        }
        impl ::std::str::FromStr for $name {
            type Err = ::std::num::ParseIntError;
            fn from_str(s: &str) -> ::std::result::Result<Self, Self::Err> {
                s.parse().map($name)
            }
        }
        impl $crate::__serde::Serialize for $name {
            fn serialize<S: $crate::__serde::Serializer>(&self, s: S) -> ::std::result::Result<S::Ok, S::Error> {
                s.serialize_i64(self.0)
            }
        }
        impl<'de> $crate::__serde::Deserialize<'de> for $name {
            fn deserialize<D: $crate::__serde::Deserializer<'de>>(d: D) -> ::std::result::Result<Self, D::Error> {
                <i64 as $crate::__serde::Deserialize>::deserialize(d).map($name)
            }
        }
    };
}

/// Reads a JSON string or number as a string (used by [`id!`]).
#[doc(hidden)]
pub fn string_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    struct V;
    impl serde::de::Visitor<'_> for V {
        type Value = String;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an id (a string or a number)")
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_string<E: serde::de::Error>(self, v: String) -> Result<String, E> {
            Ok(v)
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<String, E> {
            Ok(v.to_string())
        }
    }
    d.deserialize_any(V)
}
