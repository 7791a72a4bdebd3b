//! Bound parameter values as text for capture: text-format values as sent, binary-format
//! values decoded by their type OID (booleans, integers, floats, numeric, text types, jsonb,
//! uuid, date, time, timestamp, timestamptz), anything else as `\x` hex. Every result is cut to a
//! byte budget so a huge value never costs more than the budget.

use std::fmt::Write as _;

use super::extended::BINARY;
use super::lossy_text;

/// Type OIDs the binary decoder knows.
pub mod oid {
    pub const BOOL: u32 = 16;
    pub const BYTEA: u32 = 17;
    pub const CHAR: u32 = 18;
    pub const NAME: u32 = 19;
    pub const INT8: u32 = 20;
    pub const INT2: u32 = 21;
    pub const INT4: u32 = 23;
    pub const TEXT: u32 = 25;
    pub const OID: u32 = 26;
    pub const JSON: u32 = 114;
    pub const XML: u32 = 142;
    pub const FLOAT4: u32 = 700;
    pub const FLOAT8: u32 = 701;
    pub const UNKNOWN: u32 = 705;
    pub const BPCHAR: u32 = 1042;
    pub const VARCHAR: u32 = 1043;
    pub const DATE: u32 = 1082;
    pub const TIME: u32 = 1083;
    pub const TIMESTAMP: u32 = 1114;
    pub const TIMESTAMPTZ: u32 = 1184;
    pub const NUMERIC: u32 = 1700;
    pub const UUID: u32 = 2950;
    pub const JSONB: u32 = 3802;
}

/// Days from 4713-11-24 BC (Julian day 0) to 2000-01-01, PostgreSQL's epoch.
const PG_EPOCH_JULIAN_DAY: i64 = 2_451_545;
const MICROS_PER_DAY: i64 = 86_400_000_000;

/// One parameter as text (`None` is SQL NULL), at most `max` bytes (plus `…` when cut).
pub fn render(format: i16, type_oid: u32, value: Option<&[u8]>, max: usize) -> Option<String> {
    let value = value?;
    if format != BINARY {
        return Some(lossy_text(value, max));
    }
    let text = match (type_oid, value.len()) {
        (oid::BOOL, 1) => Some(if value[0] == 0 { "f" } else { "t" }.to_owned()),
        (oid::INT2, 2) => Some(i16::from_be_bytes([value[0], value[1]]).to_string()),
        (oid::INT4, 4) => Some(i32::from_be_bytes(array(value)).to_string()),
        (oid::OID, 4) => Some(u32::from_be_bytes(array(value)).to_string()),
        (oid::INT8, 8) => Some(i64::from_be_bytes(array(value)).to_string()),
        (oid::FLOAT4, 4) => Some(float(f64::from(f32::from_be_bytes(array(value))))),
        (oid::FLOAT8, 8) => Some(float(f64::from_be_bytes(array(value)))),
        (
            oid::TEXT
            | oid::VARCHAR
            | oid::BPCHAR
            | oid::NAME
            | oid::CHAR
            | oid::JSON
            | oid::XML
            | oid::UNKNOWN,
            _,
        ) => return Some(lossy_text(value, max)),
        (oid::JSONB, n) if n >= 1 && value[0] == 1 => return Some(lossy_text(&value[1..], max)),
        (oid::UUID, 16) => Some(uuid(value)),
        (oid::DATE, 4) => date(i32::from_be_bytes(array(value))),
        (oid::TIME, 8) => Some(time_of_day(i64::from_be_bytes(array(value)))),
        (oid::TIMESTAMP, 8) => timestamp(i64::from_be_bytes(array(value)), ""),
        (oid::TIMESTAMPTZ, 8) => timestamp(i64::from_be_bytes(array(value)), "+00"),
        (oid::NUMERIC, _) => numeric(value, max),
        _ => None,
    };
    Some(match text {
        Some(t) if t.len() <= max => t,
        Some(t) => lossy_text(t.as_bytes(), max),
        None => hex(value, max),
    })
}

fn array<const N: usize>(value: &[u8]) -> [u8; N] {
    let mut out = [0; N];
    out.copy_from_slice(&value[..N]);
    out
}

/// PostgreSQL's spelling of special float values; shortest round-trip digits otherwise.
fn float(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_owned()
    } else if v.is_infinite() {
        if v > 0.0 { "Infinity" } else { "-Infinity" }.to_owned()
    } else {
        v.to_string()
    }
}

/// `\x` and lowercase hex digits (bytea's text form), of at most `max` output bytes.
fn hex(value: &[u8], max: usize) -> String {
    let take = value.len().min(max.saturating_sub(2) / 2);
    let mut s = String::with_capacity(2 + take * 2 + 3);
    s.push_str("\\x");
    for b in &value[..take] {
        let _ = write!(s, "{b:02x}");
    }
    if take < value.len() {
        s.push('…');
    }
    s
}

fn uuid(v: &[u8]) -> String {
    let mut s = String::with_capacity(36);
    for (i, b) in v.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn date(days: i32) -> Option<String> {
    match days {
        i32::MAX => return Some("infinity".to_owned()),
        i32::MIN => return Some("-infinity".to_owned()),
        _ => {}
    }
    let d = time::Date::from_julian_day(i32::try_from(PG_EPOCH_JULIAN_DAY + i64::from(days)).ok()?)
        .ok()?;
    Some(format!(
        "{:04}-{:02}-{:02}",
        d.year(),
        u8::from(d.month()),
        d.day()
    ))
}

fn time_of_day(micros: i64) -> String {
    let micros = micros.rem_euclid(MICROS_PER_DAY);
    let secs = micros / 1_000_000;
    let mut s = format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
    let frac = micros % 1_000_000;
    if frac != 0 {
        let digits = format!("{frac:06}");
        s.push('.');
        s.push_str(digits.trim_end_matches('0'));
    }
    s
}

fn timestamp(micros: i64, zone: &str) -> Option<String> {
    match micros {
        i64::MAX => return Some("infinity".to_owned()),
        i64::MIN => return Some("-infinity".to_owned()),
        _ => {}
    }
    let days = i32::try_from(micros.div_euclid(MICROS_PER_DAY)).ok()?;
    let day = date(days)?;
    Some(format!(
        "{day} {}{zone}",
        time_of_day(micros.rem_euclid(MICROS_PER_DAY))
    ))
}

/// The binary numeric format: digit count, weight (of the first base-10000 digit), sign,
/// display scale, then the base-10000 digits.
fn numeric(v: &[u8], max: usize) -> Option<String> {
    let mut r = super::Reader::new(v);
    let ndigits = r.count("digit count").ok()?;
    let weight = i64::from(r.i16("weight").ok()?);
    let sign = r.i16("sign").ok()?.cast_unsigned();
    let dscale = usize::try_from(r.i16("scale").ok()?).ok()?;
    let raw = r.bytes(ndigits * 2, "digits").ok()?;
    if !r.is_empty() {
        return None;
    }
    match sign {
        0x0000 | 0x4000 => {}
        0xC000 => return Some("NaN".to_owned()),
        0xD000 => return Some("Infinity".to_owned()),
        0xF000 => return Some("-Infinity".to_owned()),
        _ => return None,
    }
    let digits: Vec<u16> = raw
        .chunks_exact(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]))
        .collect();
    if digits.iter().any(|&d| d > 9999) {
        return None;
    }
    let digit = |i: i64| {
        usize::try_from(i)
            .ok()
            .and_then(|i| digits.get(i))
            .copied()
            .unwrap_or(0)
    };
    let mut s = String::new();
    if sign == 0x4000 {
        s.push('-');
    }
    if weight < 0 {
        s.push('0');
    } else {
        for i in 0..=weight {
            if i == 0 {
                let _ = write!(s, "{}", digit(i));
            } else {
                let _ = write!(s, "{:04}", digit(i));
            }
            if s.len() > max {
                return Some(s);
            }
        }
    }
    if dscale > 0 {
        let mut frac = String::new();
        let mut i = weight + 1;
        while frac.len() < dscale && s.len() + frac.len() <= max {
            let _ = write!(frac, "{:04}", digit(i));
            i += 1;
        }
        frac.truncate(dscale);
        s.push('.');
        s.push_str(&frac);
    }
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::protocol::extended::TEXT;

    fn bin(oid: u32, v: &[u8]) -> String {
        render(BINARY, oid, Some(v), 64).unwrap()
    }

    #[test]
    fn text_values_and_null() {
        assert_eq!(render(TEXT, 0, Some(b"42"), 64).as_deref(), Some("42"));
        assert_eq!(render(TEXT, oid::INT4, None, 64), None);
        assert_eq!(render(TEXT, 0, Some(b"abcdef"), 3).as_deref(), Some("abc…"));
    }

    #[test]
    fn binary_scalars() {
        assert_eq!(bin(oid::BOOL, b"\x01"), "t");
        assert_eq!(bin(oid::BOOL, b"\x00"), "f");
        assert_eq!(bin(oid::INT2, b"\xff\xfe"), "-2");
        assert_eq!(bin(oid::INT4, b"\x00\x00\x01\x00"), "256");
        assert_eq!(
            bin(oid::INT8, b"\x7f\xff\xff\xff\xff\xff\xff\xff"),
            i64::MAX.to_string()
        );
        assert_eq!(bin(oid::OID, b"\xff\xff\xff\xff"), "4294967295");
        assert_eq!(bin(oid::FLOAT8, &1.5f64.to_be_bytes()), "1.5");
        assert_eq!(bin(oid::FLOAT4, &0.25f32.to_be_bytes()), "0.25");
        assert_eq!(
            bin(oid::FLOAT8, &f64::NEG_INFINITY.to_be_bytes()),
            "-Infinity"
        );
        assert_eq!(bin(oid::FLOAT8, &f64::NAN.to_be_bytes()), "NaN");
        assert_eq!(bin(oid::TEXT, "héllo".as_bytes()), "héllo");
        assert_eq!(bin(oid::JSONB, b"\x01{\"a\":1}"), "{\"a\":1}");
        assert_eq!(
            bin(
                oid::UUID,
                b"\x12\x34\x56\x78\x9a\xbc\xde\xf0\x01\x23\x45\x67\x89\xab\xcd\xef"
            ),
            "12345678-9abc-def0-0123-456789abcdef"
        );
        assert_eq!(bin(oid::BYTEA, b"\x00\xff"), "\\x00ff");
    }

    #[test]
    fn binary_dates_and_times() {
        assert_eq!(bin(oid::DATE, &0i32.to_be_bytes()), "2000-01-01");
        assert_eq!(bin(oid::DATE, &(-1i32).to_be_bytes()), "1999-12-31");
        assert_eq!(bin(oid::DATE, &i32::MAX.to_be_bytes()), "infinity");
        let t = (((13 * 60 + 5) * 60 + 9) * 1_000_000 + 250_000i64).to_be_bytes();
        assert_eq!(bin(oid::TIME, &t), "13:05:09.25");
        // 2024-02-29 12:00:00 UTC: 8825 days and a half after 2000-01-01.
        let ts = (8825 * MICROS_PER_DAY + MICROS_PER_DAY / 2).to_be_bytes();
        assert_eq!(bin(oid::TIMESTAMP, &ts), "2024-02-29 12:00:00");
        assert_eq!(bin(oid::TIMESTAMPTZ, &ts), "2024-02-29 12:00:00+00");
        assert_eq!(
            bin(oid::TIMESTAMP, &(-1i64).to_be_bytes()),
            "1999-12-31 23:59:59.999999"
        );
        assert_eq!(bin(oid::TIMESTAMPTZ, &i64::MIN.to_be_bytes()), "-infinity");
    }

    #[test]
    fn binary_numerics() {
        // 12345.678: digits [1, 2345, 6780], weight 1, scale 3.
        let v = b"\x00\x03\x00\x01\x00\x00\x00\x03\x00\x01\x09\x29\x1a\x7c";
        assert_eq!(bin(oid::NUMERIC, v), "12345.678");
        // -0.05: digits [500], weight -1, scale 2.
        assert_eq!(
            bin(oid::NUMERIC, b"\x00\x01\xff\xff\x40\x00\x00\x02\x01\xf4"),
            "-0.05"
        );
        // 0.0001: digits [1], weight -1, scale 4; 0 with scale 2.
        assert_eq!(
            bin(oid::NUMERIC, b"\x00\x01\xff\xff\x00\x00\x00\x04\x00\x01"),
            "0.0001"
        );
        assert_eq!(
            bin(oid::NUMERIC, b"\x00\x00\x00\x00\x00\x00\x00\x02"),
            "0.00"
        );
        // 20000 (trailing zero digit groups omitted): digits [2], weight 1.
        assert_eq!(
            bin(oid::NUMERIC, b"\x00\x01\x00\x01\x00\x00\x00\x00\x00\x02"),
            "20000"
        );
        assert_eq!(
            bin(oid::NUMERIC, b"\x00\x00\x00\x00\xc0\x00\x00\x00"),
            "NaN"
        );
        // A digit out of range is not a numeric: shown as hex.
        assert_eq!(
            bin(oid::NUMERIC, b"\x00\x01\x00\x00\x00\x00\x00\x00\x27\x10"),
            "\\x00010000000000002710"
        );
    }

    #[test]
    fn unknown_or_mismatched_binary_is_hex_and_bounded() {
        assert_eq!(bin(0, b"\x01\x02"), "\\x0102");
        assert_eq!(bin(oid::INT4, b"\x01\x02"), "\\x0102");
        assert_eq!(
            render(BINARY, 0, Some(&[0xab; 100]), 10).as_deref(),
            Some("\\xabababab…")
        );
        // A huge numeric is cut to the budget too.
        let mut v = vec![0x00, 0xff, 0x00, 0xfe, 0, 0, 0, 0];
        v.extend(std::iter::repeat_n([0x23, 0x0f], 255).flatten());
        let s = render(BINARY, oid::NUMERIC, Some(&v), 20).unwrap();
        assert!(
            s.starts_with("8975") && s.ends_with('…') && s.len() <= 20 + 3,
            "{s}"
        );
    }
}
