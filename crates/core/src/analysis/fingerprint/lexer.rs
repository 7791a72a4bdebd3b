//! The single-pass byte lexer under the fingerprinter: splits SQL text (PostgreSQL and
//! MySQL/MariaDB spellings) into tokens, skipping whitespace and comments, without allocating.
//!
//! Every token boundary falls on an ASCII byte or on the end of the input (bytes ≥ 0x80 only
//! ever occur inside identifiers, strings and comments), so slicing the input at token bounds
//! never splits a UTF-8 sequence. No input makes the lexer panic: every index is checked.

// The per-token path is inlined into one loop on purpose: measured with callgrind on the
// benchmark stream, it saves about 7% of the instructions per statement.
#![allow(clippy::inline_always)]

use super::Flavor;

/// What a token is. Byte ranges live in [`Token`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// An unquoted identifier or keyword.
    Word,
    /// A double-quoted identifier; the range is its content without the quotes (`""` inside
    /// stands for `"`).
    Quoted,
    /// A backtick-quoted identifier (MySQL); the range is its content (`` `` `` for `` ` ``).
    Backticked,
    /// A string literal of any spelling: `'…'`, `E'…'`, `N'…'`, `X'…'`, `B'…'`, `U&'…'`,
    /// `_charset'…'`, dollar-quoted, and `"…"` under [`Flavor::Mysql`].
    Str,
    /// A numeric literal: integer, decimal, exponent, hexadecimal, binary.
    Num,
    /// A bind parameter: `$1`, `:name`, `%s`, `%(name)s`.
    Param,
    /// A lone `?`: a placeholder or PostgreSQL's jsonb key operator, depending on context.
    Question,
    /// `...`: a list of values in MySQL digest text.
    Ellipsis,
    /// An operator (a run of operator characters).
    Op,
    /// A MySQL user or system variable: `@name`, `@@session.name`.
    Var,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Dot,
    Semicolon,
    /// PostgreSQL's `::` cast.
    Cast,
    /// `:` on its own (array slices).
    Colon,
    /// Any other single ASCII byte.
    Other,
    /// End of input.
    Eof,
}

/// The lexer: a cursor over the input. It is `Copy`, so looking ahead is cloning it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Lexer<'a> {
    src: &'a [u8],
    /// Always at most `src.len()`.
    pos: usize,
    /// The text of the last token: `src[start..end]` (a quoted identifier without its quotes).
    start: usize,
    end: usize,
    flavor: Flavor,
    /// Inside a MySQL executable comment `/*! … */`, whose content is SQL.
    exec_comment: bool,
}

const IDENT_START: u8 = 1;
const IDENT: u8 = 2;
const DIGIT: u8 = 4;
const OP: u8 = 8;
const SPACE: u8 = 16;
/// Bytes that may start a comment (or end a MySQL executable one).
const TRIVIA: u8 = 32;

/// Character classes of every byte. Bytes ≥ 0x80 are identifier characters, so a multi-byte
/// UTF-8 sequence is never split.
static CLASS: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        let mut class = 0;
        if b.is_ascii_alphabetic() || b == b'_' || b >= 0x80 {
            class |= IDENT_START | IDENT;
        }
        if b.is_ascii_digit() {
            class |= DIGIT | IDENT;
        }
        if b == b'$' {
            class |= IDENT;
        }
        // PostgreSQL's operator characters, minus `?` which is lexed apart.
        if matches!(
            b,
            b'+' | b'-'
                | b'*'
                | b'/'
                | b'<'
                | b'>'
                | b'='
                | b'~'
                | b'!'
                | b'@'
                | b'#'
                | b'%'
                | b'^'
                | b'&'
                | b'|'
        ) {
            class |= OP;
        }
        if matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c) {
            class |= SPACE;
        }
        if matches!(b, b'-' | b'/' | b'*' | b'#') {
            class |= TRIVIA;
        }
        table[i] = class;
        i += 1;
    }
    table
};

#[inline]
fn is(b: u8, class: u8) -> bool {
    CLASS[usize::from(b)] & class != 0
}

fn is_ident_start(b: u8) -> bool {
    is(b, IDENT_START)
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(src: &'a str, flavor: Flavor) -> Self {
        Lexer {
            src: src.as_bytes(),
            pos: 0,
            start: 0,
            end: 0,
            flavor,
            exec_comment: false,
        }
    }

    #[inline]
    fn at(&self, i: usize) -> u8 {
        self.src.get(i).copied().unwrap_or(0)
    }

    /// The input from `i` on (empty past the end).
    #[inline]
    fn rest(&self, i: usize) -> &'a [u8] {
        let src: &'a [u8] = self.src;
        src.get(i..).unwrap_or_default()
    }

    /// The first position at or after `i` whose byte is not in `class` (or the end).
    #[inline]
    fn skip_class(&self, i: usize, class: u8) -> usize {
        let rest = self.rest(i);
        i + rest
            .iter()
            .position(|&b| !is(b, class))
            .unwrap_or(rest.len())
    }

    /// The text of the last token.
    #[inline]
    pub(crate) fn text(&self) -> &'a [u8] {
        let src: &'a [u8] = self.src;
        src.get(self.start..self.end).unwrap_or_default()
    }

    /// The next token's kind ([`Kind::Eof`] at the end, forever); its text is [`Lexer::text`].
    #[inline(always)]
    pub(crate) fn next_token(&mut self) -> Kind {
        self.skip_trivia();
        let start = self.pos;
        self.start = start;
        let Some(&b) = self.src.get(start) else {
            self.end = start;
            return Kind::Eof;
        };
        let kind = match b {
            _ if is(b, IDENT_START) => self.word(),
            b'\'' => {
                let escapes = self.flavor != Flavor::Postgres;
                self.pos = self.string_end(start, escapes, self.flavor == Flavor::Generic);
                Kind::Str
            }
            b'"' if self.flavor == Flavor::Mysql => {
                self.pos = self.string_end(start, true, false);
                Kind::Str
            }
            b'"' | b'`' => return self.quoted_ident(b),
            b'$' => self.dollar(),
            b'0'..=b'9' => {
                self.number();
                Kind::Num
            }
            b'.' if self.at(start + 1).is_ascii_digit() => {
                self.number();
                Kind::Num
            }
            b'.' if self.at(start + 1) == b'.' && self.at(start + 2) == b'.' => {
                self.pos += 3;
                Kind::Ellipsis
            }
            b'.' => self.single(Kind::Dot),
            b'(' => self.single(Kind::LParen),
            b')' => self.single(Kind::RParen),
            b'[' => self.single(Kind::LBracket),
            b']' => self.single(Kind::RBracket),
            b',' => self.single(Kind::Comma),
            b';' => self.single(Kind::Semicolon),
            b':' => self.colon(),
            b'?' => {
                // `?|` and `?&` are PostgreSQL jsonb operators; `?||` is a placeholder and `||`.
                let next = self.at(start + 1);
                if (next == b'|' || next == b'&') && self.at(start + 2) != next {
                    self.pos += 2;
                    Kind::Op
                } else {
                    self.single(Kind::Question)
                }
            }
            b'%' if self.pyformat_end(start).is_some() => {
                self.pos = self.pyformat_end(start).unwrap_or(start + 1);
                Kind::Param
            }
            b'@' if self.flavor != Flavor::Postgres && self.variable_ahead(start) => {
                self.variable();
                Kind::Var
            }
            _ if is(b, OP) => {
                self.operator();
                Kind::Op
            }
            _ => self.single(Kind::Other),
        };
        self.end = self.pos;
        kind
    }

    fn single(&mut self, kind: Kind) -> Kind {
        self.pos += 1;
        kind
    }

    /// Skips whitespace and comments (and the brackets of MySQL executable comments).
    #[inline(always)]
    fn skip_trivia(&mut self) {
        // The common case: one space, then a token that starts no comment.
        if self.at(self.pos) == b' ' {
            self.pos += 1;
        }
        if is(self.at(self.pos), SPACE | TRIVIA) {
            self.skip_more_trivia();
        }
    }

    fn skip_more_trivia(&mut self) {
        loop {
            self.pos = self.skip_class(self.pos, SPACE);
            match (self.at(self.pos), self.at(self.pos + 1)) {
                (b'-', b'-') => self.skip_line(),
                (b'/', b'*') => {
                    if self.at(self.pos + 2) == b'!' && self.flavor != Flavor::Postgres {
                        // `/*!50001 SQL */`: MySQL runs the content; keep it, drop the brackets.
                        self.pos = self.skip_class(self.pos + 3, DIGIT);
                        self.exec_comment = true;
                    } else {
                        self.skip_block_comment();
                    }
                }
                (b'*', b'/') if self.exec_comment => {
                    self.exec_comment = false;
                    self.pos += 2;
                }
                (b'#', next) if self.hash_comment(next) => self.skip_line(),
                _ => return,
            }
        }
    }

    fn hash_comment(&self, next: u8) -> bool {
        match self.flavor {
            Flavor::Mysql => true,
            Flavor::Postgres => false,
            // At the start of a line, unless it begins a PostgreSQL operator (`#>`, `#-`, `##`).
            Flavor::Generic => {
                let before = self.src.get(..self.pos).unwrap_or_default();
                let line_start = before
                    .iter()
                    .rev()
                    .find(|&&b| !is(b, SPACE) || b == b'\n')
                    .is_none_or(|&b| b == b'\n');
                line_start && !matches!(next, b'>' | b'-' | b'#')
            }
        }
    }

    fn skip_line(&mut self) {
        let rest = self.rest(self.pos);
        self.pos += rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
    }

    /// Skips `/* … */`, nested except under [`Flavor::Mysql`]; an unterminated comment runs to
    /// the end.
    fn skip_block_comment(&mut self) {
        let nested = self.flavor != Flavor::Mysql;
        let mut depth = 0usize;
        loop {
            let rest = self.rest(self.pos);
            let Some(at) = rest.iter().position(|&b| b == b'/' || b == b'*') else {
                self.pos = self.src.len();
                return;
            };
            self.pos += at;
            let pair = (self.at(self.pos), self.at(self.pos + 1));
            if pair == (b'/', b'*') {
                depth = if nested { depth + 1 } else { 1 };
                self.pos += 2;
            } else if pair == (b'*', b'/') {
                self.pos += 2;
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return;
                }
            } else {
                self.pos += 1;
            }
        }
    }

    /// The end (exclusive) of the quoted string whose opening quote is at `open`. `''` (or the
    /// doubled quote character) is an escaped quote; with `escapes`, so is a backslash followed
    /// by anything. With `fallback`, a string that runs to the end of input under backslash
    /// escapes is re-read without them (PostgreSQL's `'C:\'` at the end of a statement). An
    /// unterminated string runs to the end.
    #[inline]
    fn string_end(&self, open: usize, escapes: bool, fallback: bool) -> usize {
        match self.scan_string(open, escapes) {
            Some(end) => end,
            None if escapes && fallback => self.scan_string(open, false).unwrap_or(self.src.len()),
            None => self.src.len(),
        }
    }

    /// The end of a terminated string, or `None`.
    fn scan_string(&self, open: usize, escapes: bool) -> Option<usize> {
        let quote = self.at(open);
        let mut i = open + 1;
        loop {
            let rest = self.src.get(i..)?;
            let at = if escapes {
                rest.iter().position(|&b| b == quote || b == b'\\')?
            } else {
                rest.iter().position(|&b| b == quote)?
            };
            let j = i + at;
            if self.at(j) == b'\\' || (self.at(j + 1) == quote && j + 1 < self.src.len()) {
                i = j + 2;
            } else {
                return Some(j + 1);
            }
        }
    }

    fn quoted_ident(&mut self, quote: u8) -> Kind {
        let kind = if quote == b'`' {
            Kind::Backticked
        } else {
            Kind::Quoted
        };
        self.start = self.pos + 1;
        let mut i = self.start;
        loop {
            let rest = self.rest(i);
            let Some(at) = rest.iter().position(|&b| b == quote) else {
                self.pos = self.src.len();
                self.end = self.pos;
                return kind;
            };
            let j = i + at;
            if self.at(j + 1) == quote && j + 1 < self.src.len() {
                i = j + 2;
            } else {
                self.pos = j + 1;
                self.end = j;
                return kind;
            }
        }
    }

    /// `$1` parameters and `$$…$$` / `$tag$…$tag$` strings.
    fn dollar(&mut self) -> Kind {
        let start = self.pos;
        let next = self.at(start + 1);
        if next.is_ascii_digit() {
            self.pos = self.skip_class(start + 1, DIGIT);
            return Kind::Param;
        }
        // The opening tag: `$`, identifier characters without `$`, `$`.
        let mut i = start + 1;
        if next != b'$' {
            if !is_ident_start(next) {
                return self.single(Kind::Other);
            }
            let rest = self.rest(i);
            i += rest
                .iter()
                .position(|&b| !is(b, IDENT) || b == b'$')
                .unwrap_or(rest.len());
            if self.at(i) != b'$' {
                return self.single(Kind::Other);
            }
        }
        let tag = self.src.get(start..=i).unwrap_or_default();
        let body = i + 1;
        self.pos = find(self.rest(body), tag).map_or(self.src.len(), |at| body + at + tag.len());
        Kind::Str
    }

    #[inline(always)]
    fn number(&mut self) {
        let start = self.pos;
        // The common case: plain digits, then something that continues no number.
        let end = self.skip_class(start, DIGIT);
        if end > start
            && !matches!(
                self.at(end),
                b'.' | b'e' | b'E' | b'_' | b'x' | b'X' | b'b' | b'B' | b'o' | b'O'
            )
        {
            self.pos = end;
            return;
        }
        let radix = |p: u8| self.at(start) == b'0' && self.at(start + 1) | 0x20 == p;
        let digits: Option<fn(u8) -> bool> =
            if radix(b'x') && self.at(start + 2).is_ascii_hexdigit() {
                Some(|c| c.is_ascii_hexdigit() || c == b'_')
            } else if radix(b'b') && matches!(self.at(start + 2), b'0' | b'1') {
                Some(|c| matches!(c, b'0' | b'1' | b'_'))
            } else if radix(b'o') && matches!(self.at(start + 2), b'0'..=b'7') {
                Some(|c| matches!(c, b'0'..=b'7' | b'_'))
            } else {
                None
            };
        if let Some(ok) = digits {
            let rest = self.rest(start + 2);
            self.pos = start + 2 + rest.iter().position(|&c| !ok(c)).unwrap_or(rest.len());
            return;
        }
        let src = self.src;
        let decimal = |i: usize| {
            let rest = src.get(i..).unwrap_or_default();
            i + rest
                .iter()
                .position(|&c| !(c.is_ascii_digit() || c == b'_'))
                .unwrap_or(rest.len())
        };
        self.pos = decimal(start);
        if self.at(self.pos) == b'.' && self.at(self.pos + 1) != b'.' {
            self.pos = decimal(self.pos + 1);
        }
        if self.at(self.pos) | 0x20 == b'e' {
            let mut i = self.pos + 1;
            if matches!(self.at(i), b'+' | b'-') {
                i += 1;
            }
            if self.at(i).is_ascii_digit() {
                self.pos = decimal(i);
            }
        }
    }

    /// `::` casts, `:=` assignment, `:name` parameters, and a lone `:`.
    fn colon(&mut self) -> Kind {
        match self.at(self.pos + 1) {
            b':' => {
                self.pos += 2;
                Kind::Cast
            }
            b'=' => {
                self.pos += 2;
                Kind::Op
            }
            c if is_ident_start(c) => {
                self.pos = self.skip_class(self.pos + 1, IDENT);
                Kind::Param
            }
            _ => self.single(Kind::Colon),
        }
    }

    /// The end of a Python DB-API placeholder `%s` or `%(name)s` starting at `at`, if it is one.
    fn pyformat_end(&self, at: usize) -> Option<usize> {
        let end = match self.at(at + 1) {
            b's' => at + 2,
            b'(' => {
                let i = self.skip_class(at + 2, IDENT);
                (i > at + 2 && self.at(i) == b')' && self.at(i + 1) == b's').then_some(i + 2)?
            }
            _ => return None,
        };
        (!is(self.at(end), IDENT)).then_some(end)
    }

    fn variable_ahead(&self, at: usize) -> bool {
        let next = self.at(at + 1);
        is_ident_start(next) || (next == b'@' && is_ident_start(self.at(at + 2)))
    }

    fn variable(&mut self) {
        self.pos += 1;
        if self.at(self.pos) == b'@' {
            self.pos += 1;
        }
        loop {
            self.pos = self.skip_class(self.pos, IDENT);
            if self.at(self.pos) == b'.' && is_ident_start(self.at(self.pos + 1)) {
                self.pos += 1;
            } else {
                return;
            }
        }
    }

    /// A word, or a string with a letter prefix (`E'…'`, `N'…'`, `X'…'`, `B'…'`, `U&'…'`,
    /// MySQL's `_utf8mb4'…'`).
    #[inline(always)]
    fn word(&mut self) -> Kind {
        let start = self.pos;
        let first = self.at(start);
        let next = self.at(start + 1);
        if next == b'\'' && matches!(first | 0x20, b'e' | b'n' | b'x' | b'b') {
            let escapes = first | 0x20 == b'e' || self.flavor != Flavor::Postgres;
            let fallback = first | 0x20 != b'e' && self.flavor == Flavor::Generic;
            self.pos = self.string_end(start + 1, escapes, fallback);
            return Kind::Str;
        }
        if first | 0x20 == b'u' && next == b'&' && self.at(start + 2) == b'\'' {
            self.pos = self.string_end(start + 2, false, false);
            return Kind::Str;
        }
        self.pos = self.skip_class(start + 1, IDENT);
        if first == b'_' && self.at(self.pos) == b'\'' && self.flavor != Flavor::Postgres {
            self.pos = self.string_end(self.pos, true, self.flavor == Flavor::Generic);
            return Kind::Str;
        }
        Kind::Word
    }

    /// A run of operator characters, cut where a comment, a placeholder or a variable begins,
    /// with PostgreSQL's rule for a trailing `+`/`-` (`=-5` is `=` and `-5`), extended to
    /// MySQL's `!=-5`.
    fn operator(&mut self) {
        let start = self.pos;
        let mut i = start + 1;
        while i < self.src.len() && is(self.src[i], OP) {
            let c = self.src[i];
            let next = self.at(i + 1);
            let comment = (c == b'-' && next == b'-')
                || (c == b'/' && next == b'*')
                || (c == b'#' && self.flavor == Flavor::Mysql);
            let placeholder = c == b'%' && self.pyformat_end(i).is_some();
            let variable = c == b'@' && self.flavor != Flavor::Postgres && self.variable_ahead(i);
            if comment || placeholder || variable {
                break;
            }
            i += 1;
        }
        let run = self.src.get(start..i).unwrap_or_default();
        if run.len() > 1 && matches!(run[run.len() - 1], b'+' | b'-') {
            let special =
                |c: &u8| matches!(c, b'~' | b'!' | b'@' | b'#' | b'%' | b'^' | b'&' | b'|');
            let mut keep = run.len();
            if !run.iter().any(special) {
                while keep > 1 && matches!(run[keep - 1], b'+' | b'-') {
                    keep -= 1;
                }
            } else if run.starts_with(b"!=") && run[2..].iter().all(|c| matches!(c, b'+' | b'-')) {
                keep = 2;
            }
            i = start + keep;
        }
        self.pos = i;
    }
}

/// The first position of `needle` in `hay`.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let (&first, tail) = needle.split_first()?;
    let mut from = 0;
    while let Some(at) = hay.get(from..)?.iter().position(|&b| b == first) {
        let i = from + at;
        if hay.get(i + 1..)?.starts_with(tail) {
            return Some(i);
        }
        from = i + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lex(sql: &str, flavor: Flavor) -> Vec<(Kind, &str)> {
        let mut lexer = Lexer::new(sql, flavor);
        let mut out = Vec::new();
        loop {
            let kind = lexer.next_token();
            if kind == Kind::Eof {
                return out;
            }
            out.push((
                kind,
                std::str::from_utf8(lexer.text()).expect("token bounds are char bounds"),
            ));
        }
    }

    fn kinds(sql: &str, flavor: Flavor) -> Vec<Kind> {
        lex(sql, flavor).into_iter().map(|(k, _)| k).collect()
    }

    #[test]
    fn strings_in_every_spelling() {
        use Kind::*;
        let cases = [
            ("'it''s'", vec![(Str, "'it''s'")]),
            ("E'it\\'s' x", vec![(Str, "E'it\\'s'"), (Word, "x")]),
            ("$$a'b$$ x", vec![(Str, "$$a'b$$"), (Word, "x")]),
            ("$fn$ $$ $fn$ x", vec![(Str, "$fn$ $$ $fn$"), (Word, "x")]),
            (
                "N'x' X'0F' B'01' U&'d' _utf8mb4'é'",
                vec![
                    (Str, "N'x'"),
                    (Str, "X'0F'"),
                    (Str, "B'01'"),
                    (Str, "U&'d'"),
                    (Str, "_utf8mb4'é'"),
                ],
            ),
            ("'unterminated", vec![(Str, "'unterminated")]),
        ];
        for (sql, want) in cases {
            assert_eq!(lex(sql, Flavor::Generic), want, "{sql}");
        }
    }

    #[test]
    fn backslashes_depend_on_flavor() {
        // MySQL: `\'` escapes the quote, so the string runs on.
        assert_eq!(
            lex(r"'a\'b' x", Flavor::Mysql),
            vec![(Kind::Str, r"'a\'b'"), (Kind::Word, "x")]
        );
        // PostgreSQL (standard_conforming_strings): the backslash is an ordinary character.
        assert_eq!(
            lex(r"'C:\' x", Flavor::Postgres),
            vec![(Kind::Str, r"'C:\'"), (Kind::Word, "x")]
        );
        // Generic reads MySQL escapes, and falls back when that leaves the string open.
        assert_eq!(
            lex(r"LIKE 'a\_%' ESCAPE '\'", Flavor::Generic).last(),
            Some(&(Kind::Str, r"'\'"))
        );
    }

    #[test]
    fn numbers_params_and_operators() {
        use Kind::*;
        assert_eq!(
            lex("1 1.5 .5 1e10 2.5E-3 0x1F 1_000 x=-5", Flavor::Generic),
            vec![
                (Num, "1"),
                (Num, "1.5"),
                (Num, ".5"),
                (Num, "1e10"),
                (Num, "2.5E-3"),
                (Num, "0x1F"),
                (Num, "1_000"),
                (Word, "x"),
                (Op, "="),
                (Op, "-"),
                (Num, "5"),
            ]
        );
        assert_eq!(
            lex(
                "$1 ? :name %s %(id)s a::int b:=1 j->>'k' j #> p ?| a!=-1",
                Flavor::Generic
            )
            .into_iter()
            .map(|(k, _)| k)
            .collect::<Vec<_>>(),
            vec![
                Param, Question, Param, Param, Param, Word, Cast, Word, Word, Op, Num, Word, Op,
                Str, Word, Op, Word, Op, Word, Op, Op, Num,
            ]
        );
    }

    #[test]
    fn comments_and_hash() {
        use Kind::*;
        assert_eq!(
            kinds("a -- x\n b /* c /* d */ e */ f", Flavor::Generic),
            vec![Word, Word, Word]
        );
        // MySQL comments do not nest: `e */ f` is SQL there.
        assert_eq!(kinds("a /* c /* d */ e", Flavor::Mysql), vec![Word, Word]);
        assert_eq!(kinds("# note\nSELECT 1", Flavor::Generic), vec![Word, Num]);
        assert_eq!(
            kinds("SELECT j #> p", Flavor::Generic),
            vec![Word, Word, Op, Word]
        );
        assert_eq!(kinds("SELECT 1 # note", Flavor::Mysql), vec![Word, Num]);
        assert_eq!(
            kinds("/*!40101 SET x = 1 */", Flavor::Generic),
            vec![Word, Word, Op, Num]
        );
        assert_eq!(kinds("a /* never closed", Flavor::Generic), vec![Word]);
    }

    #[test]
    fn quoted_identifiers() {
        assert_eq!(
            lex("\"My \"\"T\"\"\" `b``q`", Flavor::Generic),
            vec![(Kind::Quoted, "My \"\"T\"\""), (Kind::Backticked, "b``q"),]
        );
        assert_eq!(lex("\"str\"", Flavor::Mysql), vec![(Kind::Str, "\"str\"")]);
    }
}
