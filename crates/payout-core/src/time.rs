//! [`Timestamp`]: one typed instant for every provider's date-time fields.
//!
//! Providers send date-times as RFC 3339 strings (`2024-11-01T10:00:00Z`,
//! `2025-06-26T12:00:00.000Z`). A [`Timestamp`] keeps the exact text it was given **and** the
//! instant it names when that text is a complete RFC 3339 date-time with an offset:
//!
//! * decoding never fails on content: text that is not such a date-time (a local time with no
//!   offset, a typo, a format a provider may start sending tomorrow) is kept as is, with no
//!   instant ([`Timestamp::is_parsed`] is false), so a payout response always decodes;
//! * serializing writes the exact text back, so what the journal stores round-trips byte for byte;
//! * the instant is read with [`Timestamp::unix_seconds`], [`Timestamp::unix_millis`],
//!   [`Timestamp::to_system_time`], and with features `jiff` / `time`, as those crates' types.
//!
//! No date-time crate is needed: the parser is this module (the build-cost figures behind that
//! choice are in `docs/architecture.md`, "Typed timestamps").
//!
//! ```
//! use payout_core::Timestamp;
//!
//! let t = Timestamp::parse("2024-01-01T05:30:00+05:30");
//! assert_eq!(t.as_str(), "2024-01-01T05:30:00+05:30"); // the text as sent
//! assert_eq!(t.unix_seconds(), Some(1_704_067_200)); // 2024-01-01T00:00:00Z
//! assert_eq!(t.utc_offset_seconds(), Some(19_800));
//!
//! // A local time names no instant: kept, but not interpreted.
//! let local = Timestamp::parse("2024-01-01 10:00:00");
//! assert!(!local.is_parsed());
//! assert_eq!(local.as_str(), "2024-01-01 10:00:00");
//!
//! // Values you send: made from an instant, or refused before anything is sent.
//! assert_eq!(Timestamp::from_unix(1_704_067_200, 0).unwrap().as_str(), "2024-01-01T00:00:00Z");
//! assert!(Timestamp::try_parse("yesterday").is_err());
//! ```

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::de::{self, Deserialize, Deserializer, Visitor};
use serde::ser::{Serialize, Serializer};

/// The rule every refusal names, with an example a user can copy.
const RULE: &str = "must be an RFC 3339 date-time with an offset, e.g. 2024-01-01T00:00:00Z";

/// Seconds from 1970-01-01T00:00:00Z to 0000-01-01T00:00:00Z.
const MIN_UNIX: i64 = -62_167_219_200;
/// Seconds from 1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z.
const MAX_UNIX: i64 = 253_402_300_799;
const NANOS_PER_SEC: u32 = 1_000_000_000;

/// A date-time as a provider sent it (or as we will send it), with the instant it names when
/// the text is an RFC 3339 date-time with an offset.
///
/// # What is interpreted
///
/// `YYYY-MM-DD` `T` (or `t`, or a space) `HH:MM:SS`, an optional fraction `.` + 1 or more
/// digits, then `Z` (or `z`) or `+HH:MM` / `-HH:MM`:
///
/// * years `0000` to `9999`; months and days are checked against the Gregorian calendar
///   (February 29 only in leap years); hours `00`-`23`, minutes `00`-`59`, seconds `00`-`59`;
/// * a leap second `:60` is accepted and read as the last instant of that minute,
///   `:59.999999999` (the fraction, if any, is dropped), so it never sorts before a `:59`;
/// * a fraction longer than 9 digits is truncated to nanoseconds (still interpreted);
/// * offsets up to `±23:59`; `-00:00` ("offset unknown", RFC 3339 §4.3) names the UTC instant;
/// * **a date-time without an offset is not interpreted** (kept with no instant): its zone
///   is unknown, and guessing UTC could shift a payout's time by hours.
///
/// Anything else (other layouts, digits outside ASCII, trailing text) is kept with no instant.
/// Use [`Timestamp::try_parse`] for values a user typed, and [`Timestamp::check`] in request
/// builders, so such text is refused before it is sent.
///
/// # Equality and order
///
/// Two timestamps are equal when their **text** is equal (`2024-01-01T00:00:00Z` and
/// `2024-01-01T00:00:00.000Z` name the same instant but are different values; compare
/// [`Timestamp::unix_seconds`] and [`Timestamp::subsec_nanos`] for the instant). They are
/// ordered by instant, then by text, and timestamps with no instant sort after all others;
/// so the order agrees with equality, and sorting a list puts it in time order.
///
/// # Serde
///
/// Serializes as its text. Deserializes from a string (never failing on its content) or from
/// a JSON number, kept as its decimal text with no instant (no provider documents numeric
/// date-times, and one must not make a payout response undecodable). Use `Option<Timestamp>`
/// for fields that may be `null` or absent.
///
/// ```
/// use payout_core::Timestamp;
///
/// #[derive(serde::Deserialize, serde::Serialize)]
/// struct Invoice {
///     #[serde(rename = "createdAt")]
///     created_at: Option<Timestamp>,
/// }
///
/// let json = r#"{"createdAt":"2025-06-26T12:00:00.000Z"}"#;
/// let invoice: Invoice = serde_json::from_str(json).unwrap();
/// let created = invoice.created_at.as_ref().unwrap();
/// assert_eq!(created.unix_millis(), Some(1_750_939_200_000));
/// assert_eq!(serde_json::to_string(&invoice).unwrap(), json); // byte for byte
/// ```
#[derive(Clone)]
pub struct Timestamp {
    raw: String,
    parsed: Option<Parsed>,
}

/// The instant: Unix seconds (UTC) and nanoseconds, plus the offset the text was written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Parsed {
    secs: i64,
    nanos: u32,
    offset_secs: i32,
}

/// Why a text is not an RFC 3339 date-time with an offset ([`Timestamp::try_parse`]).
///
/// Its `Display` names the rule and what broke it, never the text itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimestampError {
    reason: &'static str,
}

impl TimestampError {
    /// What broke the rule, e.g. `"no UTC offset: add Z or ±HH:MM"`.
    pub fn reason(&self) -> &'static str {
        self.reason
    }
}

impl fmt::Display for TimestampError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{RULE} ({})", self.reason)
    }
}

impl std::error::Error for TimestampError {}

impl Timestamp {
    /// Keeps `text` and interprets it when it is an RFC 3339 date-time with an offset (see the
    /// type's documentation for the exact rule). Never fails: check [`Timestamp::is_parsed`],
    /// or use [`Timestamp::try_parse`] to refuse text that is not interpreted.
    ///
    /// ```
    /// use payout_core::Timestamp;
    /// assert!(Timestamp::parse("2024-02-29T12:00:00.5-03:00").is_parsed());
    /// assert!(!Timestamp::parse("2023-02-29T12:00:00Z").is_parsed()); // no such day
    /// ```
    pub fn parse(text: impl Into<String>) -> Timestamp {
        let raw = text.into();
        let parsed = parse_rfc3339(&raw).ok();
        Timestamp { raw, parsed }
    }

    /// Like [`Timestamp::parse`], but refuses text that is not an RFC 3339 date-time with an
    /// offset. Use it for values a user typed (a command-line flag, a config file).
    ///
    /// ```
    /// use payout_core::Timestamp;
    /// let e = Timestamp::try_parse("2024-01-01T00:00:00").unwrap_err();
    /// assert_eq!(
    ///     e.to_string(),
    ///     "must be an RFC 3339 date-time with an offset, e.g. 2024-01-01T00:00:00Z \
    ///      (no UTC offset: add Z or ±HH:MM; a local time names no instant)"
    /// );
    /// ```
    pub fn try_parse(text: &str) -> Result<Timestamp, TimestampError> {
        match parse_rfc3339(text) {
            Ok(parsed) => Ok(Timestamp {
                raw: text.to_owned(),
                parsed: Some(parsed),
            }),
            Err(reason) => Err(TimestampError { reason }),
        }
    }

    /// The instant `secs` seconds (and `nanos` nanoseconds) after 1970-01-01T00:00:00Z, written
    /// in UTC: `2024-01-01T00:00:00Z`, with a fraction only when `nanos` is not zero, in groups
    /// of three digits (`.5` is written `.500`, 1 µs `.000001`, 1 ns `.000000001`).
    ///
    /// `None` when `nanos` is 1 000 000 000 or more, or the instant is outside years 0000-9999.
    ///
    /// ```
    /// use payout_core::Timestamp;
    /// let t = Timestamp::from_unix(1_704_067_200, 123_000_000).unwrap();
    /// assert_eq!(t.as_str(), "2024-01-01T00:00:00.123Z");
    /// assert_eq!(Timestamp::from_unix(-1, 0).unwrap().as_str(), "1969-12-31T23:59:59Z");
    /// ```
    pub fn from_unix(secs: i64, nanos: u32) -> Option<Timestamp> {
        if nanos >= NANOS_PER_SEC || !(MIN_UNIX..=MAX_UNIX).contains(&secs) {
            return None;
        }
        Some(Timestamp::from_parts(secs, nanos, Fraction::Shortest))
    }

    /// The instant `millis` milliseconds after 1970-01-01T00:00:00Z, written in UTC with
    /// **always exactly three** fractional digits: `2024-01-01T00:00:00.000Z`, the shape xRocket
    /// documents. `None` outside years 0000-9999.
    ///
    /// ```
    /// use payout_core::Timestamp;
    /// let t = Timestamp::from_unix_millis(1_750_939_200_000).unwrap();
    /// assert_eq!(t.as_str(), "2025-06-26T12:00:00.000Z");
    /// assert_eq!(t.unix_millis(), Some(1_750_939_200_000));
    /// ```
    pub fn from_unix_millis(millis: i64) -> Option<Timestamp> {
        let secs = millis.div_euclid(1000);
        let nanos = u32::try_from(millis.rem_euclid(1000)).ok()? * 1_000_000;
        if !(MIN_UNIX..=MAX_UNIX).contains(&secs) {
            return None;
        }
        Some(Timestamp::from_parts(secs, nanos, Fraction::Millis))
    }

    /// The current time, written like [`Timestamp::from_unix`] (UTC, full precision).
    pub fn now() -> Timestamp {
        Timestamp::from(SystemTime::now())
    }

    /// The current time truncated to the millisecond, written like
    /// [`Timestamp::from_unix_millis`] (`2024-01-01T00:00:00.000Z`): what the sandboxes print
    /// for "now".
    pub fn now_millis() -> Timestamp {
        let (secs, nanos) = split_system_time(SystemTime::now());
        Timestamp::from_parts(secs, nanos, Fraction::Millis)
    }

    /// The text, exactly as received or written.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The text, exactly as received or written.
    pub fn into_string(self) -> String {
        self.raw
    }

    /// True when the text is an RFC 3339 date-time with an offset, so the instant accessors
    /// below return `Some`.
    pub fn is_parsed(&self) -> bool {
        self.parsed.is_some()
    }

    /// Whole seconds since 1970-01-01T00:00:00Z (negative before), rounded down.
    pub fn unix_seconds(&self) -> Option<i64> {
        self.parsed.map(|p| p.secs)
    }

    /// Milliseconds since 1970-01-01T00:00:00Z (negative before), rounded down: a fraction
    /// finer than a millisecond is dropped.
    pub fn unix_millis(&self) -> Option<i64> {
        // |secs| < 2.6e11, so * 1000 cannot overflow.
        self.parsed
            .map(|p| p.secs * 1000 + i64::from(p.nanos / 1_000_000))
    }

    /// The nanoseconds past [`Timestamp::unix_seconds`] (0 to 999 999 999).
    pub fn subsec_nanos(&self) -> Option<u32> {
        self.parsed.map(|p| p.nanos)
    }

    /// The offset from UTC the text was written in, in seconds (east positive): `+05:30` is
    /// `19800`, `Z` and `-00:00` are `0`.
    pub fn utc_offset_seconds(&self) -> Option<i32> {
        self.parsed.map(|p| p.offset_secs)
    }

    /// The instant as a [`SystemTime`].
    pub fn to_system_time(&self) -> Option<SystemTime> {
        let p = self.parsed?;
        let whole = if p.secs >= 0 {
            UNIX_EPOCH.checked_add(Duration::from_secs(p.secs.unsigned_abs()))
        } else {
            UNIX_EPOCH.checked_sub(Duration::from_secs(p.secs.unsigned_abs()))
        };
        whole?.checked_add(Duration::from_nanos(u64::from(p.nanos)))
    }

    /// Refuses a timestamp with no instant, for request builders: `Ok` with the text to send,
    /// or an [`crate::ErrorKind::InvalidInput`] error for `provider` naming `field` and the
    /// rule ("must be an RFC 3339 date-time with an offset, e.g. 2024-01-01T00:00:00Z"), never
    /// the value. Nothing is sent.
    ///
    /// ```
    /// use payout_core::{ErrorKind, Timestamp};
    /// let from = Timestamp::parse("2024-01-01T00:00:00Z");
    /// assert_eq!(from.check("xrocket", "fromDate").unwrap(), "2024-01-01T00:00:00Z");
    ///
    /// let e = Timestamp::parse("01/01/2024").check("xrocket", "fromDate").unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::InvalidInput);
    /// assert_eq!(e.field(), Some("fromDate"));
    /// ```
    pub fn check(&self, provider: &'static str, field: &'static str) -> crate::Result<&str> {
        if self.parsed.is_some() {
            return Ok(&self.raw);
        }
        let reason = parse_rfc3339(&self.raw).err().unwrap_or("not interpreted");
        Err(crate::Error::invalid_input(
            provider,
            field,
            format!("{RULE} ({reason})"),
        ))
    }

    /// Checks a date-range filter before anything is sent: each bound with [`Self::check`],
    /// then that `from` is not later than `to`, **by instant** (`12:00+03:00` and `09:00Z`
    /// are the same time, whatever their text). Returns the texts to send.
    ///
    /// # Errors
    /// `InvalidInput` naming the bound that is not a date-time, or naming `from.0` with the
    /// rule "must not be later than `<to field>`".
    ///
    /// ```
    /// use payout_core::{ErrorKind, Timestamp};
    /// let (a, b) = (Timestamp::parse("2026-01-02T00:00:00Z"), Timestamp::parse("2026-01-01T23:00:00-02:00"));
    /// // 23:00-02:00 is 01:00Z on the 2nd: after `a`, so the range is fine.
    /// let sent = Timestamp::check_range("xrocket", ("fromDate", Some(&a)), ("toDate", Some(&b))).unwrap();
    /// assert_eq!(sent, (Some("2026-01-02T00:00:00Z"), Some("2026-01-01T23:00:00-02:00")));
    /// let e = Timestamp::check_range("xrocket", ("fromDate", Some(&b)), ("toDate", Some(&a))).unwrap_err();
    /// assert_eq!((e.kind(), e.field()), (ErrorKind::InvalidInput, Some("fromDate")));
    /// ```
    pub fn check_range<'a>(
        provider: &'static str,
        from: (&'static str, Option<&'a Timestamp>),
        to: (&'static str, Option<&'a Timestamp>),
    ) -> crate::Result<(Option<&'a str>, Option<&'a str>)> {
        let from_text = from.1.map(|t| t.check(provider, from.0)).transpose()?;
        let to_text = to.1.map(|t| t.check(provider, to.0)).transpose()?;
        if let (Some(f), Some(t)) = (from.1, to.1) {
            let instant = |ts: &Timestamp| ts.parsed.map(|p| (p.secs, p.nanos));
            if instant(f) > instant(t) {
                return Err(crate::Error::invalid_input(
                    provider,
                    from.0,
                    format!("must not be later than {}", to.0),
                ));
            }
        }
        Ok((from_text, to_text))
    }

    fn from_parts(secs: i64, nanos: u32, fraction: Fraction) -> Timestamp {
        let nanos = match fraction {
            Fraction::Shortest => nanos,
            Fraction::Millis => nanos / 1_000_000 * 1_000_000,
        };
        let raw = format_utc(secs, nanos, fraction);
        let in_range = (MIN_UNIX..=MAX_UNIX).contains(&secs) && nanos < NANOS_PER_SEC;
        Timestamp {
            raw,
            parsed: in_range.then_some(Parsed {
                secs,
                nanos,
                offset_secs: 0,
            }),
        }
    }
}

impl From<SystemTime> for Timestamp {
    /// The instant written like [`Timestamp::from_unix`] (UTC, full precision). Times before
    /// 1970 are handled; a clock outside years 0000-9999 gives a timestamp with no instant
    /// whose text names the year anyway.
    fn from(t: SystemTime) -> Timestamp {
        let (secs, nanos) = split_system_time(t);
        Timestamp::from_parts(secs, nanos, Fraction::Shortest)
    }
}

impl From<String> for Timestamp {
    /// [`Timestamp::parse`].
    fn from(text: String) -> Timestamp {
        Timestamp::parse(text)
    }
}

impl From<&str> for Timestamp {
    /// [`Timestamp::parse`].
    fn from(text: &str) -> Timestamp {
        Timestamp::parse(text)
    }
}

impl AsRef<str> for Timestamp {
    fn as_ref(&self) -> &str {
        &self.raw
    }
}

impl fmt::Display for Timestamp {
    /// The text, exactly as received or written.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl fmt::Debug for Timestamp {
    /// `Timestamp("2024-01-01T00:00:00Z")`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Timestamp").field(&self.raw).finish()
    }
}

impl PartialEq for Timestamp {
    fn eq(&self, other: &Self) -> bool {
        self.raw == other.raw
    }
}

impl Eq for Timestamp {}

impl Hash for Timestamp {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.raw.hash(state);
    }
}

impl Ord for Timestamp {
    fn cmp(&self, other: &Self) -> Ordering {
        let instant = match (self.parsed, other.parsed) {
            (Some(a), Some(b)) => (a.secs, a.nanos).cmp(&(b.secs, b.nanos)),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        };
        instant.then_with(|| self.raw.cmp(&other.raw))
    }
}

impl PartialOrd for Timestamp {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.raw)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Timestamp, D::Error> {
        if deserializer.is_human_readable() {
            // JSON: a string, or a number kept as its text.
            deserializer.deserialize_any(TimestampVisitor)
        } else {
            // Binary formats are not self-describing; we only ever write strings.
            deserializer.deserialize_string(TimestampVisitor)
        }
    }
}

struct TimestampVisitor;

impl Visitor<'_> for TimestampVisitor {
    type Value = Timestamp;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a date-time string")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Timestamp, E> {
        Ok(Timestamp::parse(v))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Timestamp, E> {
        Ok(Timestamp::parse(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Timestamp, E> {
        Ok(Timestamp::unparsed(v.to_string()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Timestamp, E> {
        Ok(Timestamp::unparsed(v.to_string()))
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Timestamp, E> {
        Ok(Timestamp::unparsed(v.to_string()))
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Timestamp, E> {
        Ok(Timestamp::unparsed(v.to_string()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Timestamp, E> {
        Ok(Timestamp::unparsed(v.to_string()))
    }
}

impl Timestamp {
    fn unparsed(raw: String) -> Timestamp {
        Timestamp { raw, parsed: None }
    }
}

// ----- conversions behind features -----

#[cfg(feature = "jiff")]
#[cfg_attr(docsrs, doc(cfg(feature = "jiff")))]
impl Timestamp {
    /// The instant as a [`jiff::Timestamp`] (the offset is not part of it: see
    /// [`Timestamp::utc_offset_seconds`]).
    pub fn to_jiff(&self) -> Option<jiff::Timestamp> {
        let p = self.parsed?;
        jiff::Timestamp::new(p.secs, i32::try_from(p.nanos).ok()?).ok()
    }
}

#[cfg(feature = "jiff")]
#[cfg_attr(docsrs, doc(cfg(feature = "jiff")))]
impl From<jiff::Timestamp> for Timestamp {
    /// The instant written like [`Timestamp::from_unix`] (UTC, full precision). Outside years
    /// 0000-9999 (jiff reaches -9999) it has no instant and its text names the year anyway.
    fn from(t: jiff::Timestamp) -> Timestamp {
        // subsec_nanosecond is in 0..1e9 when the second is >= 0 and in -1e9..0 when negative.
        let (mut secs, nanos) = (t.as_second(), t.subsec_nanosecond());
        let nanos = if nanos < 0 {
            secs -= 1;
            nanos + 1_000_000_000
        } else {
            nanos
        };
        Timestamp::from_parts(secs, nanos.unsigned_abs(), Fraction::Shortest)
    }
}

#[cfg(feature = "time")]
#[cfg_attr(docsrs, doc(cfg(feature = "time")))]
impl Timestamp {
    /// The instant as a [`time::OffsetDateTime`], in the offset the
    /// text was written in.
    pub fn to_offset_date_time(&self) -> Option<::time::OffsetDateTime> {
        let p = self.parsed?;
        let nanos = i128::from(p.secs) * 1_000_000_000 + i128::from(p.nanos);
        let utc = ::time::OffsetDateTime::from_unix_timestamp_nanos(nanos).ok()?;
        let offset = ::time::UtcOffset::from_whole_seconds(p.offset_secs).ok()?;
        utc.checked_to_offset(offset)
    }
}

#[cfg(feature = "time")]
#[cfg_attr(docsrs, doc(cfg(feature = "time")))]
impl From<::time::OffsetDateTime> for Timestamp {
    /// The instant written like [`Timestamp::from_unix`], in UTC (`Z`; the offset is not
    /// kept). Outside years 0000-9999 it has no instant and its text names the year anyway.
    fn from(t: ::time::OffsetDateTime) -> Timestamp {
        Timestamp::from_parts(t.unix_timestamp(), t.nanosecond(), Fraction::Shortest)
    }
}

// ----- the parser and the formatter -----

/// (Unix seconds, nanoseconds) of any `SystemTime`, the nanoseconds always forward in time.
fn split_system_time(t: SystemTime) -> (i64, u32) {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => (i64::try_from(d.as_secs()).unwrap_or(i64::MAX), d.subsec_nanos()),
        Err(e) => {
            let d = e.duration();
            let secs = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
            if d.subsec_nanos() == 0 {
                (-secs, 0)
            } else {
                (-secs - 1, NANOS_PER_SEC - d.subsec_nanos())
            }
        }
    }
}

fn parse_rfc3339(s: &str) -> Result<Parsed, &'static str> {
    const DATE: &str = "expected YYYY-MM-DD";
    const TIME: &str = "expected HH:MM:SS after the date";
    let b = s.as_bytes();
    let year = digits(b, 0, 4).ok_or(DATE)?;
    if b.get(4) != Some(&b'-') {
        return Err(DATE);
    }
    let month = digits(b, 5, 2).ok_or(DATE)?;
    if b.get(7) != Some(&b'-') {
        return Err(DATE);
    }
    let day = digits(b, 8, 2).ok_or(DATE)?;
    if !(1..=12).contains(&month) {
        return Err("month must be 01 to 12");
    }
    if day < 1 || day > days_in_month(year, month) {
        return Err("no such day in that month");
    }
    match b.get(10) {
        Some(b'T' | b't' | b' ') => {}
        None => return Err("a date alone names no instant: add a time and an offset"),
        Some(_) => return Err("expected `T` between the date and the time"),
    }
    let hour = digits(b, 11, 2).ok_or(TIME)?;
    let minute = (b.get(13) == Some(&b':'))
        .then(|| digits(b, 14, 2))
        .flatten()
        .ok_or(TIME)?;
    let second = (b.get(16) == Some(&b':'))
        .then(|| digits(b, 17, 2))
        .flatten()
        .ok_or(TIME)?;
    if hour > 23 {
        return Err("hour must be 00 to 23");
    }
    if minute > 59 {
        return Err("minute must be 00 to 59");
    }
    if second > 60 {
        return Err("second must be 00 to 59 (or 60, a leap second)");
    }
    let mut i = 19;
    let mut nanos = 0u32;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while let Some(d) = b.get(i).filter(|c| c.is_ascii_digit()) {
            if i - start < 9 {
                nanos = nanos * 10 + u32::from(d - b'0');
            }
            i += 1;
        }
        let n = i - start;
        if n == 0 {
            return Err("a fraction needs at least one digit after `.`");
        }
        for _ in n..9 {
            nanos *= 10;
        }
    }
    let offset_secs: i32 = match b.get(i) {
        None => return Err("no UTC offset: add Z or ±HH:MM; a local time names no instant"),
        Some(b'Z' | b'z') => {
            i += 1;
            0
        }
        Some(&sign @ (b'+' | b'-')) => {
            const OFFSET: &str = "the offset must be Z or ±HH:MM, HH 00 to 23 and MM 00 to 59";
            let oh = digits(b, i + 1, 2).ok_or(OFFSET)?;
            let om = (b.get(i + 3) == Some(&b':'))
                .then(|| digits(b, i + 4, 2))
                .flatten()
                .ok_or(OFFSET)?;
            if oh > 23 || om > 59 {
                return Err(OFFSET);
            }
            i += 6;
            // oh <= 23 and om <= 59: fits an i32 with room to spare.
            let magnitude = i32::try_from(oh * 3600 + om * 60).map_err(|_| OFFSET)?;
            if sign == b'-' { -magnitude } else { magnitude }
        }
        Some(_) => return Err("expected Z or ±HH:MM after the time"),
    };
    if i != b.len() {
        return Err("unexpected text after the offset");
    }
    let (second, nanos) = if second == 60 {
        (59, NANOS_PER_SEC - 1)
    } else {
        (second, nanos)
    };
    let days = days_from_civil(i64::from(year), i64::from(month), i64::from(day));
    let local = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second);
    Ok(Parsed {
        secs: local - i64::from(offset_secs),
        nanos,
        offset_secs,
    })
}

/// `n` ASCII digits at `at` as a number (`None` if any is missing or not `0`-`9`).
fn digits(b: &[u8], at: usize, n: usize) -> Option<u32> {
    let field = b.get(at..at + n)?;
    field.iter().try_fold(0u32, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
    })
}

fn is_leap(year: u32) -> bool {
    year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400))
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to the proleptic Gregorian date `y-m-d` (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date `days` days after 1970-01-01 (the inverse of the above).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    // 1..=31 and 1..=12 by construction.
    let d = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let m = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[derive(Clone, Copy)]
enum Fraction {
    /// None when zero, else 3, 6 or 9 digits, the fewest that are exact.
    Shortest,
    /// Always 3 digits (sub-millisecond nanoseconds are not written).
    Millis,
}

/// `secs`/`nanos` as `YYYY-MM-DDTHH:MM:SS[.fff]Z`. Years outside 0000-9999 (only reachable
/// from `SystemTime` and the feature conversions) are written with a sign and at least four
/// digits, which `parse` does not interpret.
fn format_utc(secs: i64, nanos: u32, fraction: Fraction) -> String {
    use fmt::Write as _;
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    let mut out = String::with_capacity(30);
    // Writing to a String cannot fail.
    let _ = if (0..=9999).contains(&year) {
        write!(out, "{year:04}")
    } else {
        write!(out, "{year:+05}")
    };
    let _ = write!(
        out,
        "-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    );
    let _ = match fraction {
        Fraction::Millis => write!(out, ".{:03}", nanos / 1_000_000),
        Fraction::Shortest if nanos == 0 => Ok(()),
        Fraction::Shortest if nanos.is_multiple_of(1_000_000) => write!(out, ".{:03}", nanos / 1_000_000),
        Fraction::Shortest if nanos.is_multiple_of(1_000) => write!(out, ".{:06}", nanos / 1_000),
        Fraction::Shortest => write!(out, ".{nanos:09}"),
    };
    out.push('Z');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every day of years 0000-9999, counted one by one with the calendar rules, against the
    /// closed-form conversion both ways.
    #[test]
    fn every_day_from_0000_to_9999_converts_both_ways() {
        let mut days = days_from_civil(0, 1, 1);
        assert_eq!(days * 86_400, MIN_UNIX);
        for year in 0..=9999u32 {
            for month in 1..=12 {
                for day in 1..=days_in_month(year, month) {
                    assert_eq!(
                        days_from_civil(i64::from(year), i64::from(month), i64::from(day)),
                        days
                    );
                    assert_eq!(civil_from_days(days), (i64::from(year), month, day));
                    days += 1;
                }
            }
        }
        assert_eq!(days * 86_400 - 1, MAX_UNIX);
    }

    #[test]
    fn leap_years_follow_the_gregorian_rule() {
        assert!(is_leap(2000) && is_leap(2024) && is_leap(0) && is_leap(1600));
        assert!(!is_leap(1900) && !is_leap(2023) && !is_leap(2100));
    }

    #[test]
    fn out_of_range_years_are_written_with_a_sign_and_not_interpreted() {
        let t = Timestamp::from_parts(MIN_UNIX - 1, 0, Fraction::Shortest);
        assert_eq!(t.as_str(), "-0001-12-31T23:59:59Z");
        assert!(!t.is_parsed());
        let t = Timestamp::from_parts(MAX_UNIX + 1, 0, Fraction::Shortest);
        assert_eq!(t.as_str(), "+10000-01-01T00:00:00Z");
        assert!(!t.is_parsed());
    }

    #[test]
    fn split_system_time_keeps_nanos_forward_before_1970() {
        let t = UNIX_EPOCH - Duration::from_millis(1500);
        assert_eq!(split_system_time(t), (-2, 500_000_000));
        assert_eq!(split_system_time(UNIX_EPOCH - Duration::from_secs(2)), (-2, 0));
    }
}
