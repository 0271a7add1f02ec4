//! Environment helpers for the `from_env` constructors.

use crate::error::{Error, Result};

/// Reads an environment variable for `from_env` constructors: `Ok(None)` when unset or
/// empty, a [`crate::ErrorKind::Config`] error when it is not valid UTF-8.
pub fn env_var(provider: &'static str, name: &str) -> Result<Option<String>> {
    match std::env::var(name) {
        Ok(v) if v.trim().is_empty() => Ok(None),
        Ok(v) => Ok(Some(v.trim().to_string())),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(Error::config(
            provider,
            format!("environment variable {name} is not valid UTF-8"),
        )),
    }
}

/// Reads a required environment variable, failing with an error that names it.
pub fn require_env(provider: &'static str, name: &str) -> Result<String> {
    env_var(provider, name)?.ok_or_else(|| {
        Error::config(
            provider,
            format!(
                "environment variable {name} is not set; export it or build the client with Client::builder()"
            ),
        )
    })
}
