//! Choosing the Burn device by name (`flex`, `ndarray`, `wgpu`, `vulkan`, `cuda`), as a
//! command line or a config file does; a wgpu device is handed out only once an adapter is
//! known to exist.

use burn::tensor::Device;

use crate::error::GampenError;

/// A compute backend by name (`--device flex|ndarray|wgpu|vulkan|cuda` in the CLI). Every variant
/// exists whatever the features; one whose backend was not compiled in is an error at
/// [`ComputeDevice::device`], not a missing name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum ComputeDevice {
    /// Pure-Rust CPU backend (the default; fastest CPU choice here).
    #[default]
    Flex,
    /// The ndarray CPU backend (deprecated in Burn 0.22, kept for comparison).
    Ndarray,
    /// GPU through wgpu (Vulkan, Metal, DX12; lavapipe counts); an error when none has an
    /// adapter.
    Wgpu,
    /// wgpu pinned to Vulkan, with kernels compiled to SPIR-V rather than WGSL where the
    /// adapter allows it (SPIR-V reaches subgroup and cooperative-matrix instructions that
    /// WGSL cannot); an error without a Vulkan adapter.
    Vulkan,
    /// Burn's CUDA backend on GPU 0 (CubeCL kernels through NVRTC, tensor-core matmul). Only
    /// with the `cuda` feature, which no default build enables: cubecl-cuda's build script
    /// downloads an LLVM bundle from GitHub (docs/performance.md, "GPU").
    Cuda,
}

impl ComputeDevice {
    /// The Burn device; for `wgpu`, only once an adapter on a compute API is known to exist.
    pub fn device(self) -> Result<Device, GampenError> {
        match self {
            #[cfg(feature = "flex")]
            ComputeDevice::Flex => Ok(Device::flex()),
            #[cfg(feature = "ndarray")]
            #[allow(deprecated)]
            ComputeDevice::Ndarray => Ok(Device::ndarray()),
            #[cfg(feature = "wgpu")]
            ComputeDevice::Wgpu => {
                require_compute_adapter(self)?;
                Ok(Device::wgpu(burn::tensor::DeviceKind::DefaultDevice))
            }
            #[cfg(feature = "vulkan")]
            ComputeDevice::Vulkan => {
                require_compute_adapter(self)?;
                Ok(Device::vulkan(burn::tensor::DeviceKind::DefaultDevice))
            }
            #[cfg(feature = "cuda")]
            ComputeDevice::Cuda => Ok(Device::cuda(0usize)),
            #[allow(unreachable_patterns)]
            other => Err(GampenError::Device(format!(
                "--device {other}: this build of gampen has no {other} backend (enable the \
                 `{other}` feature)"
            ))),
        }
    }
}

/// Fails unless Vulkan, Metal or DX12 (for `vulkan`, Vulkan alone) offers an adapter (a GPU,
/// or a CPU implementation such as Mesa's lavapipe).
///
/// With none of them, cubecl's automatic choice falls through to OpenGL, where a machine
/// without a GPU driver has only a software rasteriser: the run then spins at full CPU
/// and can end in a wgpu-hal deadlock instead of an error. Enumerating adapters is fast,
/// so a missing driver is reported within seconds, naming what to install.
#[cfg(feature = "wgpu")]
fn require_compute_adapter(device: ComputeDevice) -> Result<(), GampenError> {
    use burn::tensor::wgpu::wgpu;
    let (backends, apis) = match device {
        ComputeDevice::Vulkan => (wgpu::Backends::VULKAN, "Vulkan"),
        _ => (
            wgpu::Backends::VULKAN | wgpu::Backends::METAL | wgpu::Backends::DX12,
            "Vulkan, Metal or DX12",
        ),
    };
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
        backends,
        ..wgpu::InstanceDescriptor::new_without_display_handle()
    });
    let adapters = block_on(instance.enumerate_adapters(backends));
    if adapters.is_empty() {
        return Err(GampenError::Device(format!(
            "--device {device}: no {apis} adapter found; install a GPU driver with Vulkan \
             support, or Mesa's lavapipe for a CPU Vulkan device (Debian/Ubuntu: apt-get \
             install mesa-vulkan-drivers), or use --device flex"
        )));
    }
    Ok(())
}

#[cfg(feature = "wgpu")]
/// Drives a future to completion on this thread; adapter enumeration is ready at once on
/// native platforms, so no executor is needed.
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::yield_now();
    }
}

impl std::fmt::Display for ComputeDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self {
            ComputeDevice::Flex => "flex",
            ComputeDevice::Ndarray => "ndarray",
            ComputeDevice::Wgpu => "wgpu",
            ComputeDevice::Vulkan => "vulkan",
            ComputeDevice::Cuda => "cuda",
        };
        f.write_str(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for d in [
            ComputeDevice::Flex,
            ComputeDevice::Ndarray,
            ComputeDevice::Wgpu,
            ComputeDevice::Vulkan,
            ComputeDevice::Cuda,
        ] {
            let json = serde_json::to_string(&d).unwrap();
            assert_eq!(json, format!("\"{d}\""));
        }
    }

    #[cfg(not(feature = "cuda"))]
    #[test]
    fn a_backend_not_built_in_is_an_error_naming_its_feature() {
        let err = ComputeDevice::Cuda.device().unwrap_err().to_string();
        assert!(
            err.contains("--device cuda") && err.contains("`cuda` feature"),
            "{err}"
        );
    }

    // Named so that the `--ignored ::wgpu` filter selects it; only with the `vulkan` feature,
    // which CI does not build (lavapipe crashes on some SPIR-V kernels, Cargo.toml).
    #[cfg(feature = "vulkan")]
    mod wgpu {
        use super::*;
        use crate::{GampenConfig, Precision};
        use burn::module::Module;
        use burn::tensor::{Distribution, Tensor};

        #[test]
        #[ignore = "needs a Vulkan driver: cargo test -- --ignored ::wgpu"]
        fn vulkan_runs_the_model_as_flex_does() {
            let vulkan = ComputeDevice::Vulkan.device().expect("a Vulkan adapter");
            let flex = Device::flex();
            let model = GampenConfig::gampen_small(vec!["a".into(), "b".into()])
                .init(&flex)
                .unwrap();
            let x = Tensor::<4>::random([2, 1, 64, 64], Distribution::Default, &flex);
            let expected = model.forward(x.clone());
            let on_gpu = model.clone().to_device(&vulkan);
            let out = on_gpu
                .forward(x.clone().to_device(&vulkan))
                .to_device(&flex);
            let err = (out - expected.clone()).abs().max().into_scalar::<f32>();
            assert!(err < 1e-3, "vulkan vs flex: {err}");
            // Half precision where the adapter has it; otherwise a clear error.
            match Precision::F16.check(&vulkan) {
                Ok(()) => {
                    let half = Precision::F16.cast_module(on_gpu);
                    let x = Precision::F16.cast(x.to_device(&vulkan));
                    let out = crate::precision::to_f32(half.forward(x)).to_device(&flex);
                    let scale = expected.clone().abs().max().into_scalar::<f32>();
                    let err = (out - expected).abs().max().into_scalar::<f32>() / scale;
                    assert!(err < 0.02, "vulkan f16 vs flex f32: relative {err}");
                }
                Err(e) => assert!(e.to_string().contains("--precision f16"), "{e}"),
            }
        }
    }
}
