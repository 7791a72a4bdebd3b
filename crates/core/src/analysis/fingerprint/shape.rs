//! The normalizer proper: reads tokens from the lexer once and writes the canonical text of the
//! statement's shape into a [`Sink`] — a byte buffer for [`normalize`](super::normalize), the
//! streaming hasher for [`fingerprint`](super::fingerprint). Both see the same bytes.
//!
//! The few rewrites that need hindsight (an IN-list turns out to hold only values, a VALUES
//! row repeats an earlier one) take a mark before the construct and roll the sink back to it;
//! a comma after a value is held back until the next token shows whether a value list goes on.
//! State is a fixed-size stack, so the hashing path never allocates.

// The per-token path is inlined into one loop on purpose: measured with callgrind on the
// benchmark stream, it saves about 7% of the instructions per statement.
#![allow(clippy::inline_always)]

use super::Flavor;
use super::hash::{Case, Hasher};
use super::keyword::{Kw, keyword};
use super::lexer::{Kind, Lexer};

/// Where the canonical text goes.
pub(crate) trait Sink {
    /// A position to roll back to.
    type Mark: Copy;
    /// Writes a token: a space first when `space`, then `bytes` in `case`.
    fn put(&mut self, space: bool, bytes: &[u8], case: Case);
    fn mark(&self) -> Self::Mark;
    fn reset(&mut self, mark: Self::Mark);
}

impl Sink for Hasher {
    type Mark = Hasher;
    #[inline(always)]
    fn put(&mut self, space: bool, bytes: &[u8], case: Case) {
        self.token(space, bytes, case);
    }
    fn mark(&self) -> Hasher {
        *self
    }
    fn reset(&mut self, mark: Hasher) {
        *self = mark;
    }
}

impl Sink for Vec<u8> {
    type Mark = usize;
    fn put(&mut self, space: bool, bytes: &[u8], case: Case) {
        if space {
            self.push(b' ');
        }
        let from = self.len();
        self.extend_from_slice(bytes);
        match case {
            Case::Same => {}
            Case::Lower => self[from..].make_ascii_lowercase(),
            Case::Upper => self[from..].make_ascii_uppercase(),
        }
    }
    fn mark(&self) -> usize {
        self.len()
    }
    fn reset(&mut self, mark: usize) {
        self.truncate(mark);
    }
}

use Case::{Lower, Same, Upper};

/// How a printed token spaces against its neighbours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sp {
    Start,
    /// An identifier (or a keyword read like one): no space before a following `(`.
    Ident,
    /// A keyword written like a function (`ANY(`).
    CallKw,
    Kw,
    Value,
    Op,
    Open,
    Close,
    OpenBr,
    CloseBr,
    Comma,
    Dot,
    /// `::` and `:`, printed without spaces.
    Tight,
    Semi,
}

/// Whether a space goes between a token printed as `prev` and one printed as `cur`.
#[inline]
fn needs_space(prev: Sp, cur: Sp) -> bool {
    SPACING[prev as usize][cur as usize]
}

const SP_COUNT: usize = Sp::Semi as usize + 1;

static SPACING: [[bool; SP_COUNT]; SP_COUNT] = {
    const fn rule(prev: Sp, cur: Sp) -> bool {
        let glued_after = matches!(
            prev,
            Sp::Start | Sp::Open | Sp::OpenBr | Sp::Dot | Sp::Tight
        );
        let glued_before = matches!(
            cur,
            Sp::Close | Sp::CloseBr | Sp::Comma | Sp::Dot | Sp::Tight | Sp::Semi
        );
        // A call (`count(`) or a subscript (`a[1]`, `f(x)[1]`).
        let call = matches!(cur, Sp::Open) && matches!(prev, Sp::Ident | Sp::CallKw);
        let subscript = matches!(cur, Sp::OpenBr)
            && matches!(
                prev,
                Sp::Ident | Sp::CallKw | Sp::Close | Sp::CloseBr | Sp::Value
            );
        !(glued_after || glued_before || call || subscript)
    }
    const ALL: [Sp; SP_COUNT] = [
        Sp::Start,
        Sp::Ident,
        Sp::CallKw,
        Sp::Kw,
        Sp::Value,
        Sp::Op,
        Sp::Open,
        Sp::Close,
        Sp::OpenBr,
        Sp::CloseBr,
        Sp::Comma,
        Sp::Dot,
        Sp::Tight,
        Sp::Semi,
    ];
    let mut table = [[false; SP_COUNT]; SP_COUNT];
    let mut i = 0;
    while i < SP_COUNT {
        let mut j = 0;
        while j < SP_COUNT {
            table[ALL[i] as usize][ALL[j] as usize] = rule(ALL[i], ALL[j]);
            j += 1;
        }
        i += 1;
    }
    table
};

/// The last printed token, as far as the next one cares.
#[derive(Debug, Clone, Copy)]
struct Prev {
    sp: Sp,
    kw: Option<Kw>,
    /// The keyword before that (for `IS NOT TRUE`).
    kw2: Option<Kw>,
    /// Whether an operand ends here: then `-` is a minus and `?` an operator.
    ends_operand: bool,
}

/// A value list being read: `?` then `, ...` for any further values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Run {
    Idle,
    /// One value printed.
    Value,
    /// One value printed, its comma held back.
    ValueComma,
    /// `?, ...` printed.
    List,
    /// `?, ...` printed, a comma held back.
    ListComma,
}

/// A value token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Val {
    Single {
        string: bool,
    },
    /// MySQL digest's `...`.
    List,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LevelKind {
    Plain,
    /// The parentheses right after `IN`, or the brackets right after `ARRAY`.
    In,
    /// One row of a VALUES list.
    Row,
    Bracket,
}

/// One open parenthesis or bracket, and what its direct content was so far.
#[derive(Debug, Clone, Copy)]
struct Level {
    kind: LevelKind,
    /// `[` rather than `(`.
    bracket: bool,
    has_mark: bool,
    commas: u32,
    values: bool,
    /// Items that are parenthesised lists of values (`IN ((1, 2), (3, 4))`).
    tuples: bool,
    other: bool,
}

impl Level {
    const EMPTY: Level = Level {
        kind: LevelKind::Plain,
        bracket: false,
        has_mark: false,
        commas: 0,
        values: false,
        tuples: false,
        other: false,
    };

    fn only_values(&self) -> bool {
        self.values && !self.tuples && !self.other
    }

    fn only_tuples(&self) -> bool {
        self.tuples && !self.values && !self.other
    }
}

/// Everything needed to roll back to an earlier point of the output.
#[derive(Debug, Clone, Copy)]
struct Mark<M> {
    out: M,
    sig: Hasher,
    sig_on: bool,
    prev: Prev,
}

/// An open `VALUES` list.
#[derive(Debug, Clone, Copy)]
struct ValuesList<M> {
    /// Nesting depth of the rows' parentheses.
    depth: usize,
    /// Column count from the column list right before `VALUES`, when there is one.
    columns: Option<u32>,
    /// Signatures of the distinct row shapes printed so far.
    seen: [u64; MAX_ROW_SHAPES],
    seen_len: usize,
    /// Mark before the comma that precedes the row about to open.
    comma: Option<Mark<M>>,
}

const MAX_DEPTH: usize = 32;
const MAX_MARKS: usize = 8;
const MAX_ROW_SHAPES: usize = 8;

pub(crate) struct Shaper<'a, S: Sink> {
    lex: Lexer<'a>,
    out: S,
    /// Signature of the VALUES row being printed (`sig_on`).
    sig: Hasher,
    sig_on: bool,
    prev: Prev,
    run: Run,
    /// The last value was a string literal (adjacent strings are one literal).
    last_str: bool,
    /// A `;` waits; it is printed only if another statement follows.
    semi: bool,
    levels: [Level; MAX_DEPTH],
    depth: usize,
    /// Parentheses opened beyond `MAX_DEPTH`: tracked by count only.
    overflow: usize,
    marks: [Option<Mark<S::Mark>>; MAX_MARKS],
    marks_len: usize,
    values: Option<ValuesList<S::Mark>>,
    /// Items in the parenthesis just closed (a column list when `VALUES` follows).
    closed_items: u32,
}

impl<'a, S: Sink> Shaper<'a, S> {
    pub(crate) fn new(sql: &'a str, flavor: Flavor, out: S) -> Self {
        Shaper {
            lex: Lexer::new(sql, flavor),
            out,
            sig: Hasher::default(),
            sig_on: false,
            prev: Prev {
                sp: Sp::Start,
                kw: None,
                kw2: None,
                ends_operand: false,
            },
            run: Run::Idle,
            last_str: false,
            semi: false,
            levels: [Level::EMPTY; MAX_DEPTH],
            depth: 0,
            overflow: 0,
            marks: [None; MAX_MARKS],
            marks_len: 0,
            values: None,
            closed_items: 0,
        }
    }

    /// Reads the whole statement and returns the sink.
    pub(crate) fn finish(mut self) -> S {
        loop {
            let kind = self.lex.next_token();
            if kind == Kind::Eof {
                break;
            }
            self.token(kind);
        }
        self.flush_run();
        self.out
    }

    /// The text of the current token.
    #[inline(always)]
    fn text(&self) -> &'a [u8] {
        self.lex.text()
    }

    #[inline(always)]
    fn token(&mut self, kind: Kind) {
        if kind == Kind::Semicolon {
            self.flush_run();
            self.end_statement();
            self.semi = true;
            return;
        }
        if self.semi {
            self.semi = false;
            self.emit(Sp::Semi, None, b";", Same);
        }
        if let Some(list) = &self.values
            && self.depth + self.overflow == list.depth
            && !matches!(kind, Kind::Comma | Kind::LParen)
        {
            self.values = None;
        }
        match kind {
            Kind::Word => self.word(),
            Kind::Quoted | Kind::Backticked => {
                self.other_token();
                self.quoted(self.text(), kind == Kind::Backticked);
            }
            Kind::Var => {
                self.other_token();
                self.emit(Sp::Ident, None, self.text(), Lower);
            }
            Kind::Str => self.value(Val::Single { string: true }),
            Kind::Num => self.value(Val::Single { string: false }),
            Kind::Param => {
                let text = self.text();
                let slice = self.top_kind() == Some(LevelKind::Bracket) && self.operand_ended();
                if text.first() == Some(&b':') && slice {
                    // `a[lo:hi]`: a slice, not a named parameter.
                    self.other_token();
                    self.emit(Sp::Tight, None, b":", Same);
                    self.emit(Sp::Ident, None, &text[1..], Lower);
                } else {
                    self.value(Val::Single { string: false });
                }
            }
            Kind::Question => {
                if self.operand_ended() {
                    self.other_token();
                    self.emit(Sp::Op, None, b"?", Same);
                } else {
                    self.value(Val::Single { string: false });
                }
            }
            Kind::Ellipsis => self.value(Val::List),
            Kind::Op => self.operator(),
            Kind::LParen => self.open(false),
            Kind::LBracket => self.open(true),
            Kind::RParen => self.close(Sp::Close, b")"),
            Kind::RBracket => self.close(Sp::CloseBr, b"]"),
            Kind::Comma => self.comma(),
            Kind::Dot => {
                self.other_token();
                self.emit(Sp::Dot, None, b".", Same);
            }
            Kind::Cast => {
                self.other_token();
                self.emit(Sp::Tight, None, b"::", Same);
            }
            Kind::Colon => {
                self.other_token();
                self.emit(Sp::Tight, None, b":", Same);
            }
            Kind::Other => {
                self.other_token();
                self.emit(Sp::Op, None, self.text(), Same);
            }
            Kind::Semicolon | Kind::Eof => {}
        }
    }

    // ---- printing -------------------------------------------------------------------------

    #[inline(always)]
    fn put(&mut self, space: bool, bytes: &[u8], case: Case) {
        self.out.put(space, bytes, case);
        if self.sig_on {
            self.sig.token(space, bytes, case);
        }
    }

    #[inline(always)]
    fn emit(&mut self, sp: Sp, kw: Option<Kw>, bytes: &[u8], case: Case) {
        self.put(needs_space(self.prev.sp, sp), bytes, case);
        let ends_operand = match sp {
            Sp::Ident | Sp::Value | Sp::Close | Sp::CloseBr => true,
            Sp::Kw | Sp::CallKw => kw.is_some_and(Kw::ends_operand),
            _ => false,
        };
        self.prev = Prev {
            sp,
            kw,
            kw2: self.prev.kw,
            ends_operand,
        };
    }

    fn mark(&self) -> Mark<S::Mark> {
        Mark {
            out: self.out.mark(),
            sig: self.sig,
            sig_on: self.sig_on,
            prev: self.prev,
        }
    }

    fn reset(&mut self, mark: Mark<S::Mark>) {
        self.out.reset(mark.out);
        self.sig = mark.sig;
        self.sig_on = mark.sig_on;
        self.prev = mark.prev;
        self.run = Run::Idle;
        self.last_str = false;
    }

    // ---- tokens ---------------------------------------------------------------------------

    #[inline(always)]
    fn top(&mut self) -> Option<&mut Level> {
        if self.overflow > 0 || self.depth == 0 {
            None
        } else {
            self.levels.get_mut(self.depth - 1)
        }
    }

    #[inline(always)]
    fn top_kind(&self) -> Option<LevelKind> {
        if self.overflow > 0 || self.depth == 0 {
            None
        } else {
            self.levels.get(self.depth - 1).map(|l| l.kind)
        }
    }

    /// Whether an operand ends right here (a held-back comma does not end one).
    #[inline(always)]
    fn operand_ended(&self) -> bool {
        self.prev.ends_operand && !matches!(self.run, Run::ValueComma | Run::ListComma)
    }

    /// Any token that is neither a value nor a comma: ends a value list, and makes the
    /// enclosing parenthesis more than a list of values.
    #[inline(always)]
    fn other_token(&mut self) {
        self.flush_run();
        if let Some(level) = self.top() {
            level.other = true;
        }
    }

    #[inline(always)]
    fn flush_run(&mut self) {
        if matches!(self.run, Run::ValueComma | Run::ListComma) {
            self.emit(Sp::Comma, None, b",", Same);
        }
        self.run = Run::Idle;
    }

    fn end_statement(&mut self) {
        self.depth = 0;
        self.overflow = 0;
        self.marks_len = 0;
        self.values = None;
        self.sig_on = false;
        self.last_str = false;
    }

    fn word(&mut self) {
        let text = self.text();
        let Some(kw) = keyword(text) else {
            self.other_token();
            self.emit(Sp::Ident, None, odbc_interval_unit(text), Lower);
            return;
        };
        match kw {
            Kw::Null if matches!(self.prev.kw, Some(Kw::Is | Kw::Not)) => {}
            Kw::Bool
                if self.prev.kw == Some(Kw::Is)
                    || (self.prev.kw == Some(Kw::Not) && self.prev.kw2 == Some(Kw::Is)) => {}
            // `x = NULL`, `flag = true`: constants, like pg_stat_statements reads them.
            Kw::Null | Kw::Bool => return self.value(Val::Single { string: false }),
            _ => {}
        }
        self.other_token();
        let columns = (self.prev.sp == Sp::Close).then_some(self.closed_items);
        let sp = if matches!(kw, Kw::Call | Kw::Array) {
            Sp::CallKw
        } else {
            Sp::Kw
        };
        self.emit(sp, Some(kw), text, Upper);
        if kw == Kw::Values && self.values.is_none() {
            self.values = Some(ValuesList {
                depth: self.depth + self.overflow,
                columns,
                seen: [0; MAX_ROW_SHAPES],
                seen_len: 0,
                comma: None,
            });
        }
    }

    /// A quoted identifier prints without its quotes when that reads back the same: a plain
    /// name, in lower case unless the quotes were backticks (MySQL compares column names
    /// without case and its digests backtick every name as written, so backticks fold case).
    /// `"Orders"` keeps its quotes, as PostgreSQL keeps it apart from `orders`. A name that is
    /// an ordinary keyword prints like the keyword, so `` `desc` `` from a digest matches `desc`.
    fn quoted(&mut self, content: &[u8], backtick: bool) {
        let kw = keyword(content);
        if matches!(kw, Some(Kw::Reserved | Kw::Call | Kw::Plain)) {
            self.emit(Sp::Ident, None, content, Upper);
            return;
        }
        let map = if backtick { Lower } else { Same };
        let plain = kw.is_none()
            && content
                .first()
                .is_some_and(|&b| b.is_ascii_alphabetic() || b == b'_' || b >= 0x80)
            && content.iter().all(|&b| {
                b.is_ascii_lowercase()
                    || b.is_ascii_digit()
                    || b == b'_'
                    || b == b'$'
                    || b >= 0x80
                    || (backtick && b.is_ascii_uppercase())
            });
        if plain {
            self.emit(Sp::Ident, None, content, map);
            return;
        }
        // Print `"…"` with `""` for a double quote, whatever the source quoting was.
        self.emit(Sp::Ident, None, b"\"", Same);
        let mut rest = content;
        while let Some(at) = rest.iter().position(|&b| b == b'"' || b == b'`') {
            self.put(false, &rest[..at], map);
            let b = rest[at];
            if b == b'"' {
                self.put(false, b"\"\"", Same);
            } else {
                self.put(false, b"`", Same);
            }
            // A doubled quote character stands for one.
            let doubled = (b == b'"') != backtick && rest.get(at + 1) == Some(&b);
            rest = &rest[at + 1 + usize::from(doubled)..];
        }
        self.put(false, rest, map);
        self.put(false, b"\"", Same);
    }

    fn operator(&mut self) {
        let text = self.text();
        if matches!(text, b"-" | b"+") && !self.operand_ended() {
            // Signs in front of a value are part of the value: `x = -5` reads as `x = ?`.
            let mut ahead = self.lex;
            loop {
                let next = ahead.next_token();
                match next {
                    Kind::Num | Kind::Param | Kind::Str | Kind::Question => {
                        self.lex = ahead;
                        return self.value(Val::Single {
                            string: next == Kind::Str,
                        });
                    }
                    Kind::Word if matches!(keyword(ahead.text()), Some(Kw::Null | Kw::Bool)) => {
                        self.lex = ahead;
                        return self.value(Val::Single { string: false });
                    }
                    Kind::Op if matches!(ahead.text(), b"-" | b"+") => {}
                    _ => break,
                }
            }
        }
        self.other_token();
        let text: &[u8] = if text == b"!=" { b"<>" } else { text };
        self.emit(Sp::Op, None, text, Same);
    }

    fn value(&mut self, val: Val) {
        let row = self.top_kind() == Some(LevelKind::Row);
        if let Some(level) = self.top() {
            level.values = true;
        }
        let string = val == Val::Single { string: true };
        let merge = string && self.last_str && matches!(self.run, Run::Value | Run::List);
        self.last_str = string;
        if merge {
            return;
        }
        if row {
            // Rows keep their arity: no value lists inside.
            if val == Val::List {
                self.expand_row_list();
            } else {
                self.emit(Sp::Value, None, b"?", Same);
            }
            self.run = Run::Value;
            return;
        }
        match self.run {
            Run::ValueComma => {
                self.emit(Sp::Comma, None, b",", Same);
                self.emit(Sp::Value, None, b"...", Same);
                self.run = Run::List;
            }
            Run::ListComma => self.run = Run::List,
            Run::Idle | Run::Value | Run::List => {
                self.emit(Sp::Value, None, b"?", Same);
                if val == Val::List {
                    self.emit(Sp::Comma, None, b",", Same);
                    self.emit(Sp::Value, None, b"...", Same);
                    self.run = Run::List;
                } else {
                    self.run = Run::Value;
                }
            }
        }
    }

    /// A digest's `...` inside a VALUES row: as many `?` as the column list leaves for it.
    fn expand_row_list(&mut self) {
        let before = self.top().map_or(0, |l| l.commas);
        let columns = self.values.as_ref().and_then(|v| v.columns);
        let mut ahead = self.lex;
        let mut depth = 0usize;
        let mut after = 0u32;
        loop {
            match ahead.next_token() {
                Kind::LParen | Kind::LBracket => depth += 1,
                Kind::RParen | Kind::RBracket if depth > 0 => depth -= 1,
                Kind::Comma if depth == 0 => after += 1,
                Kind::RParen | Kind::RBracket | Kind::Semicolon | Kind::Eof => break,
                _ => {}
            }
        }
        let count = columns
            .and_then(|n| n.checked_sub(before + after))
            .filter(|&n| n > 0);
        self.emit(Sp::Value, None, b"?", Same);
        if let Some(n) = count {
            for _ in 1..n {
                self.emit(Sp::Comma, None, b",", Same);
                self.emit(Sp::Value, None, b"?", Same);
            }
        } else {
            self.emit(Sp::Comma, None, b",", Same);
            self.emit(Sp::Value, None, b"...", Same);
        }
    }

    fn comma(&mut self) {
        if let Some(list) = &self.values
            && list.depth == self.depth + self.overflow
        {
            // Between VALUES rows: remember where this row's text would start.
            self.flush_run();
            let mark = self.mark();
            if let Some(list) = &mut self.values {
                list.comma = Some(mark);
            }
            self.emit(Sp::Comma, None, b",", Same);
            return;
        }
        let row = self.top_kind() == Some(LevelKind::Row);
        if let Some(level) = self.top() {
            level.commas += 1;
        }
        if !row {
            match self.run {
                Run::Value => return self.run = Run::ValueComma,
                Run::List => return self.run = Run::ListComma,
                _ => {}
            }
        }
        self.flush_run();
        self.emit(Sp::Comma, None, b",", Same);
    }

    fn open(&mut self, bracket: bool) {
        self.flush_run();
        let (sp, text): (Sp, &[u8]) = if bracket {
            (Sp::OpenBr, b"[")
        } else {
            (Sp::Open, b"(")
        };
        if self.overflow > 0 || self.depth == MAX_DEPTH {
            self.overflow += 1;
            self.emit(sp, None, text, Same);
            return;
        }
        let values_here = self.values.as_ref().is_some_and(|v| v.depth == self.depth);
        let kind = if bracket && self.prev.kw == Some(Kw::Array) && self.prev.sp == Sp::CallKw {
            LevelKind::In
        } else if bracket {
            LevelKind::Bracket
        } else if self.prev.sp == Sp::Kw && self.prev.kw == Some(Kw::In) {
            LevelKind::In
        } else if values_here {
            LevelKind::Row
        } else {
            LevelKind::Plain
        };
        let mut has_mark = false;
        if matches!(kind, LevelKind::In | LevelKind::Row) && self.marks_len < MAX_MARKS {
            let comma = if kind == LevelKind::Row {
                self.values.as_mut().and_then(|v| v.comma.take())
            } else {
                None
            };
            self.marks[self.marks_len] = Some(comma.unwrap_or_else(|| self.mark()));
            self.marks_len += 1;
            has_mark = true;
        }
        if kind == LevelKind::Row {
            self.sig = Hasher::default();
            self.sig_on = true;
        }
        self.emit(sp, None, text, Same);
        self.levels[self.depth] = Level {
            kind,
            bracket,
            has_mark,
            ..Level::EMPTY
        };
        self.depth += 1;
    }

    fn close(&mut self, sp: Sp, text: &[u8]) {
        self.flush_run();
        if self.overflow > 0 {
            self.overflow -= 1;
            self.emit(sp, None, text, Same);
            return;
        }
        if self.depth == 0 {
            // Unbalanced: print it and go on.
            self.emit(sp, None, text, Same);
            return;
        }
        self.depth -= 1;
        let level = self.levels[self.depth];
        let mark = if level.has_mark && self.marks_len > 0 {
            self.marks_len -= 1;
            self.marks[self.marks_len].take()
        } else {
            None
        };
        match (level.kind, mark) {
            // `IN (1, 2, 3)`, `IN ($1, $2)`, `IN (...)`, `ARRAY[1, 2]`: one shape for any length;
            // `(a, b) IN ((1, 2), (3, 4))`: one shape for any number of rows.
            (LevelKind::In, Some(mark)) if level.only_values() || level.only_tuples() => {
                self.reset(mark);
                let (open, close): (&[u8], &[u8]) = if level.bracket {
                    (b"[", b"]")
                } else {
                    (b"(", b")")
                };
                let (open_sp, close_sp) = if level.bracket {
                    (Sp::OpenBr, Sp::CloseBr)
                } else {
                    (Sp::Open, Sp::Close)
                };
                self.emit(open_sp, None, open, Same);
                if level.only_values() {
                    self.emit(Sp::Value, None, b"?", Same);
                } else {
                    self.emit(open_sp, None, open, Same);
                    self.emit(Sp::Value, None, b"?", Same);
                    self.emit(Sp::Comma, None, b",", Same);
                    self.emit(Sp::Value, None, b"...", Same);
                    self.emit(close_sp, None, close, Same);
                }
                self.emit(close_sp, None, close, Same);
            }
            (LevelKind::Row, mark) => {
                self.emit(sp, None, text, Same);
                self.sig_on = false;
                let shape = self.sig.finish();
                if let Some(list) = &mut self.values {
                    let seen = &list.seen[..list.seen_len];
                    if seen.contains(&shape) {
                        if let Some(mark) = mark {
                            self.reset(mark);
                        }
                    } else if list.seen_len < MAX_ROW_SHAPES {
                        list.seen[list.seen_len] = shape;
                        list.seen_len += 1;
                    }
                }
            }
            _ => self.emit(sp, None, text, Same),
        }
        self.closed_items = if level.commas == 0 && !level.values && !level.tuples && !level.other {
            0
        } else {
            level.commas + 1
        };
        let tuple =
            matches!(level.kind, LevelKind::Plain | LevelKind::Bracket) && level.only_values();
        if let Some(parent) = self.top() {
            if tuple {
                parent.tuples = true;
            } else {
                parent.other = true;
            }
        }
        if self.values.as_ref().is_some_and(|v| v.depth > self.depth) {
            self.values = None;
        }
    }
}

/// MariaDB's digests print interval units in their ODBC spelling (`INTERVAL ? SQL_TSI_HOUR`)
/// where the statement said `INTERVAL 5 HOUR`: the unit without its `SQL_TSI_` prefix, so both
/// meet in one fingerprint. No other word starts with that prefix.
#[inline]
fn odbc_interval_unit(word: &[u8]) -> &[u8] {
    const PREFIX: &[u8] = b"sql_tsi_";
    match word.split_at_checked(PREFIX.len()) {
        Some((head, unit)) if !unit.is_empty() && head.eq_ignore_ascii_case(PREFIX) => unit,
        _ => word,
    }
}
