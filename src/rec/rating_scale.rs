//! Rating scales: how a store writes ratings (1–5 stars, half stars, 1–10,
//! thumbs…), and the one mapping of any of them onto the 1–5 stars that the
//! profile, the collaborative model and the evaluation read.
//!
//! A rating `r` on a scale `[min, max]` becomes `1 + 4 · (r − min) / (max − min)`
//! stars: the scale's lowest value is 1 star, its highest 5, its middle 3 (the
//! neutral point of the profile's weight `(stars − 3) / 2`). Thumbs are the
//! scale 0–1 with only its two ends allowed: down is 1 star, up is 5.

use std::fmt;
use std::str::FromStr;

use crate::util::error::{Error, Result};

/// A rating scale. Made by [`RatingScale::range`], [`RatingScale::THUMBS`],
/// [`RatingScale::STARS`] or parsed from text (`"1-5"`, `"0.5-5"`, `"1-10"`,
/// `"thumbs"`); a scale always has finite ends with `min < max`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RatingScale {
    min: f32,
    max: f32,
    /// Only the two ends are ratings (thumbs down / up).
    two_valued: bool,
}

impl Default for RatingScale {
    fn default() -> Self {
        Self::STARS
    }
}

impl RatingScale {
    /// 1–5 stars: the events format's default.
    pub const STARS: Self = Self {
        min: 1.0,
        max: 5.0,
        two_valued: false,
    };

    /// Thumbs: 0 (down) or 1 (up).
    pub const THUMBS: Self = Self {
        min: 0.0,
        max: 1.0,
        two_valued: true,
    };

    /// Any value from `min` to `max` (half stars: 0.5–5; 1–10; 0–100…).
    pub fn range(min: f32, max: f32) -> Result<Self> {
        if !(min.is_finite() && max.is_finite() && min < max) {
            return Err(Error::InvalidInput {
                what: "rating scale",
                reason: format!(
                    "{min}–{max}: the ends must be numbers, the first below the second"
                ),
            });
        }
        Ok(Self {
            min,
            max,
            two_valued: false,
        })
    }

    /// The lowest rating.
    pub fn min(&self) -> f32 {
        self.min
    }

    /// The highest rating.
    pub fn max(&self) -> f32 {
        self.max
    }

    /// `rating` on this scale as 1–5 stars; a value off the scale is an
    /// error naming the scale.
    pub fn to_stars(&self, rating: f32) -> Result<f32> {
        let on_scale = rating.is_finite()
            && if self.two_valued {
                rating == self.min || rating == self.max
            } else {
                (self.min..=self.max).contains(&rating)
            };
        if !on_scale {
            return Err(Error::InvalidInput {
                what: "rating",
                reason: format!("{rating} is not on the {self} scale"),
            });
        }
        Ok(1.0 + 4.0 * (rating - self.min) / (self.max - self.min))
    }
}

impl fmt::Display for RatingScale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.two_valued {
            write!(f, "thumbs ({} or {})", self.min, self.max)
        } else {
            write!(f, "{}–{}", self.min, self.max)
        }
    }
}

impl FromStr for RatingScale {
    type Err = Error;

    /// `thumbs`, or `MIN-MAX` (also with `–` or `..`), e.g. `0.5-5`, `1-10`.
    fn from_str(s: &str) -> Result<Self> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("thumbs") {
            return Ok(Self::THUMBS);
        }
        let bad = || Error::InvalidInput {
            what: "rating scale",
            reason: format!("`{s}` is not `thumbs` or MIN-MAX (e.g. `1-5`, `0.5-5`, `1-10`)"),
        };
        let (a, b) = s
            .split_once("..")
            .or_else(|| s.split_once('–'))
            .or_else(|| s.split_once('-'))
            .ok_or_else(bad)?;
        let (min, max) = (
            a.trim().parse::<f32>().map_err(|_| bad())?,
            b.trim().parse::<f32>().map_err(|_| bad())?,
        );
        Self::range(min, max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scale(s: &str) -> RatingScale {
        s.parse().unwrap()
    }

    #[test]
    fn every_scale_maps_its_ends_and_middle_to_1_3_5_stars() {
        for (s, lo, mid, hi) in [
            ("1-5", 1.0, 3.0, 5.0),
            ("0.5-5", 0.5, 2.75, 5.0),
            ("1-10", 1.0, 5.5, 10.0),
            ("0..100", 0.0, 50.0, 100.0),
        ] {
            let sc = scale(s);
            assert_eq!(sc.to_stars(lo).unwrap(), 1.0, "{s}");
            assert!((sc.to_stars(mid).unwrap() - 3.0).abs() < 1e-6, "{s}");
            assert_eq!(sc.to_stars(hi).unwrap(), 5.0, "{s}");
        }
        assert_eq!(
            scale("1-5").to_stars(4.0).unwrap(),
            4.0,
            "the default scale is the identity"
        );
        assert_eq!(scale("0.5-5").to_stars(4.5).unwrap(), 1.0 + 4.0 * 4.0 / 4.5);
    }

    #[test]
    fn thumbs_are_down_or_up_only() {
        let t = scale("Thumbs");
        assert_eq!(t.to_stars(0.0).unwrap(), 1.0);
        assert_eq!(t.to_stars(1.0).unwrap(), 5.0);
        let err = t.to_stars(0.5).unwrap_err().to_string();
        assert!(
            err.contains("0.5 is not on the thumbs (0 or 1) scale"),
            "{err}"
        );
    }

    #[test]
    fn values_off_the_scale_and_bad_scales_are_clear_errors() {
        let err = RatingScale::STARS.to_stars(0.5).unwrap_err().to_string();
        assert!(err.contains("0.5 is not on the 1–5 scale"), "{err}");
        assert!(scale("1-10").to_stars(f32::NAN).is_err());
        assert!(scale("1-10").to_stars(11.0).is_err());
        for bad in ["5-1", "1", "a-b", "1-inf", "", "3-3"] {
            assert!(bad.parse::<RatingScale>().is_err(), "{bad}");
        }
    }
}
