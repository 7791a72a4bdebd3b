//! PostgreSQL `log_line_prefix` compiled into a line matcher: which part of a stderr log line is
//! the prefix, what its escapes hold (time, pid, session, user, database), and the severity and
//! message after it. Also a heuristic matcher for logs whose prefix is not known.

use serde::{Deserialize, Serialize};

/// The severity word after the prefix (`LOG:  `, `ERROR:  `, `DETAIL:  `, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Severity {
    Log,
    Error,
    Fatal,
    Panic,
    Warning,
    Notice,
    Info,
    Debug,
    Detail,
    Hint,
    Context,
    Statement,
    Query,
    Location,
}

impl Severity {
    /// The severity named by `word` (`LOG`, `ERROR`, `DEBUG1`, …).
    pub fn from_word(word: &str) -> Option<Severity> {
        Some(match word {
            "LOG" => Severity::Log,
            "ERROR" => Severity::Error,
            "FATAL" => Severity::Fatal,
            "PANIC" => Severity::Panic,
            "WARNING" => Severity::Warning,
            "NOTICE" => Severity::Notice,
            "INFO" => Severity::Info,
            "DEBUG" | "DEBUG1" | "DEBUG2" | "DEBUG3" | "DEBUG4" | "DEBUG5" => Severity::Debug,
            "DETAIL" => Severity::Detail,
            "HINT" => Severity::Hint,
            "CONTEXT" => Severity::Context,
            "STATEMENT" => Severity::Statement,
            "QUERY" => Severity::Query,
            "LOCATION" => Severity::Location,
            _ => return None,
        })
    }

    /// Whether this is a line that belongs to the message before it (`DETAIL`, `STATEMENT`, …).
    pub fn is_secondary(self) -> bool {
        matches!(
            self,
            Severity::Detail
                | Severity::Hint
                | Severity::Context
                | Severity::Statement
                | Severity::Query
                | Severity::Location
        )
    }
}

/// Prefixes seen in the wild, tried in this order when the prefix is not given: Debian's
/// default, PostgreSQL's default, pgBadger's recommendations, Amazon RDS, and older Debian.
pub const KNOWN_PREFIXES: &[&str] = &[
    "%m [%p] %q%u@%d ",
    "%m [%p] ",
    "%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ",
    "%t [%p]: user=%u,db=%d,app=%a,client=%h ",
    "%m [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ",
    "%t:%r:%u@%d:[%p]:",
    "%m:%r:%u@%d:[%p]:",
    "%t [%p-%l] %q%u@%d ",
    "%m [%p-%l] %q%u@%d ",
    "%t [%p] %q%u@%d ",
    "%m %u@%d [%p] ",
    "%t ",
    "%m ",
    "",
];

/// What the prefix of one line holds; each is `None` when the prefix has no such escape or it
/// printed nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PrefixFields<'a> {
    /// `%m` or `%t` text (`2024-01-02 10:11:12.345 UTC`).
    pub timestamp: Option<&'a str>,
    /// `%n` text (seconds since the epoch with milliseconds).
    pub epoch: Option<&'a str>,
    /// `%p`.
    pub pid: Option<&'a str>,
    /// `%c` (start time and pid in hex, unique per session).
    pub session_id: Option<&'a str>,
    /// `%u`.
    pub user: Option<&'a str>,
    /// `%d`.
    pub database: Option<&'a str>,
}

/// A line split by its prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrefixMatch<'a> {
    pub fields: PrefixFields<'a>,
    pub severity: Severity,
    /// The message after `SEVERITY:  `.
    pub message: &'a str,
}

/// The shape of text an escape prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// `%t`, `%s`: `YYYY-MM-DD HH:MM:SS ZONE`.
    Time,
    /// `%m`: `YYYY-MM-DD HH:MM:SS.mmm ZONE`.
    TimeMs,
    /// `%n`: `1700000000.123`.
    Epoch,
    /// `%p`, `%P`, `%l`, `%x`, `%Q`: an integer, possibly empty.
    Number,
    /// Everything else: any text, possibly empty.
    Text,
}

/// Which [`PrefixFields`] member an escape fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Timestamp,
    Epoch,
    Pid,
    SessionId,
    User,
    Database,
    Ignored,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Literal(String),
    Field {
        shape: Shape,
        role: Role,
        padded: bool,
    },
}

/// Longest prefix region considered, in bytes (user, database, application and host names are
/// each at most a few hundred bytes).
const MAX_PREFIX_BYTES: usize = 2048;
/// How many `WORD:  ` candidates of one line are tried as the end of the prefix.
const MAX_CANDIDATES: usize = 6;

/// A compiled `log_line_prefix`.
#[derive(Debug, Clone)]
pub struct LinePrefix {
    source: String,
    pieces: Vec<Piece>,
    /// Index of the first piece after `%q` (non-session processes stop printing there).
    session_only_from: Option<usize>,
    /// Failed (piece, position) states of the current match, stamped with `generation`.
    memo: Vec<u32>,
    generation: u32,
}

impl PartialEq for LinePrefix {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl LinePrefix {
    /// Compile a prefix as written in `postgresql.conf` (without the quotes). Escapes PostgreSQL
    /// does not know print nothing there, and match nothing here.
    pub fn parse(prefix: &str) -> LinePrefix {
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut session_only_from = None;
        let mut chars = prefix.chars().peekable();
        while let Some(c) = chars.next() {
            if c != '%' {
                literal.push(c);
                continue;
            }
            let mut padded = false;
            if chars.peek() == Some(&'-') {
                chars.next();
                padded = true;
            }
            while chars.peek().is_some_and(char::is_ascii_digit) {
                chars.next();
                padded = true;
            }
            let Some(esc) = chars.next() else { break };
            let field = match esc {
                '%' => {
                    literal.push('%');
                    continue;
                }
                'q' => {
                    if !literal.is_empty() {
                        pieces.push(Piece::Literal(std::mem::take(&mut literal)));
                    }
                    session_only_from.get_or_insert(pieces.len());
                    continue;
                }
                't' => (Shape::Time, Role::Timestamp),
                's' => (Shape::Time, Role::Ignored),
                'm' => (Shape::TimeMs, Role::Timestamp),
                'n' => (Shape::Epoch, Role::Epoch),
                'p' => (Shape::Number, Role::Pid),
                'P' | 'l' | 'x' | 'Q' => (Shape::Number, Role::Ignored),
                'c' => (Shape::Text, Role::SessionId),
                'u' => (Shape::Text, Role::User),
                'd' => (Shape::Text, Role::Database),
                'a' | 'h' | 'r' | 'b' | 'v' | 'i' | 'e' => (Shape::Text, Role::Ignored),
                _ => continue,
            };
            if !literal.is_empty() {
                pieces.push(Piece::Literal(std::mem::take(&mut literal)));
            }
            pieces.push(Piece::Field {
                shape: field.0,
                role: field.1,
                padded,
            });
        }
        if !literal.is_empty() {
            pieces.push(Piece::Literal(literal));
        }
        LinePrefix {
            source: prefix.to_owned(),
            pieces,
            session_only_from,
            memo: Vec::new(),
            generation: 0,
        }
    }

    /// The prefix as given.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// How many escapes carry information (used to prefer richer prefixes when detecting).
    pub(crate) fn field_count(&self) -> usize {
        self.pieces
            .iter()
            .filter(|p| matches!(p, Piece::Field { .. }))
            .count()
    }

    /// Split `line` into prefix fields, severity and message, or `None` when the line does not
    /// start with this prefix followed by a severity.
    pub fn match_line<'a>(&mut self, line: &'a str) -> Option<PrefixMatch<'a>> {
        for (sev_start, severity, message) in severity_candidates(line) {
            let region = &line[..sev_start];
            let all = self.pieces.len();
            let cuts = [Some(all), self.session_only_from.filter(|&c| c < all)];
            for cut in cuts.into_iter().flatten() {
                if let Some(fields) = self.match_region(cut, region) {
                    return Some(PrefixMatch {
                        fields,
                        severity,
                        message,
                    });
                }
            }
        }
        None
    }

    fn match_region<'a>(&mut self, upto: usize, region: &'a str) -> Option<PrefixFields<'a>> {
        let width = region.len() + 1;
        let needed = (upto + 1) * width;
        if self.memo.len() < needed {
            self.memo.resize(needed, 0);
        }
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.memo.fill(0);
            self.generation = 1;
        }
        let mut spans = vec![None; upto];
        let mut m = Matcher {
            pieces: &self.pieces[..upto],
            region,
            memo: &mut self.memo,
            generation: self.generation,
            width,
            spans: &mut spans,
        };
        if !m.run(0, 0) {
            return None;
        }
        let mut fields = PrefixFields::default();
        for (piece, span) in self.pieces[..upto].iter().zip(spans) {
            let (Piece::Field { role, .. }, Some((s, e))) = (piece, span) else {
                continue;
            };
            let text = region[s..e].trim_matches(' ');
            if text.is_empty() {
                continue;
            }
            match role {
                Role::Timestamp => {
                    // `%m` is more precise than `%t`: keep the one with a fraction.
                    if fields.timestamp.is_none_or(|t| !t.contains('.')) {
                        fields.timestamp = Some(text);
                    }
                }
                Role::Epoch => fields.epoch = Some(text),
                Role::Pid => fields.pid = Some(text),
                Role::SessionId => fields.session_id = Some(text),
                Role::User => fields.user = Some(text),
                Role::Database => fields.database = Some(text),
                Role::Ignored => {}
            }
        }
        Some(fields)
    }
}

/// Backtracking matcher of prefix pieces against the prefix region of one line. Failed states
/// are remembered, so a line costs at most pieces × positions × field widths.
struct Matcher<'p, 'r, 'm> {
    pieces: &'p [Piece],
    region: &'r str,
    memo: &'m mut [u32],
    generation: u32,
    width: usize,
    spans: &'m mut [Option<(usize, usize)>],
}

impl Matcher<'_, '_, '_> {
    fn run(&mut self, i: usize, pos: usize) -> bool {
        let bytes = self.region.as_bytes();
        if i == self.pieces.len() {
            return bytes[pos..].iter().all(|&b| b == b' ');
        }
        let slot = i * self.width + pos;
        if self.memo[slot] == self.generation {
            return false;
        }
        let ok = match &self.pieces[i] {
            Piece::Literal(lit) => {
                self.region[pos..].starts_with(lit.as_str()) && self.run(i + 1, pos + lit.len())
            }
            Piece::Field { shape, padded, .. } => {
                let (shape, padded) = (*shape, *padded);
                let start = if padded { skip_spaces(bytes, pos) } else { pos };
                self.field(i, shape, padded, start)
            }
        };
        if !ok {
            self.memo[slot] = self.generation;
        }
        ok
    }

    fn field(&mut self, i: usize, shape: Shape, padded: bool, start: usize) -> bool {
        let bytes = self.region.as_bytes();
        let try_end = |m: &mut Self, end: usize| {
            let next = if padded { skip_spaces(bytes, end) } else { end };
            if m.run(i + 1, next) {
                m.spans[i] = Some((start, end));
                true
            } else {
                false
            }
        };
        match shape {
            Shape::Number => {
                let mut max = start;
                if bytes.get(max) == Some(&b'-') {
                    max += 1;
                }
                while bytes.get(max).is_some_and(u8::is_ascii_digit) {
                    max += 1;
                }
                (start..=max).rev().any(|end| try_end(self, end))
            }
            Shape::Text => {
                // Followed by a literal (the usual case): only where that literal starts.
                if let (false, Some(Piece::Literal(lit))) = (padded, self.pieces.get(i + 1)) {
                    let region = self.region;
                    return region[start..]
                        .match_indices(lit.as_str())
                        .any(|(off, _)| try_end(self, start + off));
                }
                (start..=bytes.len())
                    .filter(|&end| self.region.is_char_boundary(end))
                    .any(|end| try_end(self, end))
            }
            Shape::Epoch => {
                let int = count_digits(&bytes[start..]);
                if int == 0 || bytes.get(start + int) != Some(&b'.') {
                    return false;
                }
                let frac = count_digits(&bytes[start + int + 1..]);
                frac > 0 && try_end(self, start + int + 1 + frac)
            }
            Shape::Time | Shape::TimeMs => {
                let mut end = start + 19;
                if !is_datetime_shape(&bytes[start..]) {
                    return false;
                }
                if shape == Shape::TimeMs {
                    if bytes.get(end) != Some(&b'.') || count_digits(&bytes[end + 1..]) < 3 {
                        return false;
                    }
                    end += 1 + count_digits(&bytes[end + 1..]);
                }
                if bytes.get(end) != Some(&b' ') {
                    return false;
                }
                let zone = bytes[end + 1..]
                    .iter()
                    .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b':'))
                    .count();
                (1..=zone).rev().any(|len| try_end(self, end + 1 + len))
            }
        }
    }
}

fn skip_spaces(bytes: &[u8], mut pos: usize) -> usize {
    while bytes.get(pos) == Some(&b' ') {
        pos += 1;
    }
    pos
}

fn count_digits(bytes: &[u8]) -> usize {
    bytes.iter().take_while(|b| b.is_ascii_digit()).count()
}

/// `YYYY-MM-DD HH:MM:SS` (or with `T`) at the start of `b`.
pub(crate) fn is_datetime_shape(b: &[u8]) -> bool {
    const SHAPE: &[u8; 19] = b"dddd-dd-dd dd:dd:dd";
    b.len() >= 19
        && SHAPE
            .iter()
            .zip(b)
            .enumerate()
            .all(|(i, (&s, &c))| match s {
                b'd' => c.is_ascii_digit(),
                b' ' if i == 10 => c == b' ' || c == b'T',
                _ => c == s,
            })
}

/// Every `WORD:  ` in the first part of `line` whose word is a severity: (start of the word,
/// severity, message after the two spaces).
fn severity_candidates(line: &str) -> impl Iterator<Item = (usize, Severity, &str)> {
    let mut limit = line.len().min(MAX_PREFIX_BYTES + 16);
    while !line.is_char_boundary(limit) {
        limit -= 1;
    }
    let bytes = line.as_bytes();
    let mut from = 0;
    std::iter::from_fn(move || {
        while from < limit {
            let at = from + line[from..limit].find(":  ")?;
            from = at + 1;
            let word_start = bytes[..at]
                .iter()
                .rposition(|b| !b.is_ascii_alphanumeric())
                .map_or(0, |p| p + 1);
            // The word may be glued to the prefix (`…:[42]:LOG:  `): try its uppercase tail.
            let upper_start = word_start
                + bytes[word_start..at]
                    .iter()
                    .position(u8::is_ascii_uppercase)
                    .unwrap_or(at - word_start);
            if let Some(sev) = Severity::from_word(&line[upper_start..at]) {
                return Some((upper_start, sev, &line[at + 3..]));
            }
        }
        None
    })
    .take(MAX_CANDIDATES)
}

/// Whether `line` contains a `SEVERITY:  ` marker near its start (format detection).
pub(crate) fn has_severity_marker(line: &str) -> bool {
    !line.starts_with('\t') && severity_candidates(line).next().is_some()
}

/// Match a line whose prefix is unknown: the prefix is whatever precedes the first severity
/// marker, provided it looks like one (it holds a timestamp or a `[pid]`, or is empty); the
/// time, pid, user and database are picked out by their usual shapes.
pub(crate) fn match_generic(line: &str) -> Option<PrefixMatch<'_>> {
    if line.starts_with('\t') {
        return None;
    }
    let (sev_start, severity, message) = severity_candidates(line).next()?;
    let region = &line[..sev_start];
    let bytes = region.as_bytes();
    let mut fields = PrefixFields::default();
    if let Some(start) = (0..bytes.len()).find(|&i| is_datetime_shape(&bytes[i..])) {
        let mut end = start + 19;
        if bytes.get(end) == Some(&b'.') {
            end += 1 + count_digits(&bytes[end + 1..]);
        }
        if bytes.get(end) == Some(&b' ') {
            let zone = bytes[end + 1..]
                .iter()
                .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-'))
                .count();
            if zone > 0
                && (bytes[end + 1].is_ascii_alphabetic() || matches!(bytes[end + 1], b'+' | b'-'))
            {
                end += 1 + zone;
            }
        }
        fields.timestamp = Some(&region[start..end]);
    }
    fields.pid = bracketed_pid(region).or_else(|| keyed(region, "pid="));
    fields.user = keyed(region, "user=");
    fields.database = keyed(region, "db=").or_else(|| keyed(region, "database="));
    if fields.user.is_none()
        && fields.database.is_none()
        && let Some((user, db)) = region
            .split([' ', ':', '[', ']'])
            .find_map(|tok| tok.split_once('@'))
    {
        fields.user = Some(user).filter(|u| !u.is_empty());
        fields.database = Some(db.trim_end_matches(',')).filter(|d| !d.is_empty());
    }
    let plausible = region.trim().is_empty() || fields.timestamp.is_some() || fields.pid.is_some();
    plausible.then_some(PrefixMatch {
        fields,
        severity,
        message,
    })
}

/// The first `[digits]` or `[digits-…` in `s`.
fn bracketed_pid(s: &str) -> Option<&str> {
    let mut rest = s;
    while let Some(open) = rest.find('[') {
        let after = &rest[open + 1..];
        let n = count_digits(after.as_bytes());
        if n > 0 && matches!(after.as_bytes().get(n), Some(b']' | b'-')) {
            return Some(&after[..n]);
        }
        rest = after;
    }
    None
}

/// The value after `key` up to a comma, space or bracket.
fn keyed<'a>(s: &'a str, key: &str) -> Option<&'a str> {
    let start = s.find(key)? + key.len();
    let value = &s[start..];
    let end = value.find([',', ' ', ']', ';']).unwrap_or(value.len());
    Some(&value[..end]).filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEBIAN: &str = "%m [%p] %q%u@%d ";
    const BADGER: &str = "%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ";

    #[test]
    fn debian_prefix_session_and_background_lines() {
        let mut p = LinePrefix::parse(DEBIAN);
        let m = p
            .match_line("2026-11-25 00:59:02.786 UTC [18098] postgres@shop LOG:  duration: 1.246 ms  statement: SELECT 1")
            .unwrap();
        assert_eq!(m.severity, Severity::Log);
        assert_eq!(m.message, "duration: 1.246 ms  statement: SELECT 1");
        assert_eq!(m.fields.timestamp, Some("2026-11-25 00:59:02.786 UTC"));
        assert_eq!(m.fields.pid, Some("18098"));
        assert_eq!(m.fields.user, Some("postgres"));
        assert_eq!(m.fields.database, Some("shop"));
        let bg = p
            .match_line("2026-11-25 00:58:52.287 UTC [17784] LOG:  listening on x")
            .unwrap();
        assert_eq!(bg.fields.pid, Some("17784"));
        assert_eq!(bg.fields.user, None);
        assert!(p.match_line("\t  FROM orders o").is_none());
        assert!(p.match_line("SELECT 'LOG:  nope'").is_none());
    }

    #[test]
    fn custom_prefix_with_empty_fields_and_tricky_names() {
        let mut p = LinePrefix::parse(BADGER);
        let line = "2026-11-25 02:00:28 CET [19714]: [1-1] user=app,db=shop,app=orders-api,client=127.0.0.1 ERROR:  boom";
        let m = p.match_line(line).unwrap();
        assert_eq!(
            (
                m.fields.timestamp,
                m.fields.pid,
                m.fields.user,
                m.fields.database,
                m.severity
            ),
            (
                Some("2026-11-25 02:00:28 CET"),
                Some("19714"),
                Some("app"),
                Some("shop"),
                Severity::Error
            )
        );
        let empty = "2026-11-25 02:00:27 CET [19663]: [3-1] user=,db=,app=,client= LOG:  starting";
        let m = p.match_line(empty).unwrap();
        assert_eq!((m.fields.user, m.fields.database), (None, None));
        // A database name with a space, and an application name that contains `LOG:  `.
        let odd = "2026-11-25 02:00:28 CET [7]: [1-1] user=a b,db=my db,app=x LOG:  y,client=h STATEMENT:  SELECT 1";
        let m = p.match_line(odd).unwrap();
        assert_eq!(
            (m.fields.user, m.fields.database, m.severity),
            (Some("a b"), Some("my db"), Severity::Statement)
        );
        assert_eq!(m.message, "SELECT 1");
    }

    #[test]
    fn rds_epoch_padding_and_percent() {
        let mut rds = LinePrefix::parse("%t:%r:%u@%d:[%p]:");
        let m = rds
            .match_line(
                "2024-03-01 10:00:00 UTC:10.0.0.5(51234):app@shop:[4242]:LOG:  statement: SELECT 1",
            )
            .unwrap();
        assert_eq!(
            (m.fields.user, m.fields.database, m.fields.pid),
            (Some("app"), Some("shop"), Some("4242"))
        );
        let mut ep = LinePrefix::parse("%n %-8p|%c %% ");
        let m = ep
            .match_line("1709287200.123 77      |65e1a2b3.4d % LOG:  statement: SELECT 2")
            .unwrap();
        assert_eq!(
            (m.fields.epoch, m.fields.pid, m.fields.session_id),
            (Some("1709287200.123"), Some("77"), Some("65e1a2b3.4d"))
        );
        let mut none = LinePrefix::parse("");
        assert_eq!(
            none.match_line("LOG:  statement: SELECT 3")
                .unwrap()
                .message,
            "statement: SELECT 3"
        );
    }

    #[test]
    fn generic_matcher_picks_out_fields() {
        let m =
            match_generic("2026-11-25 00:59:10.055 UTC [18195] app@shop LOG:  duration: 0.5 ms")
                .unwrap();
        assert_eq!(m.fields.timestamp, Some("2026-11-25 00:59:10.055 UTC"));
        assert_eq!(
            (m.fields.pid, m.fields.user, m.fields.database),
            (Some("18195"), Some("app"), Some("shop"))
        );
        let m = match_generic(
            "2026-11-25 02:00:28 CET [19714]: [1-1] user=app,db=shop,app=x,client=h LOG:  s",
        )
        .unwrap();
        assert_eq!(
            (m.fields.pid, m.fields.user, m.fields.database),
            (Some("19714"), Some("app"), Some("shop"))
        );
        assert!(match_generic("just some words ERROR:  x").is_none());
    }

    #[test]
    fn pathological_lines_stay_cheap() {
        let mut p = LinePrefix::parse("%u%d%a%h%u%d%a%h@");
        let line = format!("{}LOG:  x", "a".repeat(3000));
        assert!(p.match_line(&line).is_none());
        let line = format!("{}LOG:  x", "a@".repeat(900));
        let _ = p.match_line(&line);
    }
}
