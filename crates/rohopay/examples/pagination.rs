//! Pagination: RohoPay's `GET /api/v1/transactions` pages with `limit` and `offset`;
//! `transactions().stream(..)` walks the pages for you, fetching the next one only when you read
//! past the current one. Always put a cap on a stream (`.take(n)`): a wallet's history is long.
//!
//! ```text
//! cargo run -p rohopay --example pagination
//! ```

use std::time::{Duration, SystemTime};

use futures_util::StreamExt;
use rohopay::sandbox::Sandbox;
use rohopay::{CollectRequest, Currency, ListTransactions};

type BoxError = Box<dyn std::error::Error>;

/// The most transactions this sweep reads, whatever the wallet holds.
const CAP: usize = 5;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let sandbox = Sandbox::start().await?;
    let client = sandbox.live_client();
    for i in 0..7 {
        client
            .mobile_money()
            .collect(&CollectRequest::new("256712345678", 1_000 + i, Currency::Ugx))
            .await?;
    }

    // Pages of 2 (to show several requests); at most CAP transactions; each item is a Result,
    // so a failed page stops the loop with its error instead of ending the list silently.
    // `from` / `to` take an instant (a `SystemTime`, a `Timestamp`, or RFC 3339 text with an
    // offset such as "2024-06-01T00:00:00+03:00"); a bare date is refused before sending.
    let since = SystemTime::now() - Duration::from_secs(3600);
    let mut txs = Box::pin(
        client
            .transactions()
            .stream(ListTransactions::new().from(since).limit(2))
            .take(CAP),
    );
    let mut seen = 0;
    while let Some(tx) = txs.next().await {
        let tx = tx?;
        seen += 1;
        // `created_at` is a `Timestamp`: the text RohoPay sent, and the instant it names.
        let created = tx.created_at.as_ref().map_or("?", |t| t.as_str());
        println!(
            "{seen}. {}  {:?}  created {created}",
            tx.internal_reference, tx.status
        );
    }
    println!("read {seen} of 7 transactions (cap {CAP})");
    Ok(())
}
