//! The 26 built-in styles of `multistyle26.onnx`: one style, or a blend given as `index:weight` pairs.
//! Weights are normalised to sum to 1 (the network was trained on convex combinations), so
//! `3:1,19:1` is the same blend as `3:0.5,19:0.5`.

use crate::error::{Error, Result};

/// Styles in `multistyle26.onnx`.
pub const NUM_STYLES: usize = 26;

/// A normalised weight per built-in style: non-negative, summing to 1.
#[derive(Clone, Debug, PartialEq)]
pub struct StyleWeights(Vec<f32>);

/// The message every bad index gets: what the valid indices are.
fn valid_indices() -> String {
    format!(
        "valid styles are 0 to {} (multistyle26.onnx)",
        NUM_STYLES - 1
    )
}

impl StyleWeights {
    /// Style `index` alone.
    ///
    /// # Errors
    /// [`Error::Spec`] naming the index and the valid range.
    pub fn one(index: usize) -> Result<Self> {
        check_index(index)?;
        let mut w = vec![0.0; NUM_STYLES];
        w[index] = 1.0;
        Ok(Self(w))
    }

    /// Normalises 26 weights.
    ///
    /// # Errors
    /// [`Error::Spec`] for another count, a negative or non-finite weight, or all zeros.
    pub fn from_values(values: &[f32]) -> Result<Self> {
        if values.len() != NUM_STYLES {
            return Err(Error::Spec(format!(
                "a style weight list needs {NUM_STYLES} values, {} given",
                values.len()
            )));
        }
        if let Some((i, w)) = values
            .iter()
            .enumerate()
            .find(|(_, w)| !w.is_finite() || **w < 0.0)
        {
            return Err(Error::Spec(format!(
                "style {i} has weight {w}; weights must be numbers >= 0"
            )));
        }
        let total: f32 = values.iter().sum();
        if total <= 0.0 {
            return Err(Error::Spec(
                "style weights are all zero; give at least one positive weight".to_string(),
            ));
        }
        Ok(Self(values.iter().map(|w| w / total).collect()))
    }

    /// Parses a blend `3:0.5,19:0.5` (or a single index `7`; a pair without weight counts 1).
    /// Repeated indices add up. The result is normalised.
    ///
    /// # Errors
    /// [`Error::Spec`] naming the piece that does not parse, an index outside 0..=25 (with the valid
    /// range), or weights that are negative or all zero.
    ///
    /// # Example
    /// ```
    /// use doppel_pipeline::style::StyleWeights;
    /// let w = StyleWeights::parse("3:1,19:3")?;
    /// assert_eq!((w.values()[3], w.values()[19]), (0.25, 0.75));
    /// # Ok::<(), doppel_pipeline::Error>(())
    /// ```
    pub fn parse(text: &str) -> Result<Self> {
        let mut w = vec![0.0f32; NUM_STYLES];
        let mut any = false;
        for piece in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            any = true;
            let (index, weight) = match piece.split_once(':') {
                Some((i, w)) => (i.trim(), Some(w.trim())),
                None => (piece, None),
            };
            let bad = || {
                Error::Spec(format!(
                    "style blend '{text}': '{piece}' is not index:weight (e.g. 3:0.5,19:0.5); {}",
                    valid_indices()
                ))
            };
            let index: usize = index.parse().map_err(|_| bad())?;
            check_index(index)?;
            let weight: f32 = match weight {
                Some(t) => t.parse().map_err(|_| bad())?,
                None => 1.0,
            };
            w[index] += weight;
        }
        if !any {
            return Err(Error::Spec(format!(
                "style blend is empty; expected index:weight pairs such as 3:0.5,19:0.5; {}",
                valid_indices()
            )));
        }
        Self::from_values(&w)
    }

    /// The 26 weights, summing to 1.
    pub fn values(&self) -> &[f32] {
        &self.0
    }

    /// The styles with a weight, as `index:weight` pairs (`3:0.5,19:0.5`).
    pub fn describe(&self) -> String {
        self.0
            .iter()
            .enumerate()
            .filter(|(_, w)| **w > 0.0)
            .map(|(i, w)| format!("{i}:{}", (w * 1000.0).round() / 1000.0))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// Checks a style index.
///
/// # Errors
/// [`Error::Spec`] naming the index and the valid range.
pub fn check_index(index: usize) -> Result<()> {
    if index >= NUM_STYLES {
        return Err(Error::Spec(format!(
            "style {index} does not exist; {}",
            valid_indices()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blends_are_normalised() {
        let w = StyleWeights::parse("3:0.5,19:0.5").unwrap();
        assert_eq!(w, StyleWeights::parse("3:2, 19:2").unwrap());
        assert!((w.values().iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert_eq!(w.describe(), "3:0.5,19:0.5");
        assert_eq!(
            StyleWeights::parse("7").unwrap(),
            StyleWeights::one(7).unwrap()
        );
        let w = StyleWeights::from_values(&[2.0; NUM_STYLES]).unwrap();
        assert!((w.values()[0] - 1.0 / 26.0).abs() < 1e-6);
    }

    #[test]
    fn bad_blends_name_the_problem() {
        let e = StyleWeights::parse("3:0.5,26:0.5").unwrap_err().to_string();
        assert!(e.contains("style 26") && e.contains("0 to 25"), "{e}");
        let e = StyleWeights::parse("3:x").unwrap_err().to_string();
        assert!(e.contains("'3:x'"), "{e}");
        let e = StyleWeights::parse("3:0,4:0").unwrap_err().to_string();
        assert!(e.contains("all zero"), "{e}");
        assert!(StyleWeights::parse("3:-1,4:2").is_err());
        assert!(StyleWeights::parse("").is_err());
        assert!(StyleWeights::from_values(&[1.0; 3]).is_err());
    }
}
