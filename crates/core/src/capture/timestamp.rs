//! Timestamps as logs print them, turned into microseconds since the Unix epoch: PostgreSQL's
//! `%t`/`%m` (`2024-01-02 10:11:12.345 CET`), `%n` epochs, MySQL 8's ISO form and MariaDB's
//! `YYMMDD H:MM:SS`. No time zone database is needed: zones are numeric offsets or common
//! abbreviations, and the caller can add or override abbreviations.

use super::LogOptions;

const MICROS_PER_SEC: i64 = 1_000_000;

/// A parsed timestamp, and whether its zone had to be assumed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp {
    pub micros: i64,
    pub zone_assumed: bool,
}

/// Days from 1970-01-01 to the given proleptic Gregorian date (negative before it).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let month_from_march = i64::from((month + 9) % 12);
    let day_of_year = (153 * month_from_march + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

/// Microseconds since the epoch of a civil date and time in UTC, or `None` when a field is out
/// of range.
fn civil_micros(
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    micros: u32,
) -> Option<i64> {
    if !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
        || micros >= 1_000_000
    {
        return None;
    }
    let secs = days_from_civil(year, month, day) * 86_400
        + i64::from(hour) * 3600
        + i64::from(minute) * 60
        + i64::from(second);
    Some(secs * MICROS_PER_SEC + i64::from(micros))
}

fn digits(s: &str) -> Option<u32> {
    if s.is_empty() || s.len() > 9 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Fraction digits (`123` → 123000 µs), at most microsecond precision kept.
fn fraction_micros(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let kept: String = s.chars().chain(std::iter::repeat('0')).take(6).collect();
    kept.parse().ok()
}

/// `YYYY-MM-DD` + sep + `HH:MM:SS[.ffffff]` → (UTC micros if the wall time were UTC, rest).
fn date_time(s: &str) -> Option<(i64, &str)> {
    let b = s.as_bytes();
    if b.len() < 19 || !(b[10] == b' ' || b[10] == b'T') || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let year = i64::from(digits(s.get(0..4)?)?);
    let month = digits(s.get(5..7)?)?;
    let day = digits(s.get(8..10)?)?;
    let hour = digits(s.get(11..13)?)?;
    let minute = digits(s.get(14..16)?)?;
    let second = digits(s.get(17..19)?)?;
    let mut rest = &s[19..];
    let mut micros = 0;
    if let Some(frac) = rest.strip_prefix('.') {
        let end = frac
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(frac.len());
        micros = fraction_micros(&frac[..end])?;
        rest = &frac[end..];
    }
    Some((
        civil_micros(year, month, day, hour, minute, second, micros)?,
        rest,
    ))
}

/// Why a zone could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ZoneError {
    #[error("not a UTC offset (expected e.g. +02, -0530 or +05:30)")]
    NotAnOffset,
}

/// A numeric UTC offset as PostgreSQL and ISO 8601 print it (`+02`, `-0530`, `+05:30`, `Z`),
/// in seconds east of UTC.
pub fn parse_utc_offset(s: &str) -> Result<i32, ZoneError> {
    if s == "Z" {
        return Ok(0);
    }
    let (sign, body) = match s.as_bytes().first() {
        Some(b'+') => (1, &s[1..]),
        Some(b'-') => (-1, &s[1..]),
        _ => return Err(ZoneError::NotAnOffset),
    };
    let body = body.replace(':', "");
    if !body.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ZoneError::NotAnOffset);
    }
    let (h, m, sec) = match body.len() {
        1 | 2 => (body.parse::<i32>(), Ok(0), Ok(0)),
        4 => (body[..2].parse(), body[2..].parse(), Ok(0)),
        6 => (body[..2].parse(), body[2..4].parse(), body[4..].parse()),
        _ => return Err(ZoneError::NotAnOffset),
    };
    let (Ok(h), Ok(m), Ok(sec)) = (h, m, sec) else {
        return Err(ZoneError::NotAnOffset);
    };
    if h > 15 || m > 59 || sec > 59 {
        return Err(ZoneError::NotAnOffset);
    }
    Ok(sign * (h * 3600 + m * 60 + sec))
}

/// Common zone abbreviations as the tz database prints them, in seconds east of UTC. Ambiguous
/// ones follow PostgreSQL's own `Default` abbreviation set (`CST` is US Central); override them
/// with [`LogOptions::zone_abbreviations`].
const ZONES: &[(&str, i32)] = &[
    ("UTC", 0),
    ("GMT", 0),
    ("UT", 0),
    ("UCT", 0),
    ("Z", 0),
    ("WET", 0),
    ("WEST", 3600),
    ("BST", 3600),
    ("CET", 3600),
    ("CEST", 7200),
    ("MET", 3600),
    ("MEST", 7200),
    ("WAT", 3600),
    ("EET", 7200),
    ("EEST", 10800),
    ("CAT", 7200),
    ("SAST", 7200),
    ("IDT", 10800),
    ("EAT", 10800),
    ("MSK", 10800),
    ("PKT", 18000),
    ("WIB", 25200),
    ("WITA", 28800),
    ("HKT", 28800),
    ("AWST", 28800),
    ("WIT", 32400),
    ("JST", 32400),
    ("KST", 32400),
    ("ACST", 34200),
    ("ACDT", 37800),
    ("AEST", 36000),
    ("AEDT", 39600),
    ("NZST", 43200),
    ("NZDT", 46800),
    ("NST", -12600),
    ("NDT", -9000),
    ("AST", -14400),
    ("ADT", -10800),
    ("EST", -18000),
    ("EDT", -14400),
    ("CST", -21600),
    ("CDT", -18000),
    ("MST", -25200),
    ("MDT", -21600),
    ("PST", -28800),
    ("PDT", -25200),
    ("AKST", -32400),
    ("AKDT", -28800),
    ("HST", -36000),
];

/// Seconds east of UTC for a zone as printed in a log, and whether it had to be assumed.
fn zone_offset(zone: &str, options: &LogOptions) -> (i32, bool) {
    if let Ok(off) = parse_utc_offset(zone) {
        return (off, false);
    }
    if let Some((_, off)) = options
        .zone_abbreviations
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(zone))
    {
        return (*off, false);
    }
    if let Some((_, off)) = ZONES
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(zone))
    {
        return (*off, false);
    }
    (options.utc_offset.unwrap_or(0), true)
}

/// PostgreSQL `%t`, `%m` or csvlog time: `2024-01-02 10:11:12[.345] ZONE`. A missing zone takes
/// the configured offset.
pub(crate) fn parse_pg(s: &str, options: &LogOptions) -> Option<Stamp> {
    let (wall, rest) = date_time(s.trim())?;
    let zone = rest.trim();
    let (offset, zone_assumed) = if zone.is_empty() {
        (
            options.utc_offset.unwrap_or(0),
            options.utc_offset.is_none(),
        )
    } else if zone.contains(char::is_whitespace) {
        return None;
    } else {
        zone_offset(zone, options)
    };
    Some(Stamp {
        micros: wall - i64::from(offset) * MICROS_PER_SEC,
        zone_assumed,
    })
}

/// Seconds since the epoch with an optional fraction (`%n`, `SET timestamp=`).
pub(crate) fn parse_epoch(s: &str) -> Option<i64> {
    let s = s.trim();
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if int.is_empty() || int.len() > 12 || !int.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let secs: i64 = int.parse().ok()?;
    let micros = if frac.is_empty() {
        0
    } else {
        fraction_micros(frac)?
    };
    Some(secs * MICROS_PER_SEC + i64::from(micros))
}

/// MySQL/MariaDB `# Time:` values: MySQL 8's `2024-11-25T00:59:10.123456Z` (or with an offset),
/// or MariaDB's local `241125  0:59:10`.
pub(crate) fn parse_mysql_time(s: &str, options: &LogOptions) -> Option<Stamp> {
    let s = s.trim();
    if let Some((wall, rest)) = date_time(s) {
        let zone = rest.trim();
        let (offset, zone_assumed) = if zone.is_empty() {
            (
                options.utc_offset.unwrap_or(0),
                options.utc_offset.is_none(),
            )
        } else {
            (parse_utc_offset(zone).ok()?, false)
        };
        return Some(Stamp {
            micros: wall - i64::from(offset) * MICROS_PER_SEC,
            zone_assumed,
        });
    }
    let (date, time) = s.split_once(' ')?;
    let time = time.trim_start();
    if date.len() != 6 || !date.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let year = 2000 + i64::from(digits(&date[..2])?);
    let month = digits(&date[2..4])?;
    let day = digits(&date[4..6])?;
    let mut hms = time.split(':');
    let hour = digits(hms.next()?)?;
    let minute = digits(hms.next()?)?;
    let sec_frac = hms.next()?;
    let (sec, frac) = sec_frac.split_once('.').unwrap_or((sec_frac, ""));
    if hms.next().is_some() {
        return None;
    }
    let second = digits(sec)?;
    let micros = if frac.is_empty() {
        0
    } else {
        fraction_micros(frac)?
    };
    let wall = civil_micros(year, month, day, hour, minute, second, micros)?;
    let offset = options.utc_offset.unwrap_or(0);
    Some(Stamp {
        micros: wall - i64::from(offset) * MICROS_PER_SEC,
        zone_assumed: options.utc_offset.is_none(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pg(s: &str) -> Option<Stamp> {
        parse_pg(s, &LogOptions::default())
    }

    #[test]
    fn civil_dates_match_known_epochs() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        // 2026-11-25 00:58:52 UTC, as `date -d @1795568332` prints it.
        assert_eq!(
            civil_micros(2026, 11, 25, 0, 58, 52, 0),
            Some(1_795_568_332_000_000)
        );
        assert_eq!(civil_micros(2023, 2, 29, 0, 0, 0, 0), None);
        assert!(civil_micros(2024, 2, 29, 0, 0, 0, 0).is_some());
    }

    #[test]
    fn postgres_timestamps_with_zones() {
        let utc = pg("2026-11-25 00:58:52.287 UTC").unwrap();
        assert_eq!(
            utc,
            Stamp {
                micros: 1_795_568_332_287_000,
                zone_assumed: false
            }
        );
        // 02:00:27 CET is 01:00:27 UTC.
        let cet = pg("2026-11-25 02:00:27 CET").unwrap();
        assert_eq!(cet.micros, 1_795_568_332_000_000 + 95_000_000);
        assert_eq!(
            pg("2026-11-25 05:30:00 +0530").unwrap().micros,
            pg("2026-11-25 00:00:00 UTC").unwrap().micros
        );
        assert_eq!(
            pg("2026-11-25 00:00:00 -03").unwrap().micros,
            pg("2026-11-25 03:00:00 GMT").unwrap().micros
        );
        let odd = pg("2026-11-25 00:00:00 XYZT").unwrap();
        assert!(odd.zone_assumed);
        let opts = LogOptions {
            zone_abbreviations: vec![("XYZT".into(), 3600)],
            ..LogOptions::default()
        };
        let known = parse_pg("2026-11-25 01:00:00 XYZT", &opts).unwrap();
        assert_eq!(
            known,
            Stamp {
                micros: odd.micros,
                zone_assumed: false
            }
        );
        assert_eq!(pg("2026-13-25 00:00:00 UTC"), None);
        assert_eq!(pg("not a time"), None);
        assert_eq!(pg("2026-11-25 00:00:00.x UTC"), None);
    }

    #[test]
    fn offsets_and_epochs() {
        assert_eq!(parse_utc_offset("+05:30"), Ok(19_800));
        assert_eq!(parse_utc_offset("-0330"), Ok(-12_600));
        assert_eq!(parse_utc_offset("+2"), Ok(7200));
        assert!(parse_utc_offset("CET").is_err());
        assert!(parse_utc_offset("+99").is_err());
        assert_eq!(parse_epoch("1795568436"), Some(1_795_568_436_000_000));
        assert_eq!(parse_epoch("1795568436.5"), Some(1_795_568_436_500_000));
        assert_eq!(parse_epoch("-1"), None);
    }

    #[test]
    fn mysql_times() {
        let opts = LogOptions::default();
        let maria = parse_mysql_time("261125  1:00:36", &opts).unwrap();
        assert_eq!(maria.micros, 1_795_568_436_000_000);
        assert!(maria.zone_assumed);
        let mysql8 = parse_mysql_time("2026-11-25T01:00:36.250000Z", &opts).unwrap();
        assert_eq!(
            mysql8,
            Stamp {
                micros: 1_795_568_436_250_000,
                zone_assumed: false
            }
        );
        let east = LogOptions {
            utc_offset: Some(3600),
            ..LogOptions::default()
        };
        assert_eq!(
            parse_mysql_time("261125  2:00:36", &east).unwrap().micros,
            maria.micros
        );
        assert_eq!(parse_mysql_time("26112  1:00:36", &opts), None);
        assert_eq!(parse_mysql_time("2é112  1:00:36", &opts), None);
    }
}
