//! The string ROCheap signs: the callback body with every object's keys sorted, printed
//! exactly as JavaScript's `JSON.stringify` prints it.
//!
//! Reproduced rather than approximated, because one differing byte fails every callback:
//!
//! * numbers print as JS `Number.prototype.toString` does (`5.0` -> `5`, `1e21` -> `1e+21`,
//!   `-0` -> `0`, `1e-7` stays `1e-7`), from a correctly rounded parse of the lexeme;
//! * keys sort by UTF-16 code units (JS `Array.prototype.sort`), and, as JS objects do,
//!   integer-like keys come first in numeric order;
//! * arrays become objects keyed `"0"`, `"1"`, ... (the quirk of ROCheap's reference
//!   canonicalizer, which treats every non-null object alike);
//! * strings escape only `"`, `\` and control characters, with lowercase `\u00xx`.
//!
//! A small parser of our own keeps this independent of serde_json features (`preserve_order`,
//! `arbitrary_precision`) that another crate in a user's build could switch on.

use std::cmp::Ordering;

/// Nesting deeper than this is refused (no stack exhaustion on hostile input).
const MAX_DEPTH: usize = 128;

enum Json {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

/// Canonicalizes a JSON document, or says why it is not JSON.
pub(crate) fn canonicalize(body: &[u8]) -> Result<String, String> {
    let text = std::str::from_utf8(body).map_err(|_| "body is not UTF-8".to_string())?;
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
    };
    p.ws();
    let v = p.value(0)?;
    p.ws();
    if p.i != p.s.len() {
        return Err(format!("unexpected data after the JSON value at byte {}", p.i));
    }
    let mut out = String::with_capacity(body.len());
    write_sorted(&v, &mut out);
    Ok(out)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.s.get(self.i) {
            self.i += 1;
        }
    }

    fn err<T>(&self, what: &str) -> Result<T, String> {
        Err(format!("{what} at byte {}", self.i))
    }

    fn eat(&mut self, lit: &[u8]) -> bool {
        if self.s[self.i..].starts_with(lit) {
            self.i += lit.len();
            true
        } else {
            false
        }
    }

    fn value(&mut self, depth: usize) -> Result<Json, String> {
        if depth > MAX_DEPTH {
            return self.err("nesting too deep");
        }
        match self.s.get(self.i) {
            Some(b'{') => {
                self.i += 1;
                let mut members: Vec<(String, Json)> = Vec::new();
                self.ws();
                if self.eat(b"}") {
                    return Ok(Json::Obj(members));
                }
                loop {
                    self.ws();
                    if self.s.get(self.i) != Some(&b'"') {
                        return self.err("expected a key");
                    }
                    let k = self.string()?;
                    self.ws();
                    if !self.eat(b":") {
                        return self.err("expected `:`");
                    }
                    self.ws();
                    let v = self.value(depth + 1)?;
                    // JSON.parse keeps the last value of a repeated key.
                    match members.iter_mut().find(|(mk, _)| *mk == k) {
                        Some(m) => m.1 = v,
                        None => members.push((k, v)),
                    }
                    self.ws();
                    if self.eat(b",") {
                        continue;
                    }
                    if self.eat(b"}") {
                        return Ok(Json::Obj(members));
                    }
                    return self.err("expected `,` or `}`");
                }
            }
            Some(b'[') => {
                self.i += 1;
                let mut items = Vec::new();
                self.ws();
                if self.eat(b"]") {
                    return Ok(Json::Arr(items));
                }
                loop {
                    self.ws();
                    items.push(self.value(depth + 1)?);
                    self.ws();
                    if self.eat(b",") {
                        continue;
                    }
                    if self.eat(b"]") {
                        return Ok(Json::Arr(items));
                    }
                    return self.err("expected `,` or `]`");
                }
            }
            Some(b'"') => Ok(Json::Str(self.string()?)),
            Some(b't') if self.eat(b"true") => Ok(Json::Bool(true)),
            Some(b'f') if self.eat(b"false") => Ok(Json::Bool(false)),
            Some(b'n') if self.eat(b"null") => Ok(Json::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => self.err("expected a JSON value"),
        }
    }

    fn number(&mut self) -> Result<Json, String> {
        let start = self.i;
        let digits = |p: &mut Self| {
            let s = p.i;
            while p.s.get(p.i).is_some_and(u8::is_ascii_digit) {
                p.i += 1;
            }
            p.i - s
        };
        self.eat(b"-");
        if self.eat(b"0") {
            if self.s.get(self.i).is_some_and(u8::is_ascii_digit) {
                return self.err("leading zero in a number");
            }
        } else if digits(self) == 0 {
            return self.err("expected digits");
        }
        if self.eat(b".") && digits(self) == 0 {
            return self.err("expected digits after `.`");
        }
        if matches!(self.s.get(self.i), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.s.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if digits(self) == 0 {
                return self.err("expected exponent digits");
            }
        }
        let lexeme = std::str::from_utf8(&self.s[start..self.i]).map_err(|_| "bad number".to_string())?;
        // Rust's float parsing is correctly rounded, as JSON.parse is.
        lexeme
            .parse::<f64>()
            .map(Json::Num)
            .map_err(|_| format!("bad number at byte {start}"))
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let h = self.s.get(self.i..self.i + 4).ok_or("truncated \\u escape")?;
        let h = std::str::from_utf8(h).map_err(|_| "bad \\u escape")?;
        let v = u32::from_str_radix(h, 16).map_err(|_| format!("bad \\u escape at byte {}", self.i))?;
        self.i += 4;
        Ok(v)
    }

    fn string(&mut self) -> Result<String, String> {
        self.i += 1; // opening quote
        let mut out = String::new();
        loop {
            let start = self.i;
            while let Some(&b) = self.s.get(self.i) {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.i += 1;
            }
            // The input is valid UTF-8 and we stopped on ASCII, so this slice is whole characters.
            out.push_str(std::str::from_utf8(&self.s[start..self.i]).map_err(|_| "bad UTF-8")?);
            match self.s.get(self.i) {
                Some(b'"') => {
                    self.i += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.i += 1;
                    let c = *self.s.get(self.i).ok_or("truncated escape")?;
                    self.i += 1;
                    match c {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let hi = self.hex4()?;
                            let cp = if (0xD800..0xDC00).contains(&hi) {
                                if !self.eat(b"\\u") {
                                    return self.err("unpaired surrogate");
                                }
                                let lo = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return self.err("unpaired surrogate");
                                }
                                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                            } else if (0xDC00..0xE000).contains(&hi) {
                                return self.err("unpaired surrogate");
                            } else {
                                hi
                            };
                            out.push(char::from_u32(cp).ok_or("bad code point")?);
                        }
                        _ => return self.err("bad escape"),
                    }
                }
                Some(_) => return self.err("control character in a string"),
                None => return self.err("unterminated string"),
            }
        }
    }
}

/// True for keys JS treats as array indices (listed first, in numeric order).
fn array_index(key: &str) -> Option<u32> {
    if key.is_empty() || (key.len() > 1 && key.starts_with('0')) || !key.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    key.parse::<u32>().ok().filter(|&n| n != u32::MAX)
}

fn js_key_order(a: &str, b: &str) -> Ordering {
    match (array_index(a), array_index(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.encode_utf16().cmp(b.encode_utf16()),
    }
}

fn write_sorted(v: &Json, out: &mut String) {
    match v {
        Json::Obj(members) => {
            let mut refs: Vec<(&str, &Json)> = members.iter().map(|(k, v)| (k.as_str(), v)).collect();
            refs.sort_by(|a, b| js_key_order(a.0, b.0));
            write_members(refs.into_iter(), out);
        }
        Json::Arr(items) => {
            let keys: Vec<String> = (0..items.len()).map(|i| i.to_string()).collect();
            write_members(keys.iter().map(String::as_str).zip(items.iter()), out);
        }
        Json::Null => out.push_str("null"),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Num(n) => js_number(*n, out),
        Json::Str(s) => js_string(s, out),
    }
}

fn write_members<'a>(members: impl Iterator<Item = (&'a str, &'a Json)>, out: &mut String) {
    out.push('{');
    for (i, (k, v)) in members.enumerate() {
        if i > 0 {
            out.push(',');
        }
        js_string(k, out);
        out.push(':');
        write_sorted(v, out);
    }
    out.push('}');
}

fn js_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// ECMAScript `Number::toString(10)` for a finite double (JSON.stringify prints non-finite
/// numbers as `null`).
fn js_number(v: f64, out: &mut String) {
    if !v.is_finite() {
        out.push_str("null");
        return;
    }
    if v == 0.0 {
        out.push('0'); // covers -0 too
        return;
    }
    if v < 0.0 {
        out.push('-');
    }
    // `{:e}` prints the shortest round-tripping digits, e.g. "4.4e-2".
    let e = format!("{:e}", v.abs());
    let (mantissa, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let digits = digits.trim_end_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    let k = digits.len() as i32;
    let n = exp.parse::<i32>().unwrap_or(0) + 1;
    if k <= n && n <= 21 {
        out.push_str(digits);
        out.extend(std::iter::repeat_n('0', (n - k) as usize));
    } else if 0 < n && n <= 21 {
        out.push_str(&digits[..n as usize]);
        out.push('.');
        out.push_str(&digits[n as usize..]);
    } else if -6 < n && n <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-n) as usize));
        out.push_str(digits);
    } else {
        out.push_str(&digits[..1]);
        if k > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if n > 0 { '+' } else { '-' });
        out.push_str(&(n - 1).abs().to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> String {
        canonicalize(s.as_bytes()).unwrap()
    }

    #[test]
    fn sorts_keys_recursively_and_prints_compactly() {
        assert_eq!(
            c(r#" { "b" : 1, "a" : { "z" : null, "y" : [ ] } } "#),
            r#"{"a":{"y":{},"z":null},"b":1}"#
        );
    }

    #[test]
    fn arrays_become_index_keyed_objects_like_the_reference() {
        // The reference vector from rocheap.md §5.4.
        assert_eq!(
            c(r#"{"b":[3,{"z":1,"a":2}],"a":1}"#),
            r#"{"a":1,"b":{"0":3,"1":{"a":2,"z":1}}}"#
        );
        // JS lists integer-like keys in numeric order, so "10" follows "9".
        let arr: Vec<String> = (0..11).map(|i| i.to_string()).collect();
        let got = c(&format!("[{}]", arr.join(",")));
        assert!(
            got.starts_with(r#"{"0":0,"1":1,"2":2"#) && got.ends_with(r#""9":9,"10":10}"#),
            "{got}"
        );
        assert_eq!(
            c(r#"{"b":1,"10":2,"9":3,"a":4,"01":5}"#),
            r#"{"9":3,"10":2,"01":5,"a":4,"b":1}"#
        );
    }

    #[test]
    fn numbers_print_like_javascript() {
        let cases = [
            ("0.044", "0.044"),
            ("5", "5"),
            ("5.0", "5"),
            ("-0", "0"),
            ("1E3", "1000"),
            ("1e21", "1e+21"),
            ("1e20", "100000000000000000000"),
            ("123456789012345680000", "123456789012345680000"),
            ("0.000001", "0.000001"),
            ("1e-7", "1e-7"),
            ("0.1e-6", "1e-7"),
            ("-1.5e-9", "-1.5e-9"),
            ("1.2345e25", "1.2345e+25"),
            ("9007199254740993", "9007199254740992"),
            ("0.1", "0.1"),
            ("100.25", "100.25"),
            ("1e400", "null"),
        ];
        for (input, want) in cases {
            assert_eq!(
                c(&format!("{{\"n\":{input}}}")),
                format!("{{\"n\":{want}}}"),
                "{input}"
            );
        }
    }

    #[test]
    fn strings_escape_like_json_stringify() {
        assert_eq!(
            c(r#"{"s":"a\"b\\c\/d\n\u0001\u00e9\ud83d\ude00\u2028"}"#),
            "{\"s\":\"a\\\"b\\\\c/d\\n\\u0001é😀\u{2028}\"}"
        );
    }

    #[test]
    fn keys_sort_by_utf16_code_units() {
        // By code point U+FF61 comes before U+1F600, but JS compares UTF-16 code units, and
        // U+1F600 starts with the surrogate 0xD83D < 0xFF61: JS puts the emoji first.
        assert_eq!(c("{\"｡\":2,\"😀\":1}"), "{\"😀\":1,\"｡\":2}");
    }

    #[test]
    fn duplicate_keys_keep_the_last_value() {
        assert_eq!(c(r#"{"a":1,"b":2,"a":3}"#), r#"{"a":3,"b":2}"#);
    }

    #[test]
    fn malformed_json_is_refused() {
        for bad in [
            "",
            "{",
            r#"{"a":}"#,
            r#"{"a":01}"#,
            r#"{"a":1}x"#,
            r#"{"a":"\ud800"}"#,
            "{\"a\":\"\u{1}\"}",
        ] {
            assert!(canonicalize(bad.as_bytes()).is_err(), "{bad:?}");
        }
        let deep = "[".repeat(200) + &"]".repeat(200);
        assert!(canonicalize(deep.as_bytes()).is_err());
    }
}
