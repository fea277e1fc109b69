//! The built-in synthetic data: bulge (de Vaucouleurs, n = 4) + disk (exponential, n = 1)
//! galaxies, pixel-integrated with adaptive oversampling, convolved with a Gaussian or
//! Moffat PSF, on a sky with Poisson noise, optionally with a neighbour in the frame.

mod config;
mod galaxy;
mod prepare;
mod psf;
mod render;
mod sersic;
mod truth;

pub use crate::seed::mix_seed;
pub use config::{Range, SimulatorConfig};
pub use galaxy::{BulgeDisk, GalaxyParams, Parts, Renderer};
pub use prepare::{
    file_name, prepare_simulated_dataset, simulate_images, simulate_to_dir,
    simulate_to_dir_with_progress, PreparedDataset, SIMULATED_BALANCE_BINS,
};
pub use psf::{fft_size, Convolver, PsfShape};
pub use render::add_sersic;
pub use sersic::{gamma_p, half_light_radius, ln_gamma, sersic_b, Sersic};
pub use truth::Truth;

#[cfg(test)]
mod galsim_tests;
#[cfg(test)]
mod physics_tests;
