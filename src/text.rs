//! Text helpers shared by every module: the one place that shortens untrusted text for messages
//! and the one place that makes it safe to show (terminal, comments, reports).

use std::borrow::Cow;
use std::fmt::Write as _;

/// Largest byte index `<= max` that is on a character boundary of `s` (so slicing never panics).
pub fn floor_char_boundary(s: &str, max: usize) -> usize {
    if s.len() <= max {
        return s.len();
    }
    let mut end = max;
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    end
}

/// At most `max_bytes` bytes of `s`, cut on a character boundary, with `…` appended when cut.
/// Use this (and only this) to quote hostile or long text in messages.
pub fn shorten(s: &str, max_bytes: usize) -> String {
    if s.len() <= max_bytes {
        return s.to_string();
    }
    format!("{}…", &s[..floor_char_boundary(s, max_bytes)])
}

/// Characters that can hide, reorder or break displayed text: controls (C0, DEL, C1: newlines,
/// escape sequences), bidirectional controls (U+061C, U+200E/F, U+202A..U+202E, U+2066..U+2069)
/// and invisible format characters (zero-width space/joiners, word joiner, BOM).
pub fn is_invisible(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}'
        )
}

/// `s` with every [`is_invisible`] character written as a `\u{..}` escape and a backslash as
/// `\\`, so what is shown is one line that says exactly what the input held. Every printer of
/// untrusted text (findings, inspect, admission comments) goes through this.
pub fn visible(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| c == '\\' || is_invisible(c)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c == '\\' {
            out.push_str("\\\\");
        } else if is_invisible(c) {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visible_escapes_controls_bidi_invisible_and_backslash_and_keeps_the_rest() {
        assert_eq!(visible("a\u{1b}[31mred"), "a\\u{1b}[31mred");
        assert_eq!(visible("x\ny"), "x\\u{a}y");
        assert_eq!(visible("evil\u{202e}gpj.exe"), "evil\\u{202e}gpj.exe");
        assert_eq!(
            visible("zero\u{200b}width\u{feff}"),
            "zero\\u{200b}width\\u{feff}"
        );
        assert_eq!(visible("a\\u{41}"), "a\\\\u{41}");
        assert!(matches!(visible("plain é 日本"), Cow::Borrowed(_)));
    }

    #[test]
    fn shorten_cuts_multibyte_text_on_a_char_boundary_without_panicking() {
        let s = "é".repeat(300); // 600 bytes, every odd index inside a character
        for max in 0..=601 {
            let out = shorten(&s, max);
            assert!(out.len() <= max + '…'.len_utf8());
        }
        assert_eq!(shorten(&s, 299), format!("{}…", "é".repeat(149)));
        assert_eq!(shorten("short", 300), "short");
        assert_eq!(shorten("日本語", 4), "日…");
    }
}
