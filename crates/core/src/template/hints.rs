//! The grammar of data-generation hints: the short spec strings in a persona's `data_hints`
//! (`email`, `words(3)`, `range(1, 1000)`, `choice(a:5, b:1)`, `recent(90d)`, `fk`, …), parsed
//! into a [`Generator`] that a data generator can act on and that validation can type-check.

use std::fmt;
use std::str::FromStr;

use crate::DataType;

/// A parsed column generator.
#[derive(Debug, Clone, PartialEq)]
pub enum Generator {
    /// `serial`: 1, 2, 3, … (for keys the database does not generate).
    Serial,
    /// `fk`: a key of the referenced row, uniformly; `fk(zipf(1.1))` is written `zipf(1.1)` on a
    /// foreign-key column instead.
    ForeignKey,
    /// `zipf(s)` on a foreign-key column: referenced rows chosen with Zipf skew `s`;
    /// `zipf(s, n)` on an integer column: values 1..=n with Zipf skew `s`.
    Zipf { exponent: f64, max: Option<u64> },
    /// `uuid`: a random UUID.
    Uuid,
    /// A realistic text value of a well-known kind (`email`, `name`, `city`, …).
    Fake(FakeKind),
    /// `words(n)` or `words(min, max)`: that many lorem-style words.
    Words { min: u32, max: u32 },
    /// `paragraphs(n)` or `paragraphs(min, max)`.
    Paragraphs { min: u32, max: u32 },
    /// `pattern(SKU-####-??)`: `#` becomes a digit, `?` an uppercase letter, anything else is
    /// kept.
    Pattern(String),
    /// `range(lo, hi)`: a uniform number in `lo..=hi` (integers for integer columns).
    Range { low: f64, high: f64 },
    /// `normal(mean, sd)`: a normally distributed number.
    Normal { mean: f64, std_dev: f64 },
    /// `choice(a, b, c)` or with weights `choice(a:5, b:1)`.
    Choice(Vec<(String, u32)>),
    /// `bool(p)`: true with probability `p` (`bool` alone: 0.5).
    Bool { p_true: f64 },
    /// `recent(90d)`: a time within the last span (`d` days, `h` hours, `m` minutes).
    Recent { seconds: u64 },
    /// `future(30d)`: a time within the next span.
    Future { seconds: u64 },
    /// `json`: a small JSON object.
    Json,
    /// `null`: always NULL (nullable columns only).
    Null,
}

/// Kinds of realistic fake text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FakeKind {
    Email,
    Name,
    FirstName,
    LastName,
    Username,
    Company,
    City,
    CountryCode,
    Phone,
    Url,
    Slug,
    Ip,
    UserAgent,
    Sentence,
}

const FAKE_KINDS: [(&str, FakeKind); 14] = [
    ("email", FakeKind::Email),
    ("name", FakeKind::Name),
    ("first_name", FakeKind::FirstName),
    ("last_name", FakeKind::LastName),
    ("username", FakeKind::Username),
    ("company", FakeKind::Company),
    ("city", FakeKind::City),
    ("country_code", FakeKind::CountryCode),
    ("phone", FakeKind::Phone),
    ("url", FakeKind::Url),
    ("slug", FakeKind::Slug),
    ("ip", FakeKind::Ip),
    ("user_agent", FakeKind::UserAgent),
    ("sentence", FakeKind::Sentence),
];

/// Why a hint does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HintError {
    #[error("empty generator spec")]
    Empty,
    #[error("unbalanced parentheses in `{0}`")]
    Unbalanced(String),
    #[error(
        "unknown generator `{0}` (expected serial, fk, zipf, uuid, words, paragraphs, pattern, \
         range, normal, choice, bool, recent, future, json, null, or one of email, name, \
         first_name, last_name, username, company, city, country_code, phone, url, slug, ip, \
         user_agent, sentence)"
    )]
    Unknown(String),
    #[error("`{name}` {problem}")]
    BadArguments { name: String, problem: String },
}

/// What kind of value a generator produces, for type checks against a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Produces {
    Text,
    Integer,
    Number,
    Boolean,
    Time,
    Uuid,
    Json,
    /// The referenced key's type (foreign-key columns only).
    ReferencedKey,
    /// Values given literally (choice); checked one by one.
    Literal,
    /// NULL only.
    Null,
}

impl Generator {
    /// The kind of value this generator produces.
    pub fn produces(&self) -> Produces {
        match self {
            Generator::Serial | Generator::Zipf { max: Some(_), .. } => Produces::Integer,
            Generator::ForeignKey | Generator::Zipf { max: None, .. } => Produces::ReferencedKey,
            Generator::Uuid => Produces::Uuid,
            Generator::Fake(_)
            | Generator::Words { .. }
            | Generator::Paragraphs { .. }
            | Generator::Pattern(_) => Produces::Text,
            Generator::Range { .. } | Generator::Normal { .. } => Produces::Number,
            Generator::Choice(_) => Produces::Literal,
            Generator::Bool { .. } => Produces::Boolean,
            Generator::Recent { .. } | Generator::Future { .. } => Produces::Time,
            Generator::Json => Produces::Json,
            Generator::Null => Produces::Null,
        }
    }

    /// Whether a column of type `ty` can hold what this generator produces. Literal choices are
    /// checked value by value with [`literal_fits`].
    pub fn fits(&self, ty: DataType) -> bool {
        let text = matches!(
            ty,
            DataType::Text | DataType::Varchar(_) | DataType::Char(_)
        );
        match self.produces() {
            Produces::Text => text,
            Produces::Integer => ty.is_integer(),
            Produces::Number => {
                ty.is_integer()
                    || matches!(
                        ty,
                        DataType::Decimal { .. } | DataType::Real | DataType::Double
                    )
            }
            Produces::Boolean => ty == DataType::Boolean,
            Produces::Time => {
                matches!(
                    ty,
                    DataType::Date | DataType::Timestamp | DataType::TimestampTz
                )
            }
            Produces::Uuid => {
                ty == DataType::Uuid
                    || ty == DataType::Text
                    || matches!(ty, DataType::Varchar(n) | DataType::Char(n) if n >= 36)
            }
            Produces::Json => ty == DataType::Json || ty == DataType::Text,
            Produces::ReferencedKey | Produces::Literal | Produces::Null => true,
        }
    }
}

/// Whether the literal `value` (from a `choice`) can be stored in a column of type `ty`.
pub fn literal_fits(value: &str, ty: DataType) -> bool {
    match ty {
        DataType::SmallInt | DataType::Integer | DataType::BigInt => value.parse::<i64>().is_ok(),
        DataType::Decimal { .. } | DataType::Real | DataType::Double => {
            value.parse::<f64>().is_ok_and(f64::is_finite)
        }
        DataType::Boolean => matches!(value, "true" | "false"),
        DataType::Varchar(n) | DataType::Char(n) => value.chars().count() <= n as usize,
        DataType::Uuid => {
            value.len() == 36 && value.chars().all(|c| c == '-' || c.is_ascii_hexdigit())
        }
        _ => true,
    }
}

impl FromStr for Generator {
    type Err = HintError;

    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let spec = spec.trim();
        if spec.is_empty() {
            return Err(HintError::Empty);
        }
        let (name, args) = split_call(spec)?;
        let bad = |problem: &str| HintError::BadArguments {
            name: name.to_owned(),
            problem: problem.to_owned(),
        };
        let none = |g: Generator| {
            if args.is_empty() {
                Ok(g)
            } else {
                Err(bad("takes no arguments"))
            }
        };
        let number = |i: usize| -> Result<f64, HintError> {
            args.get(i)
                .and_then(|a| a.parse::<f64>().ok())
                .filter(|v| v.is_finite())
                .ok_or_else(|| bad("expects numbers"))
        };
        let count_range = || -> Result<(u32, u32), HintError> {
            let n = |i: usize| args.get(i).and_then(|a| a.parse::<u32>().ok());
            match (args.len(), n(0), n(1)) {
                (1, Some(a), _) if a > 0 => Ok((a, a)),
                (2, Some(a), Some(b)) if a > 0 && a <= b => Ok((a, b)),
                _ => Err(bad(
                    "expects a count `(n)` or a range `(min, max)` of positive integers",
                )),
            }
        };
        let span = || -> Result<u64, HintError> {
            match args.as_slice() {
                [one] => parse_span(one)
                    .ok_or_else(|| bad("expects a span such as `90d`, `12h` or `30m`")),
                _ => Err(bad("expects one span such as `90d`")),
            }
        };
        match name {
            "serial" => none(Generator::Serial),
            "fk" => none(Generator::ForeignKey),
            "uuid" => none(Generator::Uuid),
            "json" => none(Generator::Json),
            "null" => none(Generator::Null),
            "zipf" => {
                let exponent = number(0)?;
                if exponent <= 0.0 {
                    return Err(bad("expects a positive exponent"));
                }
                match args.len() {
                    1 => Ok(Generator::Zipf {
                        exponent,
                        max: None,
                    }),
                    2 => match args[1].parse::<u64>() {
                        Ok(max) if max > 0 => Ok(Generator::Zipf {
                            exponent,
                            max: Some(max),
                        }),
                        _ => Err(bad("expects a positive integer maximum")),
                    },
                    _ => Err(bad("expects `(s)` or `(s, max)`")),
                }
            }
            "words" => count_range().map(|(min, max)| Generator::Words { min, max }),
            "paragraphs" => count_range().map(|(min, max)| Generator::Paragraphs { min, max }),
            "pattern" => match args.as_slice() {
                [p] if !p.is_empty() => Ok(Generator::Pattern(p.clone())),
                _ => Err(bad("expects one pattern such as `SKU-####`")),
            },
            "range" => {
                if args.len() != 2 {
                    return Err(bad("expects `(low, high)`"));
                }
                let (low, high) = (number(0)?, number(1)?);
                if low > high {
                    return Err(bad("has its low bound above its high bound"));
                }
                Ok(Generator::Range { low, high })
            }
            "normal" => {
                if args.len() != 2 {
                    return Err(bad("expects `(mean, sd)`"));
                }
                let (mean, std_dev) = (number(0)?, number(1)?);
                if std_dev < 0.0 {
                    return Err(bad("has a negative standard deviation"));
                }
                Ok(Generator::Normal { mean, std_dev })
            }
            "choice" => {
                if args.is_empty() {
                    return Err(bad("expects at least one value"));
                }
                let mut out = Vec::with_capacity(args.len());
                for a in &args {
                    let (value, weight) = match a.rsplit_once(':') {
                        Some((v, w)) if w.trim().parse::<u32>().is_ok() => {
                            (v.trim(), w.trim().parse::<u32>().unwrap_or(1))
                        }
                        _ => (a.as_str(), 1),
                    };
                    if weight == 0 {
                        return Err(bad("has a zero weight"));
                    }
                    out.push((value.to_owned(), weight));
                }
                Ok(Generator::Choice(out))
            }
            "bool" => match args.len() {
                0 => Ok(Generator::Bool { p_true: 0.5 }),
                1 => {
                    let p = number(0)?;
                    if (0.0..=1.0).contains(&p) {
                        Ok(Generator::Bool { p_true: p })
                    } else {
                        Err(bad("expects a probability between 0 and 1"))
                    }
                }
                _ => Err(bad("expects at most one probability")),
            },
            "recent" => span().map(|seconds| Generator::Recent { seconds }),
            "future" => span().map(|seconds| Generator::Future { seconds }),
            other => match FAKE_KINDS.iter().find(|(n, _)| *n == other) {
                Some((_, kind)) => none(Generator::Fake(*kind)),
                None => Err(HintError::Unknown(other.to_owned())),
            },
        }
    }
}

impl fmt::Display for FakeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = FAKE_KINDS
            .iter()
            .find(|(_, k)| k == self)
            .map_or("?", |(n, _)| n);
        f.write_str(name)
    }
}

/// `name` or `name(arg, arg, …)`: the name and the trimmed arguments.
fn split_call(spec: &str) -> Result<(&str, Vec<String>), HintError> {
    let Some(open) = spec.find('(') else {
        if spec.contains(')') {
            return Err(HintError::Unbalanced(spec.to_owned()));
        }
        return Ok((spec, Vec::new()));
    };
    let inner = spec[open + 1..]
        .strip_suffix(')')
        .filter(|i| !i.contains('(') && !i.contains(')'))
        .ok_or_else(|| HintError::Unbalanced(spec.to_owned()))?;
    let name = spec[..open].trim();
    let args = if inner.trim().is_empty() {
        Vec::new()
    } else {
        inner.split(',').map(|a| a.trim().to_owned()).collect()
    };
    Ok((name, args))
}

/// `90d`, `12h`, `30m`, `45s` in seconds.
fn parse_span(s: &str) -> Option<u64> {
    let unit = match s.chars().last()? {
        'd' => 86_400,
        'h' => 3_600,
        'm' => 60,
        's' => 1,
        _ => return None,
    };
    let n: u64 = s[..s.len() - 1].parse().ok()?;
    (n > 0).then(|| n.checked_mul(unit)).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse() {
        let cases = [
            ("email", Generator::Fake(FakeKind::Email)),
            ("fk", Generator::ForeignKey),
            ("words(3)", Generator::Words { min: 3, max: 3 }),
            ("words(2, 6)", Generator::Words { min: 2, max: 6 }),
            (
                "range(1,1000)",
                Generator::Range {
                    low: 1.0,
                    high: 1000.0,
                },
            ),
            (
                "range(0.5, 99.99)",
                Generator::Range {
                    low: 0.5,
                    high: 99.99,
                },
            ),
            (
                "zipf(1.1)",
                Generator::Zipf {
                    exponent: 1.1,
                    max: None,
                },
            ),
            (
                "zipf(1.2, 500)",
                Generator::Zipf {
                    exponent: 1.2,
                    max: Some(500),
                },
            ),
            (
                "recent(90d)",
                Generator::Recent {
                    seconds: 90 * 86_400,
                },
            ),
            (
                "future(12h)",
                Generator::Future {
                    seconds: 12 * 3_600,
                },
            ),
            ("bool(0.2)", Generator::Bool { p_true: 0.2 }),
            ("pattern(SKU-####)", Generator::Pattern("SKU-####".into())),
            (
                "choice(active:8, draft, archived:1)",
                Generator::Choice(vec![
                    ("active".into(), 8),
                    ("draft".into(), 1),
                    ("archived".into(), 1),
                ]),
            ),
            ("choice(a:b)", Generator::Choice(vec![("a:b".into(), 1)])),
        ];
        for (spec, want) in cases {
            assert_eq!(spec.parse::<Generator>(), Ok(want), "{spec}");
        }
    }

    #[test]
    fn bad_specs_are_rejected_with_a_reason() {
        let cases = [
            ("", "empty"),
            ("emial", "unknown generator `emial`"),
            ("words", "count"),
            ("words(0)", "count"),
            ("words(5, 2)", "count"),
            ("range(10, 1)", "low bound above"),
            ("range(1)", "(low, high)"),
            ("recent(90)", "span"),
            ("bool(2)", "probability"),
            ("email(3)", "takes no arguments"),
            ("choice(a:0)", "zero weight"),
            ("range(1, 2", "unbalanced"),
            ("zipf(-1)", "positive exponent"),
        ];
        for (spec, want) in cases {
            let err = spec.parse::<Generator>().expect_err(spec).to_string();
            assert!(err.contains(want), "{spec}: {err}");
        }
    }

    #[test]
    fn generators_fit_column_types() {
        let g = |s: &str| s.parse::<Generator>().unwrap();
        assert!(g("email").fits(DataType::Varchar(255)));
        assert!(!g("email").fits(DataType::Integer));
        assert!(g("range(1, 5)").fits(DataType::Decimal {
            precision: 4,
            scale: 2
        }));
        assert!(!g("recent(1d)").fits(DataType::Boolean));
        assert!(g("recent(1d)").fits(DataType::TimestampTz));
        assert!(!g("uuid").fits(DataType::Varchar(20)));
        assert!(g("zipf(1.1)").fits(DataType::Uuid));
        assert!(literal_fits("USD", DataType::Char(3)));
        assert!(!literal_fits("EURO", DataType::Char(3)));
        assert!(!literal_fits("x", DataType::Integer));
    }
}
