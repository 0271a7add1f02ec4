//! Pagination: RomplHub's `GET /orders` pages with `limit` and `offset`; `orders().stream(..)`
//! walks the pages for you, fetching the next one only when you read past the current one.
//! Always put a cap on a stream (`.take(n)`): an account's history can be long.
//!
//! ```text
//! cargo run -p romplhub --example pagination
//! ```

use futures_util::StreamExt;
use romplhub::sandbox::Sandbox;
use romplhub::{CreateOrder, ListOrders};

type BoxError = Box<dyn std::error::Error>;

/// The most orders this sweep reads, whatever the account holds.
const CAP: usize = 5;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let sandbox = Sandbox::start().await?;
    let client = sandbox.client();
    for _ in 0..7 {
        client
            .orders()
            .create(&CreateOrder::new(
                "user@roblox.com",
                "account-password",
                "robux_88",
            ))
            .await?;
    }

    // Pages of 2 (to show several requests); at most CAP orders; each item is a Result, so a
    // failed page stops the loop with its error instead of ending the list silently.
    let mut orders = Box::pin(client.orders().stream(ListOrders::new().limit(2)).take(CAP));
    let mut seen = 0;
    while let Some(order) = orders.next().await {
        let order = order?;
        seen += 1;
        println!("{seen}. {}  {:?}", order.order_uid, order.status);
    }
    let pages = sandbox.count("GET", "/orders");
    println!("read {seen} of 7 orders in {pages} page requests (cap {CAP})");
    Ok(())
}
