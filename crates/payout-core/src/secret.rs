//! Serde helpers for secrets in request bodies. `secrecy::SecretString` is deliberately not
//! `Serialize`; these expose the value only while the body is being written, so a request
//! type can hold a password or card number as a `SecretString` (redacted `Debug`) and still
//! be sent.
//!
//! ```
//! use payout_core::SecretString;
//! #[derive(serde::Serialize)]
//! struct Login {
//!     email: String,
//!     #[serde(serialize_with = "payout_core::secret::expose")]
//!     password: SecretString,
//! }
//! let body = serde_json::to_string(&Login { email: "a@b.c".into(), password: "hunter2".into() }).unwrap();
//! assert_eq!(body, r#"{"email":"a@b.c","password":"hunter2"}"#);
//! ```

use secrecy::{ExposeSecret, SecretString};
use serde::Serializer;

/// Writes the secret's value as a JSON string.
pub fn expose<S: Serializer>(secret: &SecretString, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(secret.expose_secret())
}

/// Writes `Some(secret)` as a string and `None` as `null` (pair it with
/// `skip_serializing_if = "Option::is_none"` to omit the field).
pub fn expose_option<S: Serializer>(secret: &Option<SecretString>, s: S) -> Result<S::Ok, S::Error> {
    match secret {
        Some(v) => s.serialize_str(v.expose_secret()),
        None => s.serialize_none(),
    }
}

/// Writes a list of secrets as a JSON array of strings.
pub fn expose_vec<S: Serializer>(secrets: &[SecretString], s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeSeq;
    let mut seq = s.serialize_seq(Some(secrets.len()))?;
    for v in secrets {
        seq.serialize_element(v.expose_secret())?;
    }
    seq.end()
}
