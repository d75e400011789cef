//! Text as it may be shown: control characters out, whitespace collapsed, length bounded.

use specline_inventory_model::terminal::is_unsafe_for_terminal;

/// Names longer than this many characters are cut (with `…`) where they are *shown to a model*
/// or turned into sentences; the document still carries the original name in full.
pub const MAX_NAME_CHARS: usize = 300;

/// Replaces control characters (C0, C1, and the bidirectional controls and line separators
/// that [`is_unsafe_for_terminal`] names) with spaces, collapses runs of whitespace, trims,
/// and cuts to `max_chars` characters (adding `…`). Never splits a character.
pub fn clean_text(s: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max_chars.saturating_mul(4)));
    let mut count = 0;
    let mut pending_space = false;
    for c in s.chars() {
        let c = if is_unsafe_for_terminal(c) { ' ' } else { c };
        if c.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if count >= max_chars {
            out.push('…');
            return out;
        }
        if pending_space {
            out.push(' ');
            count += 1;
            pending_space = false;
        }
        out.push(c);
        count += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_text_replaces_controls_and_bounds_length() {
        assert_eq!(clean_text("a\u{0}b\n\tc  ", 100), "a b c");
        assert_eq!(clean_text("abcdef", 3), "abc…");
        assert_eq!(clean_text("한국어테스트", 3), "한국어…");
        assert_eq!(clean_text("\u{7}\u{1b}", 10), "");
        assert_eq!(
            clean_text("ok\u{202e}gnp.exe\u{2066}x", 100),
            "ok gnp.exe x"
        );
    }
}
