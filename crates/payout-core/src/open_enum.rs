//! `open_enum!`: the provider enums (statuses, error codes, assets) with a variant per
//! documented value and an `Unknown(String)` that keeps anything new, so a provider adding a
//! value never breaks decoding.

/// Declares an open enum: one variant per documented wire value plus `Unknown(String)`.
///
/// It derives `Debug, Clone, PartialEq, Eq, Hash`, marks the enum `#[non_exhaustive]`, and
/// implements `as_str`, `Display`, `From<&str>`, `From<String>`, `FromStr` (infallible),
/// `Serialize` and `Deserialize` (any string accepted).
///
/// ```
/// payout_core::open_enum! {
///     /// The state of an order.
///     pub enum Status {
///         /// Accepted.
///         Created => "CREATED",
///         /// Delivered.
///         Completed => "COMPLETED",
///     }
/// }
/// let s: Status = serde_json::from_str("\"COMPLETED\"").unwrap();
/// assert_eq!(s, Status::Completed);
/// let new: Status = serde_json::from_str("\"ON_HOLD\"").unwrap();
/// assert_eq!(new, Status::Unknown("ON_HOLD".into()));
/// assert_eq!(serde_json::to_string(&new).unwrap(), "\"ON_HOLD\"");
/// assert_eq!(Status::Created.to_string(), "CREATED");
/// ```
#[macro_export]
macro_rules! open_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident => $wire:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value this version of the crate does not know yet, kept exactly as sent.
            Unknown(::std::string::String),
        }

        impl $name {
            /// Every documented wire value, in declaration order.
            pub const KNOWN: &'static [&'static str] = &[$($wire),+];

            /// The value as it appears on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $wire, )+
                    $name::Unknown(s) => s.as_str(),
                }
            }

            /// True for a value this version does not know.
            pub fn is_unknown(&self) -> bool {
                matches!(self, $name::Unknown(_))
            }
        }

        impl ::std::convert::From<&str> for $name {
            fn from(s: &str) -> Self {
                match s {
                    $( $wire => $name::$variant, )+
                    other => $name::Unknown(other.to_string()),
                }
            }
        }

        impl ::std::convert::From<::std::string::String> for $name {
            fn from(s: ::std::string::String) -> Self {
                match s.as_str() {
                    $( $wire => $name::$variant, )+
                    _ => $name::Unknown(s),
                }
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = ::std::convert::Infallible;
            fn from_str(s: &str) -> ::std::result::Result<Self, Self::Err> {
                Ok($name::from(s))
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl $crate::__serde::Serialize for $name {
            fn serialize<S: $crate::__serde::Serializer>(&self, s: S) -> ::std::result::Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> $crate::__serde::Deserialize<'de> for $name {
            fn deserialize<D: $crate::__serde::Deserializer<'de>>(d: D) -> ::std::result::Result<Self, D::Error> {
                let s: ::std::string::String = $crate::__serde::Deserialize::deserialize(d)?;
                Ok($name::from(s))
            }
        }
    };
}
