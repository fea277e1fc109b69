//! How predictions get back from the network's scaled label space to original units.

/// Maps a value of parameter `param` from the scaled space the network was trained in back to
/// original units (e.g. un-standardise, then `exp` for a log-transformed radius).
///
/// `gampen_data::LabelTransform` implements it; [`Identity`] leaves values alone.
pub trait LabelInverse: Send + Sync {
    /// Original-unit value of a scaled value of parameter `param`.
    fn to_original(&self, param: usize, scaled: f64) -> f64;
}

/// No label transform: predictions are reported in the units the network saw.
#[derive(Clone, Copy, Debug, Default)]
pub struct Identity;

impl LabelInverse for Identity {
    fn to_original(&self, _param: usize, scaled: f64) -> f64 {
        scaled
    }
}

/// `None` is [`Identity`]: a model without a label transform predicts in its own units.
impl<T: LabelInverse> LabelInverse for Option<T> {
    fn to_original(&self, param: usize, scaled: f64) -> f64 {
        self.as_ref()
            .map_or(scaled, |t| t.to_original(param, scaled))
    }
}

impl<T: LabelInverse + ?Sized> LabelInverse for &T {
    fn to_original(&self, param: usize, scaled: f64) -> f64 {
        (**self).to_original(param, scaled)
    }
}

impl LabelInverse for gampen_data::LabelTransform {
    fn to_original(&self, param: usize, scaled: f64) -> f64 {
        let c = &self.columns[param];
        c.transform
            .inverse(scaled * c.scaling.scale + c.scaling.offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Doubles every value, to tell a transform from [`Identity`].
    struct Double;

    impl LabelInverse for Double {
        fn to_original(&self, _param: usize, scaled: f64) -> f64 {
            2.0 * scaled
        }
    }

    #[test]
    fn an_absent_transform_is_the_identity() {
        assert_eq!(None::<Double>.to_original(0, 3.0), 3.0);
        assert_eq!(Some(Double).to_original(0, 3.0), 6.0);
        assert_eq!(Some(&Double).to_original(0, 3.0), 6.0);
    }
}
