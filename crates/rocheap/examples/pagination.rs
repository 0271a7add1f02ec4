//! Pagination, ROCheap edition: ROCheap's business API has **no list endpoint** (its
//! documentation lists ping, balance, create order, get order by id and get order by custom id),
//! so there is no page to stream. The closest thing is walking the orders *you* created, by the
//! `custom_order_id` you stored before sending, with a cap on how many you look up at once.
//! (The other crates' `pagination` examples show a real `Stream` with a cap.)
//!
//! ```text
//! cargo run -p rocheap --example pagination
//! ```

use rocheap::sandbox::Sandbox;
use rocheap::{CreateOrder, Keyed};

type BoxError = Box<dyn std::error::Error>;

/// At most this many lookups per sweep: ROCheap has no published rate limit, be gentle.
const CAP: usize = 3;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let sandbox = Sandbox::start().await?;
    let client = sandbox.client();

    // Your own record of keys (in production: your database or payout-journal), written
    // before each create.
    let mut keys = Vec::new();
    for user in 1..=5 {
        let req = CreateOrder::new(10, user, 2, 3);
        keys.push(req.key().to_string());
        client.orders().create(&req).await?;
    }
    sandbox.advance().await;

    // One capped sweep: the first CAP keys; the rest wait for the next sweep.
    for key in keys.iter().take(CAP) {
        let order = client.orders().get_by_custom_id(key.as_str()).await?;
        println!("{key}  {}  {:?}", order.order_id, order.status.code);
    }
    println!(
        "looked up {CAP} of {} orders; the next sweep continues from there",
        keys.len()
    );
    Ok(())
}
