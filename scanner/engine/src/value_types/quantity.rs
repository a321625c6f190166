//! Kubernetes resource quantities (`100Mi`, `0.5`, `250m`, `1e3`): parsing into
//! a number that compares and adds, and formatting back in the canonical form
//! `resource.Quantity` prints. Patterns, conditions and JMESPath arithmetic
//! all compare quantities through here so they agree with each other.

use std::fmt;

/// How a quantity was written; formatting keeps the family of its suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum QuantityFormat {
    /// Ki, Mi, Gi, Ti, Pi, Ei
    BinarySi,
    /// n, u, m, (none), k, M, G, T, P, E
    DecimalSi,
    /// 1e3, 2E-3
    DecimalExponent,
}

/// A parsed quantity. The value is held as f64: exact for every integer below
/// 2^53 and for the fractions manifests use, which is what comparisons need.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Quantity {
    pub(crate) value: f64,
    pub(crate) format: QuantityFormat,
}

const BINARY_SUFFIXES: [(&str, i32); 6] = [
    ("Ki", 10),
    ("Mi", 20),
    ("Gi", 30),
    ("Ti", 40),
    ("Pi", 50),
    ("Ei", 60),
];

const DECIMAL_SUFFIXES: [(&str, i32); 10] = [
    ("n", -9),
    ("u", -6),
    ("m", -3),
    ("", 0),
    ("k", 3),
    ("M", 6),
    ("G", 9),
    ("T", 12),
    ("P", 15),
    ("E", 18),
];

impl Quantity {
    pub(crate) fn new(value: f64, format: QuantityFormat) -> Self {
        Quantity { value, format }
    }

    /// Parses a quantity the way `resource.ParseQuantity` does; `None` when
    /// the text is not a quantity (so callers can fall back to strings).
    pub(crate) fn parse(text: &str) -> Option<Quantity> {
        let text = text.trim();
        if text.is_empty() {
            return None;
        }
        let number_end = text
            .char_indices()
            .find(|(i, c)| {
                !(c.is_ascii_digit() || *c == '.' || ((*c == '+' || *c == '-') && *i == 0))
            })
            .map(|(i, _)| i)
            .unwrap_or(text.len());
        let (number, suffix) = text.split_at(number_end);
        if number.is_empty() || number == "+" || number == "-" || number == "." {
            return None;
        }
        if number.matches('.').count() > 1 || !number.chars().any(|c| c.is_ascii_digit()) {
            return None;
        }
        let mantissa: f64 = number.parse().ok()?;
        if let Some((_, bits)) = BINARY_SUFFIXES.iter().find(|(s, _)| *s == suffix) {
            return Some(Quantity::new(
                mantissa * 2f64.powi(*bits),
                QuantityFormat::BinarySi,
            ));
        }
        if let Some((_, exp)) = DECIMAL_SUFFIXES.iter().find(|(s, _)| *s == suffix) {
            return Some(Quantity::new(
                mantissa * 10f64.powi(*exp),
                QuantityFormat::DecimalSi,
            ));
        }
        let exponent = suffix
            .strip_prefix('e')
            .or_else(|| suffix.strip_prefix('E'))?;
        let exponent: i32 = exponent.parse().ok()?;
        Some(Quantity::new(
            mantissa * 10f64.powi(exponent),
            QuantityFormat::DecimalExponent,
        ))
    }

    /// The decimal scale `resource.Quantity` gives `text` (digits after the
    /// point once the suffix is applied: "100m" is 3, "1.5" is 1, "1k" is
    /// -3, binary suffixes add none); Kubernetes rounds quotients to it.
    /// `None` when the text is not a quantity.
    pub(crate) fn decimal_scale(text: &str) -> Option<i32> {
        Quantity::parse(text)?;
        let text = text.trim();
        let number_end = text
            .char_indices()
            .find(|(i, c)| {
                !(c.is_ascii_digit() || *c == '.' || ((*c == '+' || *c == '-') && *i == 0))
            })
            .map(|(i, _)| i)
            .unwrap_or(text.len());
        let (number, suffix) = text.split_at(number_end);
        let fraction_digits = number
            .split_once('.')
            .map(|(_, fraction)| fraction.len() as i32)
            .unwrap_or(0);
        let exponent = if BINARY_SUFFIXES.iter().any(|(s, _)| *s == suffix) {
            0
        } else if let Some((_, exp)) = DECIMAL_SUFFIXES.iter().find(|(s, _)| *s == suffix) {
            *exp
        } else {
            suffix.get(1..)?.parse::<i32>().ok()?
        };
        Some(fraction_digits - exponent)
    }

    /// The canonical text Kubernetes would print for this value and format.
    pub(crate) fn canonical(&self) -> String {
        let value = self.value;
        if value == 0.0 {
            return "0".to_string();
        }
        if self.format == QuantityFormat::BinarySi && value.fract() == 0.0 && value.abs() >= 1024.0
        {
            let mut chosen: Option<(&str, i32)> = None;
            for (suffix, bits) in BINARY_SUFFIXES {
                let scaled = value / 2f64.powi(bits);
                if scaled.fract() == 0.0 {
                    chosen = Some((suffix, bits));
                }
            }
            if let Some((suffix, bits)) = chosen {
                return format!("{}{}", format_integer(value / 2f64.powi(bits)), suffix);
            }
        }
        if self.format == QuantityFormat::BinarySi && value.fract() == 0.0 {
            return format_integer(value);
        }
        // Decimal forms: the largest power of 1000 that leaves an integer mantissa.
        let mut best = None;
        for (suffix, exp) in DECIMAL_SUFFIXES {
            let scaled = value / 10f64.powi(exp);
            if scaled.round() != 0.0 && (scaled - scaled.round()).abs() <= 1e-9 * scaled.abs() {
                best = Some((suffix, exp, scaled.round()));
            }
        }
        match best {
            Some((suffix, exp, mantissa)) => {
                if self.format == QuantityFormat::DecimalExponent {
                    if exp == 0 {
                        format_integer(mantissa)
                    } else {
                        format!("{}e{}", format_integer(mantissa), exp)
                    }
                } else {
                    format!("{}{}", format_integer(mantissa), suffix)
                }
            }
            // Smaller than a nano: Kubernetes rounds up to 1n.
            None => "1n".to_string(),
        }
    }
}

fn format_integer(value: f64) -> String {
    format!("{}", value as i128)
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.canonical())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(text: &str) -> f64 {
        Quantity::parse(text).map(|q| q.value).unwrap_or(f64::NAN)
    }

    #[test]
    fn parses_binary_decimal_and_exponent_forms() {
        assert_eq!(q("1Ki"), 1024.0);
        assert_eq!(q("100Mi"), 100.0 * 1024.0 * 1024.0);
        assert_eq!(q("250m"), 0.25);
        assert_eq!(q("2"), 2.0);
        assert_eq!(q("1.5"), 1.5);
        assert_eq!(q("1e3"), 1000.0);
        assert_eq!(q("1k"), 1000.0);
        assert_eq!(q("-2Gi"), -2.0 * 1024f64.powi(3));
    }

    #[test]
    fn rejects_non_quantities() {
        for text in ["", "abc", "1x", "Mi", "1.2.3", "--1", "1 Mi", "."] {
            assert!(Quantity::parse(text).is_none(), "{text} parsed");
        }
    }

    #[test]
    fn decimal_scales_follow_the_suffix() {
        assert_eq!(Quantity::decimal_scale("100m"), Some(3));
        assert_eq!(Quantity::decimal_scale("1.5"), Some(1));
        assert_eq!(Quantity::decimal_scale("1k"), Some(-3));
        assert_eq!(Quantity::decimal_scale("1.5Gi"), Some(1));
        assert_eq!(Quantity::decimal_scale("2e-3"), Some(3));
        assert_eq!(Quantity::decimal_scale("abc"), None);
    }

    #[test]
    fn formats_canonically() {
        let canon = |s: &str| {
            Quantity::parse(s)
                .map(|q| q.canonical())
                .unwrap_or_default()
        };
        assert_eq!(canon("1024Mi"), "1Gi");
        assert_eq!(canon("1536Mi"), "1536Mi");
        assert_eq!(canon("0.5"), "500m");
        assert_eq!(canon("1500"), "1500");
        assert_eq!(canon("2000"), "2k");
        assert_eq!(canon("100"), "100");
        assert_eq!(canon("1e3"), "1e3");
        assert_eq!(canon("0"), "0");
        assert_eq!(
            Quantity::new(512.0, QuantityFormat::BinarySi).canonical(),
            "512"
        );
    }
}
