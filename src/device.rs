//! Choosing the Burn device by name (`flex`, `ndarray`, `wgpu`), as a command line or a
//! config file does; a GPU device is handed out only once an adapter is known to exist.

use burn::tensor::Device;

use crate::error::GampenError;

/// A compute backend by name (`--device flex|ndarray|wgpu` in the CLI). Every variant
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
                require_compute_adapter()?;
                Ok(Device::wgpu(burn::tensor::DeviceKind::DefaultDevice))
            }
            #[allow(unreachable_patterns)]
            other => Err(GampenError::Device(format!(
                "--device {other}: this build of gampen has no {other} backend (enable the \
                 `{other}` feature)"
            ))),
        }
    }
}

/// Fails unless Vulkan, Metal or DX12 offers an adapter (a GPU, or a CPU implementation
/// such as Mesa's lavapipe).
///
/// With none of them, cubecl's automatic choice falls through to OpenGL, where a machine
/// without a GPU driver has only a software rasteriser: the run then spins at full CPU
/// and can end in a wgpu-hal deadlock instead of an error. Enumerating adapters is fast,
/// so a missing driver is reported within seconds, naming what to install.
#[cfg(feature = "wgpu")]
fn require_compute_adapter() -> Result<(), GampenError> {
    use burn::tensor::wgpu::wgpu;
    let backends = wgpu::Backends::VULKAN | wgpu::Backends::METAL | wgpu::Backends::DX12;
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
        backends,
        ..wgpu::InstanceDescriptor::new_without_display_handle()
    });
    let adapters = block_on(instance.enumerate_adapters(backends));
    if adapters.is_empty() {
        return Err(GampenError::Device(
            "--device wgpu: no Vulkan, Metal or DX12 adapter found; install a GPU driver with \
             Vulkan support, or Mesa's lavapipe for a CPU Vulkan device (Debian/Ubuntu: \
             apt-get install mesa-vulkan-drivers), or use --device flex"
                .into(),
        ));
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
        };
        f.write_str(name)
    }
}
