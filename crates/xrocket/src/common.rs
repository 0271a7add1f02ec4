//! Types shared by several resources: assets, networks, target types, object lookups,
//! callbacks, links, and the checks every request runs before anything is sent.

use payout_core::money::fits_precision;
use payout_core::{Decimal, Error, Page, Result, Timestamp};
use serde::{Deserialize, Serialize};

use crate::client::PROVIDER;

payout_core::open_enum! {
    /// A crypto asset code. The list grows over time (`GET /api/v1/currencies` has the
    /// current one); codes this crate does not know arrive as `Asset::Unknown("CODE")` and
    /// can be sent the same way (`Asset::from("CODE")`).
    pub enum Asset {
        /// Toncoin (xRocket writes TON as `TONCOIN`).
        Toncoin => "TONCOIN",
        /// Tether USD.
        Usdt => "USDT",
        /// USD Coin.
        Usdc => "USDC",
        /// Bitcoin.
        Btc => "BTC",
        /// Ether.
        Eth => "ETH",
        /// Tron.
        Trx => "TRX",
        /// Solana.
        Sol => "SOL",
        /// BNB.
        Bnb => "BNB",
        /// xRocket's own token.
        Xrock => "XROCK",
        /// Notcoin.
        Not => "NOT",
        /// Dogs.
        Dogs => "DOGS",
        /// Gram.
        Gram => "GRAM",
    }
}

payout_core::open_enum! {
    /// A blockchain network for withdrawals and deposit addresses.
    pub enum Network {
        /// The Open Network.
        Ton => "TON",
        /// BNB Smart Chain.
        Bsc => "BSC",
        /// Ethereum.
        Eth => "ETH",
        /// Bitcoin.
        Btc => "BTC",
        /// Tron.
        Trx => "TRX",
        /// Solana.
        Sol => "SOL",
    }
}

payout_core::open_enum! {
    /// How a transfer or cheque recipient is identified.
    pub enum TargetType {
        /// A Telegram user id (the only type mass transfers accept).
        TelegramUserId => "telegram_user_id",
        /// An xRocket user id.
        UserId => "user_id",
        /// A Telegram username, without `@`.
        TelegramUsername => "telegram_username",
    }
}

/// How many decimal places the crate accepts for an amount in `code` when the client has no
/// override ([`crate::ClientBuilder::asset_precision`]).
///
/// xRocket does not publish per-asset precision for this API; the legacy API cut amounts to 9
/// decimals, silently. Rather than let the provider round a payout, the crate refuses amounts
/// finer than: 8 for BTC, 6 for USDT, USDC and TRX, 2 for common fiat codes (invoice prices),
/// and 9 for everything else.
///
/// ```
/// assert_eq!(xrocket::common::max_decimals("BTC"), 8);
/// assert_eq!(xrocket::common::max_decimals("TONCOIN"), 9);
/// assert_eq!(xrocket::common::max_decimals("USD"), 2);
/// ```
pub fn max_decimals(code: &str) -> u32 {
    match code {
        "BTC" => 8,
        "USDT" | "USDC" | "TRX" => 6,
        "USD" | "EUR" | "RUB" | "GBP" | "UAH" | "KZT" | "BYN" | "UZS" | "TRY" | "INR" | "BRL" | "CNY" => 2,
        _ => 9,
    }
}

/// Which object a single-object call addresses: xRocket's id or your client id. Sent as the
/// query parameter `xxxId` or `clientXxxId`.
///
/// ```
/// use xrocket::{Lookup, InvoiceId};
/// let by_id: Lookup = InvoiceId::from("123").into();
/// assert_eq!(by_id, Lookup::id("123"));
/// let by_mine = Lookup::client_id("order-1001");
/// # let _ = by_mine;
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Lookup {
    /// xRocket's id (`invoiceId`, `chequeId`, `transferId`, `withdrawalId`).
    Id(String),
    /// Your client id (`clientInvoiceId`, `clientChequeId`, ...).
    ClientId(String),
}

impl Lookup {
    /// By xRocket's id.
    pub fn id(id: impl Into<String>) -> Self {
        Lookup::Id(id.into())
    }
    /// By your client id.
    pub fn client_id(id: impl Into<String>) -> Self {
        Lookup::ClientId(id.into())
    }

    /// The query pair for this lookup, checked: 1 to 100 characters.
    pub(crate) fn query(
        &self,
        id_param: &'static str,
        client_param: &'static str,
    ) -> Result<(&'static str, &str)> {
        let (name, value) = match self {
            Lookup::Id(v) => (id_param, v.as_str()),
            Lookup::ClientId(v) => (client_param, v.as_str()),
        };
        if value.trim().is_empty() {
            return Err(Error::invalid_input(PROVIDER, name, "must not be empty"));
        }
        if value.chars().count() > 100 {
            return Err(Error::invalid_input(
                PROVIDER,
                name,
                "must be at most 100 characters",
            ));
        }
        Ok((name, value))
    }
}

/// Where xRocket posts webhooks for one object (overrides the app-wide URL), and a payload
/// it echoes back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Callback {
    /// The webhook URL for this object (at most 500 characters).
    #[serde(default)]
    pub callback_url: String,
    /// Your data, echoed in the webhook (a JSON object of at most 4 KB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<serde_json::Value>,
}

impl Callback {
    /// A callback to `url` with no payload.
    pub fn new(url: impl Into<String>) -> Self {
        Callback {
            callback_url: url.into(),
            payload: None,
        }
    }
    /// Attaches a JSON object echoed back in the webhook.
    pub fn payload(mut self, payload: serde_json::Value) -> Self {
        self.payload = Some(payload);
        self
    }

    pub(crate) fn check(&self, field: &'static str) -> Result<()> {
        check_url(field, &self.callback_url)?;
        if let Some(p) = &self.payload {
            check_json_object(field, p)?;
        }
        Ok(())
    }
}

/// Where the payer's browser goes after paying or cancelling.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct RedirectUrls {
    /// After success (at most 500 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_url: Option<String>,
    /// After cancelling (at most 500 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel_url: Option<String>,
}

impl RedirectUrls {
    /// Both redirect targets.
    pub fn new(success_url: impl Into<String>, cancel_url: impl Into<String>) -> Self {
        RedirectUrls {
            success_url: Some(success_url.into()),
            cancel_url: Some(cancel_url.into()),
        }
    }

    pub(crate) fn check(&self, field: &'static str) -> Result<()> {
        for u in [&self.success_url, &self.cancel_url].into_iter().flatten() {
            check_url(field, u)?;
        }
        Ok(())
    }
}

/// Links to an invoice or cheque. `telegram_bot_link` is the one to show; the other two are
/// announced as "soon" and may be absent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Links {
    /// `https://t.me/xrocket?start=...`
    #[serde(default)]
    pub telegram_bot_link: Option<String>,
    /// A Telegram mini-app link.
    #[serde(default)]
    pub telegram_mini_app_link: Option<String>,
    /// A web link.
    #[serde(default)]
    pub web_link: Option<String>,
}

// ----- checks run before sending -----

pub(crate) fn check_amount(field: &'static str, amount: Decimal, places: u32) -> Result<()> {
    if amount <= Decimal::ZERO {
        return Err(Error::invalid_input(PROVIDER, field, "must be greater than zero"));
    }
    if !fits_precision(amount, places) {
        return Err(Error::invalid_input(
            PROVIDER,
            field,
            format!("has more than {places} decimal places for this asset"),
        ));
    }
    Ok(())
}

pub(crate) fn check_len(field: &'static str, value: &str, max: usize) -> Result<()> {
    if value.chars().count() > max {
        return Err(Error::invalid_input(
            PROVIDER,
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Ok(())
}

pub(crate) fn check_required(field: &'static str, value: &str, max: usize) -> Result<()> {
    if value.trim().is_empty() {
        return Err(Error::invalid_input(PROVIDER, field, "must not be empty"));
    }
    check_len(field, value, max)
}

/// A client id: 1 to `max` printable ASCII characters (it is also the idempotency key).
pub(crate) fn check_client_id(field: &'static str, value: &str, max: usize) -> Result<()> {
    if value.is_empty() {
        return Err(Error::invalid_input(PROVIDER, field, "must not be empty"));
    }
    if !value.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::invalid_input(
            PROVIDER,
            field,
            "must be printable ASCII without spaces",
        ));
    }
    check_len(field, value, max)
}

pub(crate) fn check_url(field: &'static str, url: &str) -> Result<()> {
    check_required(field, url, 500)?;
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(Error::invalid_input(PROVIDER, field, "must be an http(s) URL"));
    }
    Ok(())
}

/// A JSON object of at most 4 KB once serialized.
pub(crate) fn check_json_object(field: &'static str, v: &serde_json::Value) -> Result<()> {
    if !v.is_object() {
        return Err(Error::invalid_input(PROVIDER, field, "must be a JSON object"));
    }
    if serde_json::to_vec(v).map(|b| b.len()).unwrap_or(usize::MAX) > 4096 {
        return Err(Error::invalid_input(
            PROVIDER,
            field,
            "must be at most 4 KB of JSON",
        ));
    }
    Ok(())
}

pub(crate) fn check_limit(limit: Option<u32>) -> Result<()> {
    if let Some(l) = limit
        && !(1..=1000).contains(&l)
    {
        return Err(Error::invalid_input(
            PROVIDER,
            "limit",
            "must be between 1 and 1000",
        ));
    }
    Ok(())
}

/// The `fromDate` / `toDate` filter of a list (cheques, transfers/payouts, withdrawals): each
/// bound checked with [`Timestamp::check`] (an `InvalidInput` naming `fromDate` or `toDate` and
/// the rule, before anything is sent; a local time without an offset is refused, its zone is
/// unknown), and `fromDate` not later than `toDate`. Returns the texts to send, exactly as given.
pub(crate) fn date_range<'a>(
    from: Option<&'a Timestamp>,
    to: Option<&'a Timestamp>,
) -> Result<(Option<&'a str>, Option<&'a str>)> {
    Timestamp::check_range(PROVIDER, ("fromDate", from), ("toDate", to))
}

// ----- cursor lists -----

/// The list envelope: `{ items: [...], pagination: { total?, next? } }`. `items` is
/// required: a body without it is a decode error that keeps the status, never an empty page.
#[derive(Debug, Deserialize)]
pub(crate) struct ListResponse<T> {
    items: Vec<T>,
    #[serde(default)]
    pagination: Option<Pagination>,
}

#[derive(Debug, Deserialize, Default)]
struct Pagination {
    #[serde(default, deserialize_with = "opt_u64_lenient")]
    total: Option<u64>,
    /// A string in every known response; a numeric cursor is read as its decimal string.
    #[serde(default, deserialize_with = "opt_string_or_number")]
    next: Option<String>,
}

/// `total` as a number or a numeric string; anything else is treated as unknown rather than
/// failing the whole page.
fn opt_u64_lenient<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Option<u64>, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::Number(n) => n.as_u64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    })
}

impl<T> ListResponse<T> {
    pub(crate) fn into_page(self) -> Page<T, String> {
        let p = self.pagination.unwrap_or_default();
        Page {
            items: self.items,
            next: p.next.filter(|n| !n.is_empty()),
            total: p.total,
        }
    }
}

/// Streams every item of a cursor list from `start` (`None`: the first page);
/// `fetch(cursor)` loads one page.
pub(crate) fn stream_pages<'a, T, F, Fut>(
    start: Option<String>,
    fetch: F,
) -> impl futures_core::Stream<Item = Result<T>> + Send + 'a
where
    T: Send + 'a,
    F: FnMut(Option<String>) -> Fut + Send + 'a,
    Fut: std::future::Future<Output = Result<Page<T, String>>> + Send + 'a,
{
    let mut fetch = fetch;
    payout_core::paginate(PROVIDER, start, move |cursor| {
        let fut = fetch(cursor);
        async move {
            let page = fut.await?;
            Ok(Page {
                items: page.items,
                next: page.next.map(Some),
                total: page.total,
            })
        }
    })
}

/// `From<id>` for [`Lookup`], so every id can address its object directly.
macro_rules! lookup_from_id {
    ($($name:ident),*) => {$(
        impl From<$name> for $crate::common::Lookup {
            fn from(id: $name) -> Self {
                $crate::common::Lookup::Id(id.into_string())
            }
        }
        impl From<&$name> for $crate::common::Lookup {
            fn from(id: &$name) -> Self {
                $crate::common::Lookup::Id(id.as_str().to_string())
            }
        }
    )*};
}
pub(crate) use lookup_from_id;

/// Reads a JSON string or number as a string.
pub(crate) fn string_or_number<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<String, D::Error> {
    match d.deserialize_any(StringOrNumber)? {
        Some(s) => Ok(s),
        None => Err(serde::de::Error::invalid_type(
            serde::de::Unexpected::Unit,
            &StringOrNumber,
        )),
    }
}

/// Like [`string_or_number`] for an optional field (`null` or absent is `None`).
pub(crate) fn opt_string_or_number<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<String>, D::Error> {
    d.deserialize_option(StringOrNumber)
}

/// A visitor rather than an untagged enum: the value is not buffered first, and a string
/// costs one allocation (this runs for several fields of every item of a page).
struct StringOrNumber;

impl<'de> serde::de::Visitor<'de> for StringOrNumber {
    type Value = Option<String>;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a string or an integer")
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> std::result::Result<Self::Value, E> {
        Ok(Some(v.to_owned()))
    }
    fn visit_string<E: serde::de::Error>(self, v: String) -> std::result::Result<Self::Value, E> {
        Ok(Some(v))
    }
    fn visit_i64<E: serde::de::Error>(self, v: i64) -> std::result::Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> std::result::Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_none<E: serde::de::Error>(self) -> std::result::Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: serde::de::Error>(self) -> std::result::Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> std::result::Result<Self::Value, D::Error> {
        match d.deserialize_any(StringOrNumber)? {
            Some(s) => Ok(Some(s)),
            None => Err(serde::de::Error::invalid_type(
                serde::de::Unexpected::Unit,
                &StringOrNumber,
            )),
        }
    }
}

/// Sets a typed JSON body (serialized straight from the struct).
pub(crate) fn with_json<B: Serialize + ?Sized>(
    req: payout_core::Request,
    body: &B,
) -> Result<payout_core::Request> {
    req.json(body)
        .map_err(|e| Error::invalid_input(PROVIDER, "body", "could not be serialized as JSON").with_source(e))
}

/// The pause-and-judge step of every `wait_until_final`: final states end the poll.
pub(crate) fn judge(is_final: bool) -> payout_core::Poll {
    if is_final {
        payout_core::Poll::Final
    } else {
        payout_core::Poll::Pending
    }
}

pub(crate) fn key_of(field: &'static str, client_id: &str) -> Result<payout_core::IdempotencyKey> {
    payout_core::IdempotencyKey::new(client_id)
        .map_err(|e| Error::invalid_input(PROVIDER, field, e.to_string()))
}

#[cfg(test)]
mod pagination_tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Ids {
        #[serde(deserialize_with = "string_or_number")]
        id: String,
        #[serde(default, deserialize_with = "opt_string_or_number")]
        client: Option<String>,
    }

    #[test]
    fn ids_read_strings_and_integers_and_refuse_the_rest() {
        let r: Ids = serde_json::from_str(r#"{"id":"a\"b","client":-7}"#).unwrap();
        assert_eq!((r.id.as_str(), r.client.as_deref()), ("a\"b", Some("-7")));
        let r: Ids = serde_json::from_str(r#"{"id":18446744073709551615,"client":null}"#).unwrap();
        assert_eq!((r.id.as_str(), r.client), ("18446744073709551615", None));
        let r: Ids = serde_json::from_str(r#"{"id":1}"#).unwrap();
        assert_eq!(r.client, None);
        for bad in [
            r#"{"id":null}"#,
            r#"{"id":1.5}"#,
            r#"{"id":true}"#,
            r#"{"id":[1]}"#,
            r#"{"id":1,"client":{}}"#,
        ] {
            assert!(serde_json::from_str::<Ids>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn numeric_cursor_and_string_total_do_not_fail_the_page() {
        let r: ListResponse<serde_json::Value> =
            serde_json::from_str(r#"{"items":[1],"pagination":{"total":"12","next":40}}"#).unwrap();
        let page = r.into_page();
        assert_eq!(page.next.as_deref(), Some("40"));
        assert_eq!(page.total, Some(12));
        let r: ListResponse<serde_json::Value> =
            serde_json::from_str(r#"{"items":[],"pagination":{"total":null,"next":null}}"#).unwrap();
        let page = r.into_page();
        assert_eq!(page.next, None);
        assert_eq!(page.total, None);
    }

    #[test]
    fn a_list_without_items_is_an_error_not_an_empty_page() {
        for body in [
            r#"{}"#,
            r#"{"data":[]}"#,
            r#"{"items":null}"#,
            r#"[]"#,
            r#"{"pagination":{"next":null}}"#,
        ] {
            assert!(
                serde_json::from_str::<ListResponse<serde_json::Value>>(body).is_err(),
                "{body}"
            );
        }
    }
}
