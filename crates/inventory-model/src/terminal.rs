//! Text from a repository, made safe to print to a terminal.
//!
//! Test names, file paths, suite names, branch names and error messages come from the
//! repository, which is hostile: a name holding `ESC [ 2 J` clears the operator's screen, one
//! holding `ESC ] 52` writes their clipboard, a carriage return overwrites what was printed
//! before it, and a right-to-left override (U+202E) makes `test_ok` + U+202E + `gnp.exe` read as
//! `test_okexe.png`. Every human-readable printer (tree and summary output, the Markdown
//! document, the operator commands, error messages) passes such text through
//! [`terminal_safe`]; machine formats (JSON) escape on their own and keep names exact.
//!
//! The characters are escaped, not dropped, so that two names differing only in them stay
//! different on screen and the reader can see that something was there.

use std::borrow::Cow;
use std::fmt::Write as _;

/// True for a character that changes how a terminal shows the text around it: the C0 and
/// C1 control characters (ESC, CSI, CR, BEL, BS, …, DEL), the Unicode bidirectional controls
/// and the line and paragraph separators.
pub fn is_unsafe_for_terminal(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}'               // Arabic letter mark
                | '\u{200E}'         // left-to-right mark
                | '\u{200F}'         // right-to-left mark
                | '\u{202A}'..='\u{202E}' // embeddings and overrides
                | '\u{2066}'..='\u{2069}' // isolates
                | '\u{2028}'         // line separator
                | '\u{2029}' // paragraph separator
        )
}

/// `text` with every [character unsafe for a terminal](is_unsafe_for_terminal) written as a
/// visible escape (`\n`, `\r`, `\t`, or `\u{1b}`); borrowed when there is none.
pub fn terminal_safe(text: &str) -> Cow<'_, str> {
    terminal_safe_except(text, &[])
}

/// [`terminal_safe`], leaving the characters of `keep` as they are: for text whose writer
/// already escaped them in the parts that came from outside (a log line, whose formatter
/// escapes ESC in field values and writes ESC itself only for its colours).
pub fn terminal_safe_except<'a>(text: &'a str, keep: &[char]) -> Cow<'a, str> {
    let escape = |c: char| is_unsafe_for_terminal(c) && !keep.contains(&c);
    if !text.chars().any(escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            c if !escape(c) => out.push(c),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_and_bidi_characters_become_visible_escapes() {
        assert_eq!(
            terminal_safe("a\u{1b}[2Jb\rc\u{7}d\u{202e}e\u{9b}f\u{7f}"),
            "a\\u{1b}[2Jb\\rc\\u{7}d\\u{202e}e\\u{9b}f\\u{7f}"
        );
        assert_eq!(terminal_safe("line\nnext\ttab"), "line\\nnext\\ttab");
        assert!(matches!(
            terminal_safe("plain ünïcode 名前 ✓"),
            Cow::Borrowed(_)
        ));
        for c in ['\u{2066}', '\u{2069}', '\u{200f}', '\u{61c}', '\u{2028}'] {
            assert!(is_unsafe_for_terminal(c), "{c:?}");
        }
        for c in ['a', 'é', '名', '\u{200d}', ' '] {
            assert!(!is_unsafe_for_terminal(c), "{c:?}");
        }
    }
}
