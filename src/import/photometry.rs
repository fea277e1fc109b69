//! Magnitudes from fluxes, in the standard convention and in the one GaMPEN's catalogues use.

/// HSC's photometric zero point: `mag = -2.5 log10(flux / ADU) + 27`.
pub const HSC_ZERO_POINT: f64 = 27.0;

/// The coefficient GaMPEN's `result_aggregator.py` (`unscale_preds`) uses in place of 2.5:
/// Pogson's ratio `10^0.4 = 2.512` rounded, taken as the coefficient. For fluxes above 1 ADU
/// its catalogue magnitudes are therefore smaller (brighter) than standard ones by
/// `0.012 log10(flux)` (0.048 mag at `flux = 10^4` ADU). Kept only to reproduce those
/// catalogues.
pub const GAMPEN_MAGNITUDE_COEFFICIENT: f64 = 2.512;

/// AB magnitude of a flux in ADU for a zero point (e.g. [`HSC_ZERO_POINT`]):
/// `-2.5 log10(flux) + zero_point`.
///
/// GaMPEN's own catalogues use [`gampen_catalogue_magnitude`] instead.
pub fn flux_to_magnitude(flux: f64, zero_point: f64) -> f64 {
    -2.5 * flux.log10() + zero_point
}

/// The total magnitude as GaMPEN's catalogues give it: `-2.512 log10(flux) + 27` (see
/// [`GAMPEN_MAGNITUDE_COEFFICIENT`]).
pub fn gampen_catalogue_magnitude(flux: f64) -> f64 {
    -GAMPEN_MAGNITUDE_COEFFICIENT * flux.log10() + HSC_ZERO_POINT
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gampen_magnitudes_differ_by_the_documented_amount() {
        let flux = 1e4;
        assert!((flux_to_magnitude(flux, HSC_ZERO_POINT) - 17.0).abs() < 1e-12);
        let diff = flux_to_magnitude(flux, HSC_ZERO_POINT) - gampen_catalogue_magnitude(flux);
        assert!((diff - 0.048).abs() < 1e-12, "{diff}");
    }
}
