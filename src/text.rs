//! Text helpers shared by every module: the one place that shortens untrusted text for messages.

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

#[cfg(test)]
mod tests {
    use super::*;

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
