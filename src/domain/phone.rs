//! Mainland mobile numbers: the only personal identifier owners are matched by.
use std::fmt;

/// An 11-digit mainland mobile number (`1[3-9]xxxxxxxxx`). Its `Debug` is masked, so it cannot
/// leak into logs by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    /// Accepts digits with optional spaces/dashes and an optional `+86`/`86` prefix.
    pub fn parse(raw: &str) -> Result<Phone, &'static str> {
        let mut digits: String = raw.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        if let Some(rest) = digits.strip_prefix("+86") {
            digits = rest.to_string();
        } else if digits.len() == 13 && digits.starts_with("86") {
            digits = digits[2..].to_string();
        }
        let b = digits.as_bytes();
        let ok = b.len() == 11 && b.iter().all(u8::is_ascii_digit) && b[0] == b'1' && (b'3'..=b'9').contains(&b[1]);
        if ok {
            Ok(Phone(digits))
        } else {
            Err("手机号格式不正确，应为11位大陆手机号")
        }
    }

    /// The full number: only for encryption, the blind index and a recorded reveal.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `138****0001`: how a phone appears in answers and logs.
    pub fn masked(&self) -> String {
        mask(&self.0)
    }
}

/// Masks any phone-like string, keeping the first three and last four characters.
pub fn mask(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    if chars.len() < 8 {
        return "****".into();
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}****{tail}")
}

impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Phone({})", self.masked())
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn parses_and_masks() {
        let p = Phone::parse("+86 138-0000-0001").unwrap();
        assert_eq!(p.expose(), "13800000001");
        assert_eq!(p.masked(), "138****0001");
        assert_eq!(format!("{p:?} {p}"), "Phone(138****0001) 138****0001");
    }

    #[test]
    fn rejects_non_mobiles() {
        for bad in [
            "",
            "1380000000",
            "23800000001",
            "12800000001",
            "1380000000a",
            "138000000011",
        ] {
            assert!(Phone::parse(bad).is_err(), "{bad}");
        }
    }
}
