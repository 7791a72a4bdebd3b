//! What a log parser skipped or noticed: counts per reason plus the first few examples.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a line or an entry produced no event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// The line matches neither the format (e.g. the `log_line_prefix`) nor a continuation.
    UnrecognizedLine,
    /// A continuation, `DETAIL` or `STATEMENT` line with no entry open to attach it to.
    OrphanContinuation,
    /// A server message that is not a statement (start-up, checkpoints, connections, notices).
    NotAStatement,
    /// The parse or bind step of an extended-protocol statement; its `execute` line is the event.
    ProtocolPhase,
    /// An `ERROR`/`FATAL` with no statement text (e.g. an authentication failure).
    ErrorWithoutStatement,
    /// A bare `duration:` line with no logged statement of its session waiting for it.
    DurationWithoutStatement,
    /// A timestamp, duration or counter that does not parse.
    BadValue,
    /// A CSV record with an unterminated quote or too few columns.
    BadCsv,
    /// A line that is not a JSON capture event.
    BadJson,
    /// The MySQL/MariaDB server start banner.
    ServerBanner,
    /// An entry whose statement text is empty.
    EmptyStatement,
    /// An administrator command logged by MySQL/MariaDB (`# administrator command: …`).
    AdminCommand,
    /// An entry larger than `max_entry_bytes`.
    EntryTooLarge,
    /// A statement of another database or user than the filter asks for.
    FilteredOut,
}

impl SkipReason {
    /// A short human description.
    pub fn describe(self) -> &'static str {
        match self {
            SkipReason::UnrecognizedLine => {
                "line matches neither the log format nor a continuation"
            }
            SkipReason::OrphanContinuation => {
                "continuation or detail line with no entry to attach to"
            }
            SkipReason::NotAStatement => "server message that is not a statement",
            SkipReason::ProtocolPhase => "parse/bind step (the execute line is counted)",
            SkipReason::ErrorWithoutStatement => "error without statement text",
            SkipReason::DurationWithoutStatement => {
                "duration line with no statement waiting for it"
            }
            SkipReason::BadValue => "unparseable timestamp, duration or counter",
            SkipReason::BadCsv => "malformed CSV record",
            SkipReason::BadJson => "not a JSON capture event",
            SkipReason::ServerBanner => "server start banner",
            SkipReason::EmptyStatement => "empty statement",
            SkipReason::AdminCommand => "administrator command",
            SkipReason::EntryTooLarge => "entry larger than the size limit",
            SkipReason::FilteredOut => "other database or user than requested",
        }
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// Something odd about an entry that was still turned into an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Warning {
    /// A time zone abbreviation that is not known; the configured offset (or UTC) was assumed.
    UnknownTimeZone,
    /// A timestamp that is missing or does not parse; the event's time is the previous one's.
    MissingTimestamp,
    /// A `parameters:` detail that does not parse; the event has no parameters.
    BadParameters,
    /// An entry with no duration (e.g. a MySQL entry without `Query_time`); zero was assumed.
    MissingDuration,
    /// The input ended inside an entry; the entry was kept as it was.
    TruncatedEntry,
    /// A line that is not valid UTF-8; invalid bytes were replaced.
    InvalidUtf8,
    /// A line longer than the line limit; it was not parsed.
    LineTooLong,
}

impl Warning {
    /// A short human description.
    pub fn describe(self) -> &'static str {
        match self {
            Warning::UnknownTimeZone => "unknown time zone abbreviation (offset assumed)",
            Warning::MissingTimestamp => "missing or unparseable timestamp",
            Warning::BadParameters => "unparseable bind parameters",
            Warning::MissingDuration => "no duration (zero assumed)",
            Warning::TruncatedEntry => "input ended inside an entry",
            Warning::InvalidUtf8 => "invalid UTF-8 replaced",
            Warning::LineTooLong => "line longer than the limit (not parsed)",
        }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// One example of a skip or warning: the 1-based line number where the entry starts, and an
/// excerpt of that line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Example<K> {
    pub line: u64,
    pub reason: K,
    pub excerpt: String,
}

/// One skipped line or entry.
pub type Skipped = Example<SkipReason>;

/// Counts per reason, plus the first `max_examples` examples of each reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally<K: Ord> {
    pub counts: BTreeMap<K, u64>,
    pub examples: Vec<Example<K>>,
    #[serde(skip)]
    max_examples: usize,
}

impl<K: Ord> Default for Tally<K> {
    fn default() -> Self {
        Tally {
            counts: BTreeMap::new(),
            examples: Vec::new(),
            max_examples: 5,
        }
    }
}

/// Longest excerpt kept with an example, in characters.
const EXCERPT_CHARS: usize = 160;

impl<K: Ord + Copy> Tally<K> {
    /// An empty tally keeping `max_examples` examples per reason.
    pub fn new(max_examples: usize) -> Self {
        Tally {
            counts: BTreeMap::new(),
            examples: Vec::new(),
            max_examples,
        }
    }

    /// Count one occurrence of `reason` at `line`.
    pub fn add(&mut self, line: u64, reason: K, text: &str) {
        let count = self.counts.entry(reason).or_insert(0);
        *count += 1;
        if *count <= self.max_examples as u64 {
            let mut excerpt: String = text.chars().take(EXCERPT_CHARS).collect();
            if excerpt.len() < text.len() {
                excerpt.push('…');
            }
            self.examples.push(Example {
                line,
                reason,
                excerpt,
            });
        }
    }

    /// How many occurrences of `reason` were counted.
    pub fn count(&self, reason: K) -> u64 {
        self.counts.get(&reason).copied().unwrap_or(0)
    }

    /// All occurrences, whatever the reason.
    pub fn total(&self) -> u64 {
        self.counts.values().sum()
    }

    /// Add the counts and examples of `other` (examples beyond this tally's limit are dropped).
    pub fn absorb(&mut self, other: &Tally<K>) {
        for (reason, n) in &other.counts {
            *self.counts.entry(*reason).or_insert(0) += n;
        }
        for example in &other.examples {
            let kept = self
                .examples
                .iter()
                .filter(|e| e.reason == example.reason)
                .count();
            if kept < self.max_examples {
                self.examples.push(example.clone());
            }
        }
        self.examples.sort_by_key(|e| e.line);
    }
}

/// What a parser did with its input.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParseReport {
    /// Lines fed.
    pub lines: u64,
    /// Events produced.
    pub events: u64,
    /// Lines or entries that produced no event, by reason.
    pub skipped: Tally<SkipReason>,
    /// Oddities in entries that still produced an event.
    pub warnings: Tally<Warning>,
}

impl ParseReport {
    /// An empty report keeping `max_examples` examples per reason.
    pub fn new(max_examples: usize) -> Self {
        ParseReport {
            lines: 0,
            events: 0,
            skipped: Tally::new(max_examples),
            warnings: Tally::new(max_examples),
        }
    }

    /// Count a skipped line or entry starting at `line`.
    pub fn skip(&mut self, line: u64, reason: SkipReason, text: &str) {
        self.skipped.add(line, reason, text);
    }

    /// Count a warning about the entry starting at `line`.
    pub fn warn(&mut self, line: u64, warning: Warning, text: &str) {
        self.warnings.add(line, warning, text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tally_counts_everything_but_keeps_few_examples() {
        let mut t = Tally::new(2);
        for i in 0..5 {
            t.add(i, SkipReason::BadJson, "x");
        }
        t.add(9, SkipReason::BadCsv, &"y".repeat(500));
        assert_eq!(t.count(SkipReason::BadJson), 5);
        assert_eq!(t.total(), 6);
        assert_eq!(t.examples.len(), 3);
        assert_eq!(t.examples[2].line, 9);
        assert!(t.examples[2].excerpt.chars().count() == EXCERPT_CHARS + 1);
    }
}
