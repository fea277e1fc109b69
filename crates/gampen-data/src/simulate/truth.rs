//! Ground truth of a simulated galaxy: one row of `info.csv`.

use serde::{Deserialize, Serialize};

/// The true parameters of one simulated galaxy, as written to `info.csv` (columns in this
/// order). Radii are half-light radii in arcsec; position angles in degrees
/// counter-clockwise from the +x (column) axis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Truth {
    /// Cutout file, relative to `cutouts/`.
    pub file_name: String,
    /// Index of the galaxy in the simulation.
    pub object_id: u64,
    /// Total flux of bulge + disk, ADU, integrated to infinity (before PSF and noise).
    pub total_flux: f64,
    /// `-2.5 log10(total_flux) + zero_point`.
    pub magnitude: f64,
    /// Bulge-to-total flux ratio.
    pub bt: f64,
    /// Effective radius of the total light: radius of the circle, centred on the galaxy,
    /// that holds half of the bulge + disk light (PSF-free, untruncated), arcsec. For round
    /// single components it equals their `r_e`; for flattened ones it is the circular
    /// aperture radius, not the semi-major axis.
    pub r_e: f64,
    /// Bulge flux, ADU.
    pub bulge_flux: f64,
    /// Disk flux, ADU.
    pub disk_flux: f64,
    /// Bulge (Sersic n = 4) half-light semi-major axis, arcsec.
    pub bulge_re: f64,
    /// Disk (Sersic n = 1) half-light semi-major axis, arcsec.
    pub disk_re: f64,
    /// Bulge axis ratio b/a.
    pub bulge_q: f64,
    /// Disk axis ratio b/a.
    pub disk_q: f64,
    /// Bulge position angle, degrees.
    pub bulge_pa: f64,
    /// Disk position angle, degrees.
    pub disk_pa: f64,
    /// Offset of the galaxy centre from the cutout centre along x (columns), pixels.
    pub x_offset: f64,
    /// Offset along y (rows), pixels.
    pub y_offset: f64,
    /// PSF FWHM, arcsec (0 when not convolved).
    pub psf_fwhm: f64,
    /// Sky noise per pixel, ADU (0 when noiseless).
    pub sky_sigma: f64,
    /// Whether a neighbouring galaxy is in the frame.
    pub has_neighbour: bool,
    /// Neighbour centre minus cutout centre along x, pixels (empty without a neighbour).
    pub neighbour_dx: Option<f64>,
    /// Neighbour offset along y, pixels.
    pub neighbour_dy: Option<f64>,
    /// Neighbour total magnitude.
    pub neighbour_magnitude: Option<f64>,
}
