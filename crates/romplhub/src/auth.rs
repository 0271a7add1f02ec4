//! `POST /auth/register`, `POST /auth/login` and `POST /auth/api-key`.
//!
//! RomplHub accepts either a JWT (`Authorization: Bearer <token>`, from register or login) or
//! a long-lived API key (`X-API-Key: vx_...`, minted with a JWT and shown only once). A client
//! built without an API key sends the JWT from its last successful register or login on every
//! later call, from every clone.
//!
//! ASSUMPTION: the login body is JSON `{"username", "password"}` (the page only says "same
//! response format as register") and the API-key response names the key `api_key`; `key`,
//! `apiKey` and a bare JSON string are accepted too.

use std::fmt;

use payout_core::{AuthScheme, Error, ExposeSecret, Request, Response, Result, SecretString};
use serde::{Deserialize, Serialize};

use crate::PROVIDER;
use crate::client::{AuthMode, Client, json_body};

/// The handler for the `/auth` endpoints; see [`Client::auth`].
#[derive(Debug, Clone, Copy)]
pub struct Auth<'a> {
    pub(crate) client: &'a Client,
}

payout_core::id! {
    /// A RomplHub user id (an integer on RomplHub's API page).
    pub struct UserId(i64);
}

/// The wire body of register and login: the only place the password is written in clear.
#[derive(Serialize)]
struct CredentialsBody<'a> {
    username: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<&'a str>,
    #[serde(serialize_with = "payout_core::secret::expose")]
    password: &'a SecretString,
}

/// `POST /auth/register` as a value. Not serializable: it holds a password.
#[derive(Clone)]
pub struct Register {
    username: String,
    email: String,
    password: SecretString,
}

impl fmt::Debug for Register {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Register")
            .field("username", &self.username)
            .field("email", &self.email)
            .field("password", &"[REDACTED]")
            .finish()
    }
}

impl Register {
    /// A new account with these credentials.
    pub fn new(
        username: impl Into<String>,
        email: impl Into<String>,
        password: impl Into<SecretString>,
    ) -> Self {
        Register {
            username: username.into(),
            email: email.into(),
            password: password.into(),
        }
    }

    /// Checks the fields before anything is sent.
    pub fn validate(&self) -> Result<()> {
        if self.username.trim().is_empty() {
            return Err(Error::invalid_input(PROVIDER, "username", "must not be empty"));
        }
        let email = self.email.trim();
        if email.is_empty() || !email.contains('@') || email.chars().any(char::is_whitespace) {
            return Err(Error::invalid_input(
                PROVIDER,
                "email",
                "must be an e-mail address (`name@domain`)",
            ));
        }
        if self.password.expose_secret().is_empty() {
            return Err(Error::invalid_input(PROVIDER, "password", "must not be empty"));
        }
        Ok(())
    }

    pub(crate) fn build_request(&self, req: Request) -> Result<Request> {
        self.validate()?;
        let body = CredentialsBody {
            username: &self.username,
            email: Some(&self.email),
            password: &self.password,
        };
        Ok(json_body(req.auth(AuthScheme::None), &body)?.redact(&self.password))
    }
}

/// `POST /auth/login` as a value (ASSUMPTION: RomplHub's API page shows only the answer; the
/// body is read as JSON with `username` and `password`). Not serializable: it holds a password.
#[derive(Clone)]
pub struct Login {
    username: String,
    password: SecretString,
}

impl fmt::Debug for Login {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Login")
            .field("username", &self.username)
            .field("password", &"[REDACTED]")
            .finish()
    }
}

impl Login {
    /// Logs in as `username`.
    pub fn new(username: impl Into<String>, password: impl Into<SecretString>) -> Self {
        Login {
            username: username.into(),
            password: password.into(),
        }
    }

    /// The username.
    pub fn username(&self) -> &str {
        &self.username
    }

    /// Checks the fields before anything is sent.
    pub fn validate(&self) -> Result<()> {
        if self.username.trim().is_empty() {
            return Err(Error::invalid_input(PROVIDER, "username", "must not be empty"));
        }
        if self.password.expose_secret().is_empty() {
            return Err(Error::invalid_input(PROVIDER, "password", "must not be empty"));
        }
        Ok(())
    }

    pub(crate) fn build_request(&self, req: Request) -> Result<Request> {
        self.validate()?;
        let body = CredentialsBody {
            username: &self.username,
            email: None,
            password: &self.password,
        };
        Ok(json_body(req.auth(AuthScheme::None), &body)?.redact(&self.password))
    }
}

/// `POST /auth/api-key` as a value (no body; authenticated with the client's JWT or key).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct CreateApiKey;

impl CreateApiKey {
    pub(crate) fn build_request(&self, req: Request) -> Result<Request> {
        Ok(req)
    }
}

/// The answer to register and login: a JWT to send as `Authorization: Bearer`.
#[derive(Clone, Deserialize)]
#[non_exhaustive]
pub struct AuthToken {
    /// The JWT. Secret: never log it.
    #[serde(deserialize_with = "crate::serde_util::secret")]
    pub access_token: SecretString,
    /// The token type; RomplHub sends `"bearer"`.
    #[serde(default = "bearer")]
    pub token_type: String,
    /// The account's id. Shown in the register answer on RomplHub's API page; optional here
    /// because login is only said to answer "the same format", and a login must not fail
    /// over an id the client never uses (the JWT is what matters).
    #[serde(default)]
    pub user_id: Option<UserId>,
    /// The account's username.
    #[serde(default)]
    pub username: Option<String>,
}

fn bearer() -> String {
    "bearer".to_string()
}

impl fmt::Debug for AuthToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthToken")
            .field("access_token", &"[REDACTED]")
            .field("token_type", &self.token_type)
            .field("user_id", &self.user_id)
            .field("username", &self.username)
            .finish()
    }
}

/// A freshly minted API key (`vx_...`). RomplHub shows it only once: store it in your secret
/// manager before doing anything else.
#[derive(Clone)]
#[non_exhaustive]
pub struct ApiKey {
    /// The key. Secret: never log it.
    pub key: SecretString,
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKey").field("key", &"[REDACTED]").finish()
    }
}

impl<'de> Deserialize<'de> for ApiKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        use serde::de::Error as _;
        // Read by hand, not with serde aliases: an answer carrying both `api_key` and `key`
        // must not fail, or the key (shown only once) would be lost.
        let key = match serde_json::Value::deserialize(d)? {
            serde_json::Value::String(k) => Some(k),
            serde_json::Value::Object(mut m) => {
                ["api_key", "key", "apiKey", "token"]
                    .iter()
                    .find_map(|k| match m.remove(*k) {
                        Some(serde_json::Value::String(s)) => Some(s),
                        _ => None,
                    })
            }
            _ => None,
        };
        let key = key.ok_or_else(|| D::Error::custom("no `api_key` string in the answer"))?;
        Ok(ApiKey {
            key: SecretString::from(key),
        })
    }
}

impl Auth<'_> {
    /// `POST /auth/register`: creates an account and returns its JWT (201). A client built
    /// without an API key starts sending this JWT on every call.
    ///
    /// Never re-sent once it may have reached RomplHub (it creates an account).
    pub async fn register(&self, req: &Register) -> Result<AuthToken> {
        let token = self.client.send(req).await?;
        self.adopt(&token);
        Ok(token)
    }

    /// `POST /auth/login`: returns a JWT. A client built without an API key starts sending
    /// it on every call. Retried like a read: logging in twice changes nothing.
    pub async fn login(&self, req: &Login) -> Result<AuthToken> {
        let token = self.client.send(req).await?;
        self.adopt(&token);
        Ok(token)
    }

    /// `POST /auth/api-key`: mints a long-lived `vx_...` key, authenticated with the JWT (or
    /// key) this client holds. The key is shown only once; switch to it with
    /// [`Client::with_api_key`].
    ///
    /// Never re-sent once it may have reached RomplHub, so a lost answer cannot mint two keys.
    pub async fn create_api_key(&self) -> Result<ApiKey> {
        self.client.send(&CreateApiKey).await
    }

    fn adopt(&self, token: &AuthToken) {
        // An API-key client keeps its key: the transport would send a JWT in `X-API-Key`.
        if self.client.mode == AuthMode::Bearer {
            self.client.transport.set_credential(token.access_token.clone());
        }
    }
}

/// Decodes an answer that carries a secret (a JWT or a new API key). Unlike
/// `Response::json`, a failure keeps no body snippet and no serde message: both could quote
/// the secret.
pub(crate) fn decode_secret<T: serde::de::DeserializeOwned>(resp: &Response) -> Result<T> {
    serde_json::from_slice(resp.body()).map_err(|_| {
        let what = std::any::type_name::<T>().rsplit("::").next().unwrap_or("auth");
        Error::decode(
            PROVIDER,
            Some(resp.status()),
            format!(
                "could not decode the {what} answer (body withheld: it may carry a secret); the call may have succeeded, and a new API key is shown only once"
            ),
        )
        .with_request_id(resp.request_id().map(str::to_string))
    })
}
