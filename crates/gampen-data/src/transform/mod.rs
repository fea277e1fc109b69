//! Image and label transforms.

pub mod image;
pub mod label;
pub mod sky;
