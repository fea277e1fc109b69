//! VGG (Simonyan & Zisserman 2014) as torchvision builds it, with GaMPEN's dropout before
//! every convolution but the first.

mod config;
mod model;

pub use config::{VggConfig, VggVariant};
pub use model::{Vgg, VggBlock};
