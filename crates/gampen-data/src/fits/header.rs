//! FITS header cards: parsing 80-character records and formatting them for writing.

/// Length of one header card.
pub const CARD: usize = 80;
/// Length of one FITS block (header or data).
pub const BLOCK: usize = 2880;

/// A value of a header keyword.
#[derive(Debug, Clone, PartialEq)]
pub enum HeaderValue {
    /// `T` or `F`.
    Logical(bool),
    /// An integer.
    Integer(i64),
    /// A floating-point number (`E` or `D` exponent).
    Real(f64),
    /// A quoted string, quotes removed and trailing blanks trimmed.
    Text(String),
}

impl HeaderValue {
    /// The value as `f64`, if numeric.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            HeaderValue::Integer(i) => Some(*i as f64),
            HeaderValue::Real(r) => Some(*r),
            _ => None,
        }
    }

    /// The value as `i64`, if an integer.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            HeaderValue::Integer(i) => Some(*i),
            _ => None,
        }
    }
}

/// One `KEYWORD = value / comment` card.
#[derive(Debug, Clone, PartialEq)]
pub struct HeaderCard {
    /// Keyword, at most 8 characters, upper case.
    pub keyword: String,
    /// Value.
    pub value: HeaderValue,
    /// Comment (may be empty).
    pub comment: String,
}

impl HeaderCard {
    /// A card with a numeric value.
    pub fn real(keyword: &str, value: f64, comment: &str) -> Self {
        HeaderCard {
            keyword: keyword.to_string(),
            value: HeaderValue::Real(value),
            comment: comment.to_string(),
        }
    }

    /// A card with an integer value.
    pub fn integer(keyword: &str, value: i64, comment: &str) -> Self {
        HeaderCard {
            keyword: keyword.to_string(),
            value: HeaderValue::Integer(value),
            comment: comment.to_string(),
        }
    }

    /// A card with a string value.
    pub fn text(keyword: &str, value: &str, comment: &str) -> Self {
        HeaderCard {
            keyword: keyword.to_string(),
            value: HeaderValue::Text(value.to_string()),
            comment: comment.to_string(),
        }
    }

    /// Formats the card as exactly 80 ASCII bytes (fixed format for numbers and logicals).
    ///
    /// Returns `None` when the keyword is longer than 8 characters or not ASCII, or the card
    /// does not fit in 80 characters.
    pub fn format(&self) -> Option<String> {
        let key = self.keyword.to_ascii_uppercase();
        if key.len() > 8 || !key.is_ascii() || key.contains(' ') {
            return None;
        }
        let value = match &self.value {
            HeaderValue::Logical(b) => format!("{:>20}", if *b { "T" } else { "F" }),
            HeaderValue::Integer(i) => format!("{i:>20}"),
            HeaderValue::Real(r) if r.is_finite() => format!("{:>20}", format_real(*r)),
            HeaderValue::Real(_) => return None,
            HeaderValue::Text(s) => {
                if !s.is_ascii() {
                    return None;
                }
                format!("'{:<8}'", s.replace('\'', "''"))
            }
        };
        let mut card = format!("{key:<8}= {value}");
        if card.len() > CARD {
            return None;
        }
        if !self.comment.is_empty() && self.comment.is_ascii() {
            card.push_str(" / ");
            card.push_str(&self.comment);
            card.truncate(CARD);
        }
        Some(format!("{card:<CARD$}"))
    }
}

/// Shortest round-tripping representation with an upper-case exponent, always with a `.`
/// or exponent so that FITS readers take it as real.
fn format_real(v: f64) -> String {
    let s = format!("{v:?}").to_ascii_uppercase();
    if s.contains('.') || s.contains('E') {
        s
    } else {
        format!("{s}.0")
    }
}

/// Parses one 80-byte card. Returns `None` for commentary cards (COMMENT, HISTORY, blank)
/// and cards without a value indicator; `Err` with a one-line reason for a card of another
/// length, non-ASCII bytes, a control character in the keyword or value indicator, and
/// malformed values.
pub fn parse_card(card: &[u8]) -> Result<Option<(String, HeaderValue)>, String> {
    if card.len() != CARD {
        return Err(format!("header card of {} bytes (not {CARD})", card.len()));
    }
    if let Some(col) = card.iter().position(|b| !b.is_ascii()) {
        return Err(format!(
            "header card is not ASCII (byte 0x{:02X} in column {})",
            card[col],
            col + 1
        ));
    }
    // The keyword ends up in error messages: a control character there would break them
    // (and the standard allows none).
    if let Some(col) = card[..10].iter().position(|b| !(b' '..=b'~').contains(b)) {
        return Err(format!(
            "control byte 0x{:02X} in the keyword of a header card (column {})",
            card[col],
            col + 1
        ));
    }
    let text = std::str::from_utf8(card).map_err(|_| "header card is not ASCII".to_string())?;
    let keyword = text[..8].trim_end().to_string();
    if &text[8..10] != "= " {
        return Ok(None);
    }
    let raw = text[10..].trim_start();
    let value = if let Some(rest) = raw.strip_prefix('\'') {
        let mut out = String::new();
        let mut chars = rest.chars().peekable();
        let mut closed = false;
        while let Some(c) = chars.next() {
            if c == '\'' {
                if chars.peek() == Some(&'\'') {
                    out.push('\'');
                    chars.next();
                } else {
                    closed = true;
                    break;
                }
            } else {
                out.push(c);
            }
        }
        if !closed {
            return Err(format!("unterminated string in card {keyword:?}"));
        }
        HeaderValue::Text(out.trim_end().to_string())
    } else {
        let v = raw.split('/').next().unwrap_or("").trim();
        match v {
            "T" => HeaderValue::Logical(true),
            "F" => HeaderValue::Logical(false),
            "" => return Ok(None),
            _ => {
                if let Ok(i) = v.parse::<i64>() {
                    HeaderValue::Integer(i)
                } else if let Ok(r) = v.replace(['D', 'd'], "E").parse::<f64>() {
                    HeaderValue::Real(r)
                } else {
                    // Complex values and other rarities: not needed for images.
                    return Ok(None);
                }
            }
        }
    };
    Ok(Some((keyword, value)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_parse_round_trip() {
        for card in [
            HeaderCard::real("PIXSCALE", 0.168, "arcsec per pixel"),
            HeaderCard::integer("NAXIS1", 64, ""),
            HeaderCard::text("OBJECT", "gal'0001", "name"),
            HeaderCard::real("BZERO", 32768.0, ""),
            HeaderCard::real("TINY", 1.5e-30, ""),
        ] {
            let s = card.format().unwrap();
            assert_eq!(s.len(), 80);
            let (k, v) = parse_card(s.as_bytes()).unwrap().unwrap();
            assert_eq!(k, card.keyword);
            assert_eq!(v, card.value, "{s}");
        }
    }

    #[test]
    fn parses_d_exponent_and_comments() {
        let card = format!("{:<80}", "BSCALE  =               1.5D-1 / scale");
        let (_, v) = parse_card(card.as_bytes()).unwrap().unwrap();
        assert_eq!(v, HeaderValue::Real(0.15));
        let card = format!("{:<80}", "COMMENT hello");
        assert_eq!(parse_card(card.as_bytes()).unwrap(), None);
    }
}
