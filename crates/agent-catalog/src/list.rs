//! The provider's list bodies: a bare JSON array, or a page object
//! `{ "items": [...], "page": 1, "pageSize": 50, "total": 120 }` (page numbers are 1-based).

use std::fmt;
use std::marker::PhantomData;

use payout_core::{Error, Page, Result};
use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

use crate::client::PROVIDER;

/// One list response, as the provider's list endpoints send it: a bare JSON array, or a
/// page object `{"items": [...], "page": 1, "pageSize": 50, "total": 120}` (Plexy Gate agent
/// API documentation, "List orders" and "List deposit history").
///
/// The output of the list request values ([`crate::OrderFilter`], [`crate::ProductFilter`],
/// [`crate::DepositFilter`], [`crate::ListProductCategories`]) sent with
/// [`crate::Client::send`]; the resource handlers turn it into a [`Page`].
///
/// A body without its list (no `items`, `items: null`, a string, a number) is a
/// [`payout_core::ErrorKind::Decode`] error that keeps the status, never an empty list.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Listing<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// The page number the server echoed (1-based).
    pub page: Option<u32>,
    /// The page size the server echoed.
    pub page_size: Option<u32>,
    /// The total number of items, when sent.
    pub total: Option<u64>,
}

pub(crate) type ListBody<T> = Listing<T>;

// Written by hand rather than as an untagged enum so a bad item keeps its JSON path in the
// decode error.
impl<'de, T: Deserialize<'de>> Deserialize<'de> for Listing<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Listing<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON array or an object with `items`")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Self::Value, A::Error> {
                let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Listing {
                    items,
                    page: None,
                    page_size: None,
                    total: None,
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Self::Value, A::Error> {
                let mut body = Listing {
                    items: Vec::new(),
                    page: None,
                    page_size: None,
                    total: None,
                };
                let mut saw_items = false;
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        // `data` and `results` are the spellings other APIs use for the same thing.
                        "items" | "data" | "results" => {
                            // `items: null` is not an empty list: a list whose shape
                            // changed must not read as "nothing there".
                            body.items = map.next_value()?;
                            saw_items = true;
                        }
                        "page" => body.page = map.next_value()?,
                        "pageSize" | "page_size" => body.page_size = map.next_value()?,
                        "total" => body.total = map.next_value()?,
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                if !saw_items {
                    return Err(de::Error::missing_field("items"));
                }
                Ok(body)
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

impl<T> Listing<T> {
    /// True when the body says anything about paging (`page`, `pageSize` or `total`). A bare
    /// array, or an object with only `items`, is not paginated: it is the whole list. (A
    /// server that ignores `page` would otherwise hand back the same array for page 2, 3, ...
    /// and a stream would never end.)
    pub fn is_paged(&self) -> bool {
        self.page.is_some() || self.page_size.is_some() || self.total.is_some()
    }

    /// The next 1-based page after this one (`requested_page`, asked with `requested_size`
    /// items a page), `None` on the last page or when the body is not paginated at all.
    pub fn next_page(&self, requested_page: u32, requested_size: Option<u32>) -> Option<u32> {
        if !self.is_paged() {
            return None;
        }
        let page = self.page.filter(|p| *p > 0).unwrap_or(requested_page);
        let received = self.items.len();
        let size = self.page_size.filter(|s| *s > 0).or_else(|| {
            // Not echoed: the size we asked for, unless the server plainly used a smaller
            // one (a short page that the total says is not the last). Counting with the
            // larger size would skip whole pages; with the smaller one at worst one extra,
            // empty page is asked for.
            requested_size.map(|asked| match u32::try_from(received) {
                Ok(got) if got > 0 && got < asked && self.total.is_some() => got,
                _ => asked,
            })
        });
        next_page(page, size, received, self.total)
    }

    /// This listing as a [`Page`] whose `next` is the page after `requested_page`.
    pub fn into_page(self, requested_page: u32, requested_size: Option<u32>) -> Page<T, u32> {
        let next = self.next_page(requested_page, requested_size);
        Page {
            next,
            total: self.total,
            items: self.items,
        }
    }
}

/// Page-number pagination settings shared by every list filter.
pub(crate) fn check_paging(page: Option<u32>, page_size: Option<u32>) -> Result<()> {
    if page == Some(0) {
        return Err(Error::invalid_input(
            PROVIDER,
            "page",
            "must be 1 or more (pages are numbered from 1)",
        ));
    }
    if page_size == Some(0) {
        return Err(Error::invalid_input(PROVIDER, "pageSize", "must be 1 or more"));
    }
    Ok(())
}

/// The next 1-based page number, or `None` on the last page.
///
/// With a `total`, the page is the last one when everything up to it has been seen. Without
/// one, a short page is the last; when the page size is unknown too, we ask for the next
/// page and let an empty one end the stream.
pub(crate) fn next_page(
    page: u32,
    page_size: Option<u32>,
    received: usize,
    total: Option<u64>,
) -> Option<u32> {
    if received == 0 {
        return None;
    }
    let seen_before = match page_size {
        Some(size) => u64::from(page.saturating_sub(1)) * u64::from(size),
        None => 0,
    };
    match (total, page_size) {
        (Some(total), Some(_)) => {
            if seen_before + (received as u64) < total {
                page.checked_add(1)
            } else {
                None
            }
        }
        (Some(total), None) if page == 1 => ((received as u64) < total).then_some(2),
        (_, Some(size)) if (received as u64) < u64::from(size) => None,
        _ => page.checked_add(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_page_is_one_based() {
        // 120 items, 50 a page: pages 1, 2, 3.
        assert_eq!(next_page(1, Some(50), 50, Some(120)), Some(2));
        assert_eq!(next_page(2, Some(50), 50, Some(120)), Some(3));
        assert_eq!(next_page(3, Some(50), 20, Some(120)), None);
        // Exactly one full page.
        assert_eq!(next_page(1, Some(50), 50, Some(50)), None);
        // A server that caps the page below the requested size still advances by its total.
        assert_eq!(next_page(1, Some(100), 100, Some(250)), Some(2));
        // No total: a short page is the last.
        assert_eq!(next_page(1, Some(50), 49, None), None);
        assert_eq!(next_page(1, Some(50), 50, None), Some(2));
        // Nothing known: ask, an empty page ends it.
        assert_eq!(next_page(4, None, 3, None), Some(5));
        assert_eq!(next_page(4, None, 0, None), None);
    }

    fn body(items: usize, page: Option<u32>, page_size: Option<u32>, total: Option<u64>) -> ListBody<u32> {
        ListBody {
            items: vec![0; items],
            page,
            page_size,
            total,
        }
    }

    #[test]
    fn a_server_that_caps_the_page_size_silently_is_walked_completely() {
        // Asked for 100 a page; the server sends 50 and echoes `page` and `total` only.
        // Counting 100 a page would jump from item 150 to the end and skip 100 items.
        let mut seen = 0u64;
        let mut page = 1;
        loop {
            let got = 50.min(250 - (page as usize - 1) * 50);
            seen += got as u64;
            match body(got, Some(page), None, Some(250)).next_page(page, Some(100)) {
                Some(n) => page = n,
                None => break,
            }
        }
        assert_eq!((seen, page), (250, 5));
        // An echoed size is trusted.
        assert_eq!(
            body(50, Some(1), Some(50), Some(250)).next_page(1, Some(100)),
            Some(2)
        );
        // A real short last page costs at most one extra request, whose empty answer ends
        // the walk; with the size echoed, none.
        assert_eq!(body(20, Some(3), None, Some(120)).next_page(3, Some(50)), Some(4));
        assert_eq!(body(0, Some(4), None, Some(120)).next_page(4, Some(50)), None);
        assert_eq!(
            body(20, Some(3), Some(50), Some(120)).next_page(3, Some(50)),
            None
        );
    }

    #[test]
    fn a_body_without_paging_fields_is_the_whole_list() {
        assert_eq!(body(3, None, None, None).next_page(1, None), None);
        assert_eq!(body(50, None, None, None).next_page(1, Some(50)), None);
        assert_eq!(body(50, Some(1), None, None).next_page(1, Some(50)), Some(2));
    }

    #[test]
    fn bodies_decode_as_array_or_page() {
        let b: ListBody<u32> = serde_json::from_str("[1,2]").unwrap();
        assert_eq!(b.items, vec![1, 2]);
        let b: ListBody<u32> =
            serde_json::from_str(r#"{"items":[3],"page":2,"pageSize":1,"total":9,"extra":{"x":1}}"#).unwrap();
        assert_eq!(
            (b.items, b.page, b.page_size, b.total),
            (vec![3], Some(2), Some(1), Some(9))
        );
        assert!(serde_json::from_str::<ListBody<u32>>(r#"{"page":1}"#).is_err());
        assert!(serde_json::from_str::<ListBody<u32>>(r#"{"items":null,"page":1}"#).is_err());
        assert!(serde_json::from_str::<ListBody<u32>>(r#""items""#).is_err());
    }
}
