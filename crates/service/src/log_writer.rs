//! The writer under every binary's log: each line it is handed goes out with control
//! characters, bidirectional controls and line breaks escaped.
//!
//! Log lines quote repositories, branches and error messages from repositories. The log
//! formatter escapes ESC, BEL and the C1 controls in field values, but not a carriage return,
//! an embedded line feed or a right-to-left override, which can forge or hide log lines on a
//! terminal or in a file. The formatter hands over one whole line per write, so the line is
//! escaped with [`terminal_safe_except`], keeping the final line feed and, when the output is
//! a terminal, ESC (the formatter's own colours; ESC from a value was escaped already).

use std::io::{self, Write};

use specline_inventory_model::terminal::{is_unsafe_for_terminal, terminal_safe_except};
use tracing_subscriber::fmt::MakeWriter;

/// Makes [`SafeLines`] writers over standard error.
#[derive(Debug, Clone, Copy, Default)]
pub struct SafeStderr {
    /// The formatter writes colours (only to a terminal): ESC is then kept.
    pub ansi: bool,
}

impl<'a> MakeWriter<'a> for SafeStderr {
    type Writer = SafeLines<io::Stderr>;

    fn make_writer(&'a self) -> Self::Writer {
        SafeLines {
            out: io::stderr(),
            keep_escape: self.ansi,
        }
    }
}

/// A writer that escapes each write (one formatted log line) before passing it on.
#[derive(Debug)]
pub struct SafeLines<W> {
    pub out: W,
    /// Leave ESC as it is (the formatter's colours; ESC from a value was escaped already).
    pub keep_escape: bool,
}

impl<W: Write> Write for SafeLines<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let Ok(text) = std::str::from_utf8(buf) else {
            return self.out.write(buf);
        };
        let (line, end) = match text.strip_suffix('\n') {
            Some(line) => (line, "\n"),
            None => (text, ""),
        };
        let keep: &[char] = if self.keep_escape { &['\u{1b}'] } else { &[] };
        let safe = terminal_safe_except(line, keep);
        self.out.write_all(safe.as_bytes())?;
        self.out.write_all(end.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// Makes [`JsonLines`] writers over standard error, for `SPECLINE_LOG_FORMAT=json`.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonStderr;

impl<'a> MakeWriter<'a> for JsonStderr {
    type Writer = JsonLines<io::Stderr>;

    fn make_writer(&'a self) -> Self::Writer {
        JsonLines { out: io::stderr() }
    }
}

/// A writer for JSON log lines: the JSON formatter escapes C0 controls (a line stays one
/// line) but writes C1 controls and bidirectional overrides as they are, which a terminal
/// tailing the log would obey. They can only be inside JSON strings (everything else the
/// formatter writes is ASCII), so each becomes a `\uXXXX` escape and the line stays valid
/// JSON with the same decoded value.
#[derive(Debug)]
pub struct JsonLines<W> {
    pub out: W,
}

impl<W: Write> Write for JsonLines<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let Ok(text) = std::str::from_utf8(buf) else {
            return self.out.write(buf);
        };
        let mut safe = String::with_capacity(text.len());
        for c in text.chars() {
            if c != '\n' && is_unsafe_for_terminal(c) {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    safe.push_str(&format!("\\u{unit:04x}"));
                }
            } else {
                safe.push(c);
            }
        }
        self.out.write_all(safe.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_json_line_keeps_its_end_and_stays_json_with_overrides_escaped() {
        let value = "a\u{202e}b\u{85}c";
        let line = format!("{}\n", serde_json::json!({ "repo": value }));
        let mut out = JsonLines { out: Vec::new() };
        out.write_all(line.as_bytes())
            .unwrap_or_else(|e| panic!("{e}"));
        let text = String::from_utf8_lossy(&out.out).into_owned();
        assert_eq!(text, "{\"repo\":\"a\\u202eb\\u0085c\"}\n");
        assert!(!text.contains('\u{202e}'));
        let back: serde_json::Value =
            serde_json::from_str(text.trim_end()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back["repo"], value);
    }

    #[test]
    fn a_line_is_escaped_but_its_end_and_colours_are_kept() {
        let line = "\u{1b}[32mINFO\u{1b}[0m repo=a\rfake line\nb\u{202e}c\n";
        for (keep_escape, expected) in [
            (
                true,
                "\u{1b}[32mINFO\u{1b}[0m repo=a\\rfake line\\nb\\u{202e}c\n",
            ),
            (
                false,
                "\\u{1b}[32mINFO\\u{1b}[0m repo=a\\rfake line\\nb\\u{202e}c\n",
            ),
        ] {
            let mut out = SafeLines {
                out: Vec::new(),
                keep_escape,
            };
            out.write_all(line.as_bytes())
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(String::from_utf8_lossy(&out.out), expected);
        }
    }
}
