//! Offset, page-number and cursor pagination as one `Stream`, plus a capped `collect_all`.

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

use futures_core::Stream;
use futures_util::{StreamExt, TryStreamExt, stream};

use crate::error::{Error, ErrorKind, Result};

/// One page of a list, with what to ask for next.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T, C> {
    /// The items on this page.
    pub items: Vec<T>,
    /// The position of the next page (`None` on the last page): a cursor, an offset or a
    /// page number, as the provider paginates.
    pub next: Option<C>,
    /// The total count, when the provider reports it.
    pub total: Option<u64>,
}

impl<T, C> Page<T, C> {
    /// A page with no successor.
    pub fn last(items: Vec<T>) -> Self {
        Page {
            items,
            next: None,
            total: None,
        }
    }
}

/// The next offset for limit/offset APIs.
///
/// When the provider reports a `total`, it decides: the walk goes on until `total` items were
/// seen, even if a page came back shorter than `limit` (a server that silently caps the page
/// size must not truncate the list). Without a total, a short or empty page ends the list, so
/// never ask for more than the provider's documented maximum.
pub fn next_offset(offset: u64, limit: u64, received: usize, total: Option<u64>) -> Option<u64> {
    let next = offset + received as u64;
    if received == 0 {
        return None;
    }
    match total {
        Some(t) => (next < t).then_some(next),
        None => ((received as u64) >= limit).then_some(next),
    }
}

/// The next page number for 1-based page/pageSize APIs (page 1 is the first): `None` when
/// this page was short, empty, or the total is reached.
///
/// ```
/// use payout_core::pagination::next_page;
/// assert_eq!(next_page(1, 20, 20, Some(40)), Some(2));
/// assert_eq!(next_page(2, 20, 20, Some(40)), None);
/// assert_eq!(next_page(1, 20, 7, None), None);
/// ```
pub fn next_page(page: u32, page_size: u32, received: usize, total_items: Option<u64>) -> Option<u32> {
    let seen = u64::from(page.max(1)) * u64::from(page_size);
    if received == 0 || (received as u64) < u64::from(page_size) || total_items.is_some_and(|t| seen >= t) {
        None
    } else {
        Some(page + 1)
    }
}

/// Turns a page-fetching function into a stream of items.
///
/// `fetch(position)` loads one page; the stream follows `next` until it is `None`, a page is
/// empty, or an error occurs (yielded once, then the stream ends). If the provider hands back
/// the position it was just asked for, the stream yields a [`ErrorKind::Provider`] error
/// instead of looping forever.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use futures_util::StreamExt;
/// use payout_core::pagination::{paginate, Page};
/// let pages = paginate("p", 0u32, |n| async move {
///     Ok(Page { items: vec![n * 10, n * 10 + 1], next: (n < 2).then_some(n + 1), total: None })
/// });
/// let all: Vec<u32> = pages.map(|r| r.unwrap()).collect().await;
/// assert_eq!(all, vec![0, 1, 10, 11, 20, 21]);
/// # });
/// ```
pub fn paginate<T, C, F, Fut>(
    provider: &'static str,
    start: C,
    mut fetch: F,
) -> impl Stream<Item = Result<T>> + Send
where
    T: Send,
    C: Clone + PartialEq + Send,
    F: FnMut(C) -> Fut + Send,
    Fut: Future<Output = Result<Page<T, C>>> + Send,
{
    /// What to do once the current page's items are yielded.
    enum Next<C> {
        /// Fetch this position.
        At(C),
        /// The last page led back to a fetched position: yield the error, then end.
        Stuck,
        Done,
    }
    // One hand-written state machine rather than `try_unfold` + `try_flatten`: an item is
    // moved once, from the page's vector to the caller (the combinator chain moved every
    // item through four layers, about 800 bytes of copying per item in the bench), and the
    // page future is boxed once per page, not per item.
    let mut items = Vec::new().into_iter();
    let mut next = Next::At(start);
    // Every position already fetched (A -> B -> A must not loop).
    let mut seen: Vec<C> = Vec::new();
    let mut pending: Option<Pin<Box<Fut>>> = None;
    stream::poll_fn(move |cx| {
        loop {
            if let Some(item) = items.next() {
                return Poll::Ready(Some(Ok(item)));
            }
            if let Some(fut) = pending.as_mut() {
                let Poll::Ready(page) = fut.as_mut().poll(cx) else {
                    return Poll::Pending;
                };
                pending = None;
                let page = match page {
                    Ok(page) => page,
                    // Yielded once; the stream ends after it.
                    Err(e) => {
                        next = Next::Done;
                        return Poll::Ready(Some(Err(e)));
                    }
                };
                next = match page.next {
                    // Back to this page or to any earlier one: never fetch it again. This
                    // page's items are yielded first, then the error.
                    Some(n) if seen.contains(&n) => Next::Stuck,
                    Some(_) if page.items.is_empty() => Next::Done,
                    Some(n) => Next::At(n),
                    None => Next::Done,
                };
                items = page.items.into_iter();
                continue;
            }
            match std::mem::replace(&mut next, Next::Done) {
                Next::At(pos) => {
                    pending = Some(Box::pin(fetch(pos.clone())));
                    seen.push(pos);
                }
                Next::Stuck => {
                    return Poll::Ready(Some(Err(Error::new(
                        ErrorKind::Provider,
                        provider,
                        "pagination cursor did not advance; stopped to avoid an endless loop",
                    ))));
                }
                Next::Done => return Poll::Ready(None),
            }
        }
    })
}

/// Collects at most `max` items from a paginated stream, then stops fetching. The cap is
/// required so a runaway list cannot exhaust memory; stream yourself to see everything.
pub async fn collect_all<T, S>(stream: S, max: usize) -> Result<Vec<T>>
where
    S: Stream<Item = Result<T>>,
{
    stream.take(max).try_collect().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[test]
    fn offsets_and_pages_advance_and_stop() {
        assert_eq!(next_offset(0, 100, 100, None), Some(100));
        assert_eq!(next_offset(0, 100, 40, None), None);
        assert_eq!(next_offset(100, 100, 100, Some(200)), None);
        assert_eq!(next_offset(0, 100, 0, None), None);
        assert_eq!(
            next_offset(0, 100, 50, Some(250)),
            Some(50),
            "a silent cap does not truncate"
        );
        assert_eq!(next_offset(200, 100, 50, Some(250)), None);
        assert_eq!(next_page(1, 20, 20, None), Some(2));
        assert_eq!(next_page(1, 20, 5, None), None);
        assert_eq!(next_page(1, 20, 20, Some(40)), Some(2), "1-based: page 2 exists");
        assert_eq!(next_page(2, 20, 20, Some(40)), None);
        assert_eq!(next_page(1, 20, 20, Some(20)), None);
    }

    /// The stream is `Unpin` (no `pin!` needed to call `next()` on it), and it moves each item
    /// once: from its page to the caller.
    #[tokio::test]
    async fn the_stream_is_unpin_and_yields_every_item_in_order() {
        fn unpin<T: Unpin>(t: T) -> T {
            t
        }
        let mut s = unpin(paginate("p", 0u32, |n| async move {
            Ok(Page {
                items: vec![n * 10, n * 10 + 1],
                next: (n < 3).then_some(n + 1),
                total: None,
            })
        }));
        let mut got = Vec::new();
        while let Some(item) = s.next().await {
            got.push(item.unwrap());
        }
        assert_eq!(got, vec![0, 1, 10, 11, 20, 21, 30, 31]);
    }

    #[tokio::test]
    async fn stuck_cursor_is_an_error_not_a_loop() {
        let s = paginate("p", "a".to_string(), |c| async move {
            Ok(Page {
                items: vec![1],
                next: Some(c),
                total: None,
            })
        });
        let out: Vec<Result<i32>> = s.collect().await;
        assert_eq!(out.len(), 2);
        assert!(out[0].is_ok());
        assert!(out[1].as_ref().unwrap_err().message().contains("did not advance"));
    }

    #[tokio::test]
    async fn collect_all_stops_fetching_at_the_cap() {
        let calls = Arc::new(AtomicU32::new(0));
        let c2 = calls.clone();
        let s = paginate("p", 0u32, move |n| {
            c2.fetch_add(1, Ordering::SeqCst);
            async move {
                Ok(Page {
                    items: vec![n; 10],
                    next: Some(n + 1),
                    total: None,
                })
            }
        });
        let got = collect_all(s, 25).await.unwrap();
        assert_eq!(got.len(), 25);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn errors_are_yielded_once_and_end_the_stream() {
        let s = paginate("p", 0u32, |n| async move {
            if n == 1 {
                Err(Error::new(ErrorKind::Transport, "p", "boom"))
            } else {
                Ok(Page {
                    items: vec![n],
                    next: Some(n + 1),
                    total: None,
                })
            }
        });
        let out: Vec<Result<u32>> = s.collect().await;
        assert_eq!(out.len(), 2);
        assert!(out[1].is_err());
    }
}
