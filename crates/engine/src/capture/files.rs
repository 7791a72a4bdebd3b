//! Reading log files into capture events: a buffered line reader (files of any size, one line in
//! memory at a time, lines capped so a binary file cannot exhaust memory), format detection from
//! the first lines, and a progress callback (bytes read of the total) for progress bars.
//!
//! Reading is blocking `std::fs` I/O; async callers run it on `tokio::task::spawn_blocking`.

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use persona_core::capture::{LogFormat, LogOptions, ParseReport, Tally, Warning, detect_format};
use persona_core::model::CaptureEvent;

/// Bytes read for format detection.
const DETECT_BYTES: usize = 64 * 1024;
/// Lines read for format detection.
const DETECT_LINES: usize = 200;
/// Progress is reported at least every this many bytes.
const PROGRESS_STEP: u64 = 1024 * 1024;
/// Bytes a line may exceed the entry limit by (a log line prefix, CSV columns) before it is cut.
const LINE_SLACK: usize = 8 * 1024;
/// Read buffer size.
const BUFFER_BYTES: usize = 256 * 1024;

/// How far reading has got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub bytes_read: u64,
    /// Size of the input when known (a file; not a pipe).
    pub total_bytes: Option<u64>,
}

impl Progress {
    /// Fraction done in `0.0..=1.0`, when the total is known.
    pub fn fraction(&self) -> Option<f64> {
        self.total_bytes.map(|t| {
            if t == 0 {
                1.0
            } else {
                (self.bytes_read as f64 / t as f64).min(1.0)
            }
        })
    }
}

/// What reading a log produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogReadReport {
    /// The file read (`None` for a reader).
    pub path: Option<PathBuf>,
    pub format: LogFormat,
    /// Whether the format was detected from the content rather than given.
    pub format_detected: bool,
    /// The PostgreSQL `log_line_prefix` used (given or detected), for `pg-stderr`.
    pub log_line_prefix: Option<String>,
    pub bytes: u64,
    /// Lines, events, skips and warnings (including invalid UTF-8 and overlong lines).
    pub parse: ParseReport,
}

impl fmt::Display for LogReadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(path) = &self.path {
            write!(f, "{}: ", path.display())?;
        }
        write!(f, "{}", self.format)?;
        if self.format_detected {
            f.write_str(" (detected)")?;
        }
        if let Some(prefix) = &self.log_line_prefix {
            write!(f, ", log_line_prefix '{prefix}'")?;
        } else if self.format == LogFormat::PgStderr {
            f.write_str(", log_line_prefix not recognized (fields found heuristically)")?;
        }
        let p = &self.parse;
        write!(
            f,
            "; {} lines, {} bytes, {} events",
            p.lines, self.bytes, p.events
        )?;
        for (title, counts) in [
            (
                "skipped",
                p.skipped
                    .counts
                    .iter()
                    .map(|(r, n)| (r.describe(), *n))
                    .collect::<Vec<_>>(),
            ),
            (
                "warnings",
                p.warnings
                    .counts
                    .iter()
                    .map(|(r, n)| (r.describe(), *n))
                    .collect(),
            ),
        ] {
            if !counts.is_empty() {
                let total: u64 = counts.iter().map(|(_, n)| n).sum();
                write!(f, "\n  {title} {total}:")?;
                for (what, n) in counts {
                    write!(f, "\n    {n:>8}  {what}")?;
                }
            }
        }
        Ok(())
    }
}

/// Why a log could not be read at all (bad lines never fail a read; they are reported).
#[derive(Debug, thiserror::Error)]
pub enum LogReadError {
    #[error("cannot open {path}: {source}")]
    Open { path: PathBuf, source: io::Error },
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error(
        "cannot tell the format of {path} from its first lines; give it (pg-stderr, pg-csv, mysql-slow or jsonl)"
    )]
    UnknownFormat { path: PathBuf },
}

fn display_path(path: Option<&Path>) -> PathBuf {
    path.map_or_else(|| PathBuf::from("<input>"), Path::to_path_buf)
}

/// Guess a file's format from its first lines. `Ok(None)` when nothing there looks familiar.
pub fn detect_file_format(path: &Path) -> Result<Option<LogFormat>, LogReadError> {
    let file = File::open(path).map_err(|source| LogReadError::Open {
        path: path.to_path_buf(),
        source,
    })?;
    let mut head = Vec::new();
    file.take(DETECT_BYTES as u64)
        .read_to_end(&mut head)
        .map_err(|source| LogReadError::Read {
            path: path.to_path_buf(),
            source,
        })?;
    let text = String::from_utf8_lossy(&head);
    let lines: Vec<&str> = text.lines().take(DETECT_LINES).collect();
    Ok(detect_format(&lines))
}

/// Read a whole log into memory. `format: None` detects it from the content.
pub fn read_log(
    path: &Path,
    format: Option<LogFormat>,
    options: &LogOptions,
) -> Result<(Vec<CaptureEvent>, LogReadReport), LogReadError> {
    let mut events = Vec::new();
    let report = read_log_with(path, format, options, |e| events.push(e), |_| {})?;
    Ok((events, report))
}

/// Stream a log: `on_event` receives each event as it is completed, `on_progress` is called
/// every megabyte and at the end. `format: None` detects it from the content.
pub fn read_log_with(
    path: &Path,
    format: Option<LogFormat>,
    options: &LogOptions,
    on_event: impl FnMut(CaptureEvent),
    on_progress: impl FnMut(Progress),
) -> Result<LogReadReport, LogReadError> {
    let (format, detected) = match format {
        Some(f) => (f, false),
        None => match detect_file_format(path)? {
            Some(f) => (f, true),
            None => {
                return Err(LogReadError::UnknownFormat {
                    path: path.to_path_buf(),
                });
            }
        },
    };
    let file = File::open(path).map_err(|source| LogReadError::Open {
        path: path.to_path_buf(),
        source,
    })?;
    let total = file.metadata().ok().map(|m| m.len());
    let reader = BufReader::with_capacity(BUFFER_BYTES, file);
    let mut report = read(
        reader,
        Some(path),
        total,
        format,
        options,
        on_event,
        on_progress,
    )?;
    report.format_detected = detected;
    Ok(report)
}

/// Stream a log from any reader (standard input, a decompressor) in a known format.
pub fn read_log_from<R: BufRead>(
    reader: R,
    total_bytes: Option<u64>,
    format: LogFormat,
    options: &LogOptions,
    on_event: impl FnMut(CaptureEvent),
    on_progress: impl FnMut(Progress),
) -> Result<LogReadReport, LogReadError> {
    read(
        reader,
        None,
        total_bytes,
        format,
        options,
        on_event,
        on_progress,
    )
}

fn read<R: BufRead>(
    mut reader: R,
    path: Option<&Path>,
    total_bytes: Option<u64>,
    format: LogFormat,
    options: &LogOptions,
    mut on_event: impl FnMut(CaptureEvent),
    mut on_progress: impl FnMut(Progress),
) -> Result<LogReadReport, LogReadError> {
    let mut parser = format.parser(options);
    // Longer lines are cut past the entry limit plus room for a prefix, so that what is left
    // of them is still too large and the parser skips the entry they start.
    let line_cap = options.max_entry_bytes.saturating_add(LINE_SLACK);
    let mut io_warnings: Tally<Warning> = Tally::new(options.max_examples);
    let mut buf = Vec::new();
    let mut out = Vec::new();
    let mut bytes = 0u64;
    let mut last_progress = 0u64;
    let mut line_no = 0u64;
    loop {
        buf.clear();
        let (consumed, overlong) =
            read_line_capped(&mut reader, &mut buf, line_cap).map_err(|source| {
                LogReadError::Read {
                    path: display_path(path),
                    source,
                }
            })?;
        if consumed == 0 {
            break;
        }
        bytes += consumed as u64;
        line_no += 1;
        if buf.last() == Some(&b'\n') {
            buf.pop();
            if buf.last() == Some(&b'\r') {
                buf.pop();
            }
        }
        let line = String::from_utf8_lossy(&buf);
        if matches!(line, std::borrow::Cow::Owned(_)) {
            io_warnings.add(line_no, Warning::InvalidUtf8, &line);
        }
        if overlong {
            io_warnings.add(line_no, Warning::LineTooLong, &line);
        }
        parser.feed(&line, &mut out);
        for event in out.drain(..) {
            on_event(event);
        }
        if bytes - last_progress >= PROGRESS_STEP {
            last_progress = bytes;
            on_progress(Progress {
                bytes_read: bytes,
                total_bytes,
            });
        }
    }
    parser.finish(&mut out);
    for event in out.drain(..) {
        on_event(event);
    }
    on_progress(Progress {
        bytes_read: bytes,
        total_bytes,
    });
    let mut parse = parser.report().clone();
    parse.warnings.absorb(&io_warnings);
    Ok(LogReadReport {
        path: path.map(Path::to_path_buf),
        format,
        format_detected: false,
        log_line_prefix: parser.log_line_prefix().map(str::to_owned),
        bytes,
        parse,
    })
}

/// Read one line (with its `\n`) into `buf`, keeping at most `cap` bytes of it and discarding
/// the rest. Returns the bytes consumed (0 at the end of input) and whether the line was cut.
fn read_line_capped<R: BufRead>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    cap: usize,
) -> io::Result<(usize, bool)> {
    let mut consumed = 0;
    let mut overlong = false;
    loop {
        let available = match reader.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok((consumed, overlong));
        }
        let (chunk, done) = match available.iter().position(|&b| b == b'\n') {
            Some(i) => (&available[..=i], true),
            None => (available, false),
        };
        let room = cap.saturating_sub(buf.len());
        if chunk.len() > room {
            overlong = true;
            buf.extend_from_slice(&chunk[..room]);
        } else {
            buf.extend_from_slice(chunk);
        }
        let n = chunk.len();
        consumed += n;
        reader.consume(n);
        if done {
            if overlong && buf.last() != Some(&b'\n') {
                // Cut lines still end where they ended, for the caller's newline handling.
                buf.push(b'\n');
            }
            return Ok((consumed, overlong));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capped_lines_and_line_endings() {
        let data = b"short\r\nabcdefghij\nlast";
        let mut r = io::Cursor::new(&data[..]);
        let mut buf = Vec::new();
        assert_eq!(read_line_capped(&mut r, &mut buf, 4).unwrap(), (7, true));
        assert_eq!(buf, b"shor\n");
        buf.clear();
        assert_eq!(
            read_line_capped(&mut r, &mut buf, 100).unwrap(),
            (11, false)
        );
        assert_eq!(buf, b"abcdefghij\n");
        buf.clear();
        assert_eq!(read_line_capped(&mut r, &mut buf, 100).unwrap(), (4, false));
        assert_eq!(buf, b"last");
        buf.clear();
        assert_eq!(read_line_capped(&mut r, &mut buf, 100).unwrap(), (0, false));
    }

    #[test]
    fn progress_fraction() {
        assert_eq!(
            Progress {
                bytes_read: 5,
                total_bytes: Some(10)
            }
            .fraction(),
            Some(0.5)
        );
        assert_eq!(
            Progress {
                bytes_read: 0,
                total_bytes: Some(0)
            }
            .fraction(),
            Some(1.0)
        );
        assert_eq!(
            Progress {
                bytes_read: 5,
                total_bytes: None
            }
            .fraction(),
            None
        );
    }
}
