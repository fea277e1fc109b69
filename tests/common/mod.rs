//! Shared by the integration tests: a model small enough to train in a second.

use gampen::{BackboneSpec, GampenConfig};
use gampen_backbone::VggVariant;

/// 40x40 single-band cutouts, two parameters, 4-channel STN, VGG-11 at 1/16 width, dropout 0.1.
pub fn tiny_config() -> GampenConfig {
    GampenConfig::new(40, 1, vec!["a".into(), "b".into()])
        .with_stn_channels([4, 4])
        .with_backbone(BackboneSpec::Vgg {
            variant: VggVariant::Vgg11,
            width: 0.0625,
            batch_norm: false,
            hidden: vec![16, 16],
        })
        .with_dropout(0.1)
}
