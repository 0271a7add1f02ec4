//! Pagination: xRocket Pay's lists (`GET /api/v1/invoices`, `/api/v1/cheques`) page with a
//! cursor; `invoices().stream(..)` follows it for you, fetching the next page only when you read
//! past the current one. Always put a cap on a stream (`.take(n)`): a history can be long.
//!
//! ```text
//! cargo run -p xrocket-pay --example pagination
//! ```

use futures_util::StreamExt;
use xrocket::sandbox::Sandbox;
use xrocket::{CreateInvoice, Decimal, ListInvoices};

type BoxError = Box<dyn std::error::Error>;

/// The most invoices this sweep reads, whatever the account holds.
const CAP: usize = 5;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let sandbox = Sandbox::start().await?;
    let client = sandbox.client();
    for i in 0..7 {
        let req =
            CreateInvoice::new("USDT", Decimal::new(100 + i, 2)).client_invoice_id(format!("order-{i}"));
        client.invoices().create(&req).await?;
    }

    // Pages of 2 (to show several requests); at most CAP invoices; each item is a Result, so a
    // failed page stops the loop with its error instead of ending the list silently.
    let mut invoices = Box::pin(client.invoices().stream(ListInvoices::new().limit(2)).take(CAP));
    let mut seen = 0;
    while let Some(invoice) = invoices.next().await {
        let invoice = invoice?;
        seen += 1;
        println!(
            "{seen}. {}  {} {:?}",
            invoice.id, invoice.status, invoice.price_amount
        );
    }
    println!("read {seen} of 7 invoices (cap {CAP})");
    Ok(())
}
