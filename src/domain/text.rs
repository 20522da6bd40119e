//! Small validated strings: names, codes, buildings.

/// A trimmed, non-empty string of at most `max` characters without control characters.
pub fn name(raw: &str, max: usize) -> Result<String, String> {
    let t = raw.trim();
    if t.is_empty() {
        return Err("不能为空".into());
    }
    if t.chars().count() > max {
        return Err(format!("不能超过{max}个字符"));
    }
    if t.chars().any(char::is_control) {
        return Err("含有非法字符".into());
    }
    Ok(t.to_string())
}

/// A code such as a unit code `A-3-1201` or community code `CH01`: letters, digits, `-`, `_`, at
/// most 32 characters.
pub fn code(raw: &str) -> Result<String, String> {
    let t = raw.trim();
    if t.is_empty() || t.len() > 32 || !t.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err("编号只能包含字母、数字、-和_，且不超过32个字符".into());
    }
    Ok(t.to_string())
}

/// A unit code as a public notice may print it: its last two characters masked (`A-3-1201` →
/// `A-3-12**`), so neighbours see that arrears exist in a building without learning whose.
pub fn mask_code(code: &str) -> String {
    let chars: Vec<char> = code.chars().collect();
    let keep = chars.len().saturating_sub(2);
    chars[..keep].iter().collect::<String>() + "**"
}

/// Escapes text for HTML element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(ch),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_public_unit_code_hides_its_last_two_characters() {
        assert_eq!(mask_code("A-3-1201"), "A-3-12**");
        assert_eq!(mask_code("A-1-101"), "A-1-1**");
        assert_eq!(mask_code("7"), "**");
        assert_eq!(mask_code("甲-12"), "甲-**");
    }

    #[test]
    fn names_and_codes() {
        assert_eq!(name("  张三 ", 10).as_deref(), Ok("张三"));
        assert!(name("   ", 10).is_err());
        assert!(name("a\u{0}b", 10).is_err());
        assert!(name("abcdef", 5).is_err());
        assert_eq!(code("A-3-1201").as_deref(), Ok("A-3-1201"));
        assert!(code("A 3").is_err());
        assert!(code("").is_err());
    }
}
