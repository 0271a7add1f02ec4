//! Properties of the callback canonicaliser (issue 16), through the public API: `canonicalize`
//! is private, and `webhook::sign` signs the canonical form, so equal signatures mean equal
//! canonical forms.
//!
//! * key order does not matter, at any depth;
//! * whitespace between tokens does not matter;
//! * a body already in canonical form (compact, keys sorted) is signed as it is: its signature
//!   is the plain HMAC-SHA256 of its bytes (canonicalising is idempotent).

use std::collections::BTreeMap;
use std::time::{Duration, UNIX_EPOCH};

use payout_core::webhook::{hmac_sha256, to_hex};
use proptest::prelude::*;
use rocheap::webhook::{SIGNATURE_HEADER, sign};

const KEY: &str = "rch_props_key_0123456789";

/// A JSON value. Objects keep unique keys in sorted (canonical) order; rendering may permute.
#[derive(Debug, Clone)]
enum Node {
    Null,
    Bool(bool),
    /// A number lexeme, printed as is.
    Num(String),
    Str(String),
    Arr(Vec<Node>),
    Obj(BTreeMap<String, Node>),
}

/// Values of any shape: arrays, numbers in non-canonical spellings (`1.50`, `-0`, `1e3`),
/// keys that look like integers, non-ASCII and escaped strings.
fn any_node() -> impl Strategy<Value = Node> {
    let leaf = prop_oneof![
        Just(Node::Null),
        any::<bool>().prop_map(Node::Bool),
        prop_oneof![
            any::<i32>().prop_map(|n| n.to_string()),
            Just("1.50".to_string()),
            Just("-0".to_string()),
            Just("1e3".to_string()),
            Just("0.1".to_string()),
            Just("123456789012345678901".to_string()),
            Just("-2.5E-7".to_string()),
        ]
        .prop_map(Node::Num),
        "[a-z0-9 \"\\\\é☃😀\n\t]{0,10}".prop_map(Node::Str),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Node::Arr),
            prop::collection::btree_map("[a-zA-Z0-9_é😀]{0,6}", inner, 0..6).prop_map(Node::Obj),
        ]
    })
}

/// Values already in canonical form when printed compactly with sorted keys: no arrays (the
/// canonicaliser turns them into objects), integers within 2^53 (printed the same by JS),
/// letter-only ASCII keys (byte order is UTF-16 order; no integer-like keys), strings with
/// nothing to escape.
fn canonical_node() -> impl Strategy<Value = Node> {
    let leaf = prop_oneof![
        Just(Node::Null),
        any::<bool>().prop_map(Node::Bool),
        (-(1i64 << 53)..(1i64 << 53)).prop_map(|n| Node::Num(n.to_string())),
        "[a-zA-Z0-9 é☃😀._-]{0,12}".prop_map(Node::Str),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop::collection::btree_map("[a-zA-Z_]{1,6}", inner, 0..6).prop_map(Node::Obj)
    })
}

/// A small deterministic generator for permutations and whitespace.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*; a zero state would stay zero.
        self.0 |= 1;
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// How to print: key order (sorted or shuffled by `rng`) and whitespace between tokens.
struct Style {
    shuffle: Option<Rng>,
    space: Option<Rng>,
}

impl Style {
    fn compact_sorted() -> Style {
        Style {
            shuffle: None,
            space: None,
        }
    }

    fn ws(&mut self, out: &mut String) {
        if let Some(rng) = &mut self.space {
            for _ in 0..rng.below(3) {
                out.push([' ', '\t', '\n', '\r'][rng.below(4)]);
            }
        }
    }
}

fn render(node: &Node, style: &mut Style, out: &mut String) {
    style.ws(out);
    match node {
        Node::Null => out.push_str("null"),
        Node::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Node::Num(n) => out.push_str(n),
        Node::Str(s) => out.push_str(&serde_json::to_string(s).expect("a string serializes")),
        Node::Arr(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    style.ws(out);
                    out.push(',');
                }
                render(item, style, out);
            }
            style.ws(out);
            out.push(']');
        }
        Node::Obj(members) => {
            let mut members: Vec<(&String, &Node)> = members.iter().collect();
            if let Some(rng) = &mut style.shuffle {
                // Fisher-Yates.
                for i in (1..members.len()).rev() {
                    let j = rng.below(i + 1);
                    members.swap(i, j);
                }
            }
            out.push('{');
            for (i, (k, v)) in members.into_iter().enumerate() {
                if i > 0 {
                    style.ws(out);
                    out.push(',');
                }
                style.ws(out);
                out.push_str(&serde_json::to_string(k).expect("a key serializes"));
                style.ws(out);
                out.push(':');
                render(v, style, out);
            }
            style.ws(out);
            out.push('}');
        }
    }
    style.ws(out);
}

fn print(node: &Node, mut style: Style) -> String {
    let mut out = String::new();
    render(node, &mut style, &mut out);
    out
}

/// The signature header `sign` puts on `body`.
fn signature(body: &str) -> String {
    let at = UNIX_EPOCH + Duration::from_secs(1_764_547_200);
    let headers = sign(KEY, body.as_bytes(), at);
    let value = headers
        .get(SIGNATURE_HEADER)
        .expect("sign sets the signature header");
    value.to_str().expect("the signature is ASCII").to_string()
}

/// Objects at the root, as ROCheap's callbacks are.
fn any_object() -> impl Strategy<Value = Node> {
    prop::collection::btree_map("[a-z0-9_]{0,6}", any_node(), 0..6).prop_map(Node::Obj)
}

fn canonical_object() -> impl Strategy<Value = Node> {
    prop::collection::btree_map("[a-zA-Z_]{1,6}", canonical_node(), 0..6).prop_map(Node::Obj)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Permuting the keys of every object, nested ones included, leaves the signature alone.
    #[test]
    fn key_order_does_not_change_the_signature(body in any_object(), seed in any::<u64>()) {
        let original = print(&body, Style::compact_sorted());
        let permuted = print(&body, Style { shuffle: Some(Rng(seed)), space: None });
        prop_assert!(serde_json::from_str::<serde_json::Value>(&permuted).is_ok(), "{permuted}");
        prop_assert_eq!(signature(&permuted), signature(&original), "{} vs {}", permuted, original);
    }

    /// Whitespace between tokens (space, tab, CR, LF, before and after the document) does
    /// not change the signature, whatever the key order.
    #[test]
    fn whitespace_does_not_change_the_signature(
        body in any_object(),
        seed in any::<u64>(),
        order in any::<u64>(),
    ) {
        let compact = print(&body, Style::compact_sorted());
        let spaced = print(&body, Style { shuffle: Some(Rng(order)), space: Some(Rng(seed)) });
        prop_assert!(serde_json::from_str::<serde_json::Value>(&spaced).is_ok(), "{spaced:?}");
        prop_assert_eq!(signature(&spaced), signature(&compact), "{:?} vs {}", spaced, compact);
    }

    /// A body already in canonical form is signed byte for byte: canonicalising it again
    /// changes nothing. And any spelling of the same document (permuted, spaced) gets that
    /// same signature.
    #[test]
    fn a_canonical_body_is_signed_as_it_is(
        body in canonical_object(),
        seed in any::<u64>(),
        order in any::<u64>(),
    ) {
        let canonical = print(&body, Style::compact_sorted());
        let plain = to_hex(&hmac_sha256(KEY.as_bytes(), &[canonical.as_bytes()]));
        prop_assert_eq!(signature(&canonical), plain.clone(), "{}", canonical);
        let spaced = print(&body, Style { shuffle: Some(Rng(order)), space: Some(Rng(seed)) });
        prop_assert_eq!(signature(&spaced), plain, "{:?}", spaced);
    }
}

/// The properties above compare signatures; this guards that they can fail: a changed value
/// changes the signature.
#[test]
fn a_changed_value_changes_the_signature() {
    let a = signature(r#"{"a":1,"b":{"c":"x"}}"#);
    let b = signature(r#"{"b":{"c":"y"},"a":1}"#);
    assert_ne!(a, b);
    assert_eq!(signature(r#"{ "b" : { "c" : "x" } , "a" : 1 }"#), a);
}
