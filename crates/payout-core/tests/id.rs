//! `id!`: string and integer id newtypes.

use std::collections::HashSet;

payout_core::id! {
    /// A string id.
    pub struct OrderId(String);
}
payout_core::id! {
    /// An integer id.
    pub struct ProductId(i64);
}

#[test]
fn string_ids_accept_strings_and_numbers_and_serialize_as_strings() {
    let a: OrderId = serde_json::from_str(r#""ord_1""#).unwrap();
    assert_eq!(a.as_str(), "ord_1");
    let n: OrderId = serde_json::from_str("12345678901234").unwrap();
    assert_eq!(n.as_str(), "12345678901234");
    let neg: OrderId = serde_json::from_str("-5").unwrap();
    assert_eq!(neg.as_str(), "-5");
    assert_eq!(serde_json::to_string(&n).unwrap(), r#""12345678901234""#);
    assert!(serde_json::from_str::<OrderId>("true").is_err());
    assert!(serde_json::from_str::<OrderId>("null").is_err());
    assert!(serde_json::from_str::<OrderId>("1.5").is_err());
}

#[test]
fn string_ids_convert_and_display() {
    let a = OrderId::new("a b/c");
    assert_eq!(a.to_string(), "a b/c");
    assert_eq!(AsRef::<str>::as_ref(&a), "a b/c");
    assert_eq!(OrderId::from("x"), OrderId::from(String::from("x")));
    assert_eq!(OrderId::from(&a), a);
    assert_eq!(a.clone().into_string(), "a b/c");
    let set: HashSet<OrderId> = [OrderId::from("x"), OrderId::from("x")].into_iter().collect();
    assert_eq!(set.len(), 1);
    assert!(OrderId::from("a") < OrderId::from("b"));
}

#[test]
fn integer_ids() {
    let p: ProductId = serde_json::from_str("456").unwrap();
    assert_eq!(p.get(), 456);
    assert_eq!(serde_json::to_string(&p).unwrap(), "456");
    assert!(serde_json::from_str::<ProductId>(r#""456""#).is_err());
    assert_eq!("789".parse::<ProductId>().unwrap(), ProductId::new(789));
    assert!("x".parse::<ProductId>().is_err());
    assert_eq!(ProductId::from(3).to_string(), "3");
    assert_eq!(ProductId::from(&p), p);
    const C: ProductId = ProductId::new(1);
    assert_eq!(C.get(), 1);
}
