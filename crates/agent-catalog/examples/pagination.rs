//! Pagination: Plexy Gate's catalog (`GET /products`) pages with `page` and `pageSize`;
//! `products().stream(..)` walks the pages for you, fetching the next one only when you read
//! past the current one. Always put a cap on a stream (`.take(n)`): a catalog can be long.
//! (`products().collect_all(filter, max)` does the same into a `Vec`, and
//! `deposits().stream(..)` pages your deposits the same way.)
//!
//! ```text
//! cargo run -p agent-catalog --example pagination
//! ```

use agent_catalog::ProductFilter;
use agent_catalog::sandbox::Sandbox;
use futures_util::StreamExt;

type BoxError = Box<dyn std::error::Error>;

/// The most products this sweep reads, whatever the catalog holds.
const CAP: usize = 5;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let sandbox = Sandbox::start().await?;
    let client = sandbox.client();

    // Pages of 2 (to show several requests); at most CAP products; each item is a Result, so a
    // failed page stops the loop with its error instead of ending the list silently.
    let mut products = Box::pin(
        client
            .products()
            .stream(ProductFilter::new().page_size(2))
            .take(CAP),
    );
    let mut seen = 0;
    while let Some(product) = products.next().await {
        let product = product?;
        seen += 1;
        println!("{seen}. {}  {}", product.id, product.name);
    }
    println!("read {seen} products (cap {CAP})");
    Ok(())
}
