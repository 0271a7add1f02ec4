//! `payout <provider> balance | get <id> | webhook verify`: one call each, through the
//! provider crate's own client built by `Client::from_env()`.

use std::io::Read;

use payout_core::WebhookVerifier;
use payout_core::reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::Serialize;
use serde_json::{Value, json};

use crate::{Failure, Provider, ProviderCommand, WebhookCommand, output};

pub(crate) async fn run(provider: Provider, command: ProviderCommand, json: bool) -> Result<(), Failure> {
    match command {
        ProviderCommand::Balance => output::print(&balance(provider).await?, json),
        ProviderCommand::Get { id } => output::print(&get(provider, id).await?, json),
        ProviderCommand::Webhook {
            command: WebhookCommand::Verify { secret_env, headers },
        } => {
            let headers = parse_headers(&headers)?;
            let mut body = Vec::new();
            std::io::stdin()
                .read_to_end(&mut body)
                .map_err(|e| format!("cannot read the body from stdin: {e}"))?;
            let secret = read_secret(&secret_env)?;
            verify(provider, secret, &headers, &body, json)?;
        }
    }
    Ok(())
}

fn to_json<T: Serialize>(value: &T) -> Result<Value, Failure> {
    serde_json::to_value(value).map_err(|e| Failure(format!("cannot print the answer as JSON: {e}")))
}

async fn balance(provider: Provider) -> Result<Value, Failure> {
    match provider {
        Provider::Rocheap => {
            let b = rocheap::Client::from_env()?.balance().await?;
            // ROCheap documents no balance shape: the amount the crate read, as text.
            Ok(json!({ "balance": b.amount.to_string() }))
        }
        Provider::Romplhub => to_json(&romplhub::Client::from_env()?.balance().get().await?),
        Provider::AgentCatalog => to_json(&agent_catalog::Client::from_env()?.balance().get().await?),
        Provider::Xrocket => to_json(&xrocket::Client::from_env()?.app().balances().await?),
        Provider::Rohopay => to_json(&rohopay::Client::from_env()?.wallet().balance().await?),
    }
}

async fn get(provider: Provider, id: String) -> Result<Value, Failure> {
    match provider {
        Provider::Rocheap => to_json(&rocheap::Client::from_env()?.orders().get(id).await?),
        Provider::Romplhub => to_json(&romplhub::Client::from_env()?.orders().get(id).await?),
        Provider::AgentCatalog => to_json(&agent_catalog::Client::from_env()?.orders().get(id).await?),
        Provider::Xrocket => to_json(&xrocket::Client::from_env()?.transfers().get(id).await?),
        Provider::Rohopay => to_json(&rohopay::Client::from_env()?.transactions().get(id).await?),
    }
}

/// The secret from the environment variable `var`; its value is never printed.
fn read_secret(var: &str) -> Result<String, Failure> {
    match std::env::var(var) {
        Ok(v) if !v.trim().is_empty() => Ok(v),
        Ok(_) => Err(Failure(format!(
            "{var} is empty (it should hold the webhook secret)"
        ))),
        Err(_) => Err(Failure(format!(
            "{var} is not set (it should hold the webhook secret)"
        ))),
    }
}

/// `name: value` arguments into a header map.
fn parse_headers(raw: &[String]) -> Result<HeaderMap, Failure> {
    let mut map = HeaderMap::new();
    for h in raw {
        let Some((name, value)) = h.split_once(':') else {
            return Err(Failure(format!("--header `{h}`: expected `name: value`")));
        };
        let name = HeaderName::from_bytes(name.trim().as_bytes())
            .map_err(|_| Failure(format!("--header: `{}` is not a header name", name.trim())))?;
        let value = HeaderValue::from_str(value.trim())
            .map_err(|_| Failure(format!("--header {name}: the value is not a valid header value")))?;
        map.append(name, value);
    }
    Ok(map)
}

fn verify(
    provider: Provider,
    secret: String,
    headers: &HeaderMap,
    body: &[u8],
    json: bool,
) -> Result<(), Failure> {
    match provider {
        Provider::Rocheap => check(&rocheap::webhook::Verifier::new(secret), headers, body, json),
        Provider::Xrocket => check(&xrocket::webhook::Verifier::new(secret), headers, body, json),
        Provider::Rohopay => check(&rohopay::webhook::Verifier::new(secret), headers, body, json),
        Provider::Romplhub => Err(Failure(
            "RomplHub does not sign webhooks, so there is no signature to verify; confirm a delivery by \
             fetching the order with your own credentials: `payout romplhub get <order_uid>`"
                .into(),
        )),
        Provider::AgentCatalog => Err(Failure(
            "the Plexy Gate agent API sends no webhooks (its documentation says to poll the order): \
             use `payout agent-catalog get <order_id>`"
                .into(),
        )),
    }
}

fn check<V: WebhookVerifier>(
    verifier: &V,
    headers: &HeaderMap,
    body: &[u8],
    json: bool,
) -> Result<(), Failure> {
    match verifier.verify(headers, body) {
        Ok(_) => {
            let parsed = serde_json::from_slice::<Value>(body)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()));
            if json {
                output::print(&json!({ "valid": true, "body": parsed }), true);
            } else {
                println!("valid: the signature verifies");
                output::print(&parsed, false);
            }
            Ok(())
        }
        Err(e) => Err(Failure(format!("webhook refused: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_parse_and_refuse_garbage() {
        let map = parse_headers(&["X-Sig: abc".into(), "x-sig:def".into(), "A:b:c".into()]).unwrap();
        assert_eq!(map.get_all("x-sig").iter().count(), 2);
        assert_eq!(map.get("a").unwrap(), "b:c");
        assert!(parse_headers(&["no colon".into()]).is_err());
        assert!(parse_headers(&["bad name: x".into()]).is_err());
    }
}
