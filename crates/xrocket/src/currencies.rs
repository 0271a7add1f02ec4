//! Available currencies and exchange rates. Both are public: a client without a token can
//! call them.

use payout_core::{Decimal, Error, Request, Result};
use serde::{Deserialize, Serialize};

use crate::client::{Client, PROVIDER};

/// The currency list.
pub type CurrencyList = Vec<Currency>;
/// The rates of one base.
pub type RateList = Vec<Rate>;

/// `GET /api/v1/currencies`: every currency, or only crypto / fiat ones. Public.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListCurrencies {
    kind: Option<CurrencyKind>,
}

impl ListCurrencies {
    /// Every currency.
    pub fn new() -> Self {
        Self::default()
    }
    /// Only crypto or only fiat currencies.
    pub fn kind(mut self, kind: CurrencyKind) -> Self {
        self.kind = Some(kind);
        self
    }

    pub(crate) fn build_request(&self, req: Request) -> Result<Request> {
        Ok(req.query_opt("kind", self.kind.as_ref()))
    }
}
use crate::common::{Network, check_required};

payout_core::open_enum! {
    /// Crypto or fiat.
    pub enum CurrencyKind {
        /// A crypto asset.
        Crypto => "crypto",
        /// A fiat currency.
        Fiat => "fiat",
    }
}

/// A network a currency lives on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CurrencyNetwork {
    /// The network code.
    pub code: Network,
}

/// A currency xRocket supports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Currency {
    /// The code (`TONCOIN`, `USDT`, `USD`, ...).
    pub code: String,
    /// A display name.
    #[serde(default)]
    pub title: Option<String>,
    /// Crypto or fiat.
    #[serde(default)]
    pub kind: Option<CurrencyKind>,
    /// The networks it can be deposited or withdrawn on.
    #[serde(default)]
    pub networks: Vec<CurrencyNetwork>,
}

/// The rate of one currency against the requested base.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Rate {
    /// The currency code.
    pub currency: String,
    /// How many units of the base one unit is worth.
    #[serde(with = "payout_core::money::decimal")]
    pub rate: Decimal,
}

/// `GET /api/v1/rates`: rates of `assets` in `base`. `RatesQuery::default()` sends no
/// parameter: every asset in xRocket's default base (USD).
///
/// ```
/// let q = xrocket::RatesQuery::new("USD").assets(["TONCOIN", "USDT"]);
/// # let _ = q;
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RatesQuery {
    base: Option<String>,
    assets: Vec<String>,
}

impl RatesQuery {
    /// Rates against the fiat code `base` (xRocket's default is `USD`).
    pub fn new(base: impl Into<String>) -> Self {
        RatesQuery {
            base: Some(base.into()),
            assets: Vec::new(),
        }
    }
    /// Only these asset codes (sent as repeated `assets=` parameters, the OpenAPI default;
    /// xRocket has not documented the encoding).
    pub fn assets(mut self, assets: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.assets = assets.into_iter().map(Into::into).collect();
        self
    }

    pub(crate) fn build_request(&self, req: Request) -> Result<Request> {
        if let Some(b) = &self.base {
            check_required("base", b, 20)?;
        }
        if self.assets.iter().any(|a| a.trim().is_empty()) {
            return Err(Error::invalid_input(
                PROVIDER,
                "assets",
                "must not contain empty codes",
            ));
        }
        let mut req = req.query_opt("base", self.base.as_deref());
        for a in &self.assets {
            req = req.query("assets", a);
        }
        Ok(req)
    }
}

/// The currencies handler: `client.currencies()`.
#[derive(Debug, Clone, Copy)]
pub struct Currencies<'a> {
    pub(crate) client: &'a Client,
}

impl Currencies<'_> {
    /// `GET /api/v1/currencies`: every currency, or only crypto / fiat ones.
    pub async fn list(&self, kind: Option<CurrencyKind>) -> Result<Vec<Currency>> {
        self.client.send(&ListCurrencies { kind }).await
    }

    /// `GET /api/v1/rates`: rates against `query`'s base.
    pub async fn rates(&self, query: &RatesQuery) -> Result<Vec<Rate>> {
        self.client.send(query).await
    }
}
