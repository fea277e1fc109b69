//! Choosing the Burn device a command runs on.

use burn::tensor::Device;
use clap::ValueEnum;

use crate::error::{CliError, Result};

/// The compute backend, on the command line as `--device flex|ndarray|wgpu`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Default)]
pub enum DeviceArg {
    /// Pure-Rust CPU backend (the default; fastest CPU choice here).
    #[default]
    Flex,
    /// The ndarray CPU backend (deprecated in Burn 0.22, kept for comparison).
    Ndarray,
    /// GPU through wgpu (Vulkan, Metal, DX12; lavapipe counts); an error when none has an
    /// adapter.
    Wgpu,
}

impl DeviceArg {
    /// The Burn device; for `wgpu`, only once an adapter on a compute API is known to exist.
    pub fn device(self) -> Result<Device> {
        Ok(match self {
            DeviceArg::Flex => Device::flex(),
            #[allow(deprecated)]
            DeviceArg::Ndarray => Device::ndarray(),
            DeviceArg::Wgpu => {
                require_compute_adapter()?;
                Device::wgpu(burn::tensor::DeviceKind::DefaultDevice)
            }
        })
    }
}

/// Fails unless Vulkan, Metal or DX12 offers an adapter (a GPU, or a CPU implementation
/// such as Mesa's lavapipe).
///
/// With none of them, cubecl's automatic choice falls through to OpenGL, where a machine
/// without a GPU driver has only a software rasteriser: the run then spins at full CPU
/// and can end in a wgpu-hal deadlock instead of an error. Enumerating adapters is fast,
/// so a missing driver is reported within seconds, naming what to install.
fn require_compute_adapter() -> Result<()> {
    use burn::tensor::wgpu::wgpu;
    let backends = wgpu::Backends::VULKAN | wgpu::Backends::METAL | wgpu::Backends::DX12;
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
        backends,
        ..wgpu::InstanceDescriptor::new_without_display_handle()
    });
    let adapters = block_on(instance.enumerate_adapters(backends));
    if adapters.is_empty() {
        return Err(CliError::usage(
            "--device wgpu: no Vulkan, Metal or DX12 adapter found; install a GPU driver with \
             Vulkan support, or Mesa's lavapipe for a CPU Vulkan device (Debian/Ubuntu: \
             apt-get install mesa-vulkan-drivers), or use --device flex",
        ));
    }
    Ok(())
}

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

impl std::fmt::Display for DeviceArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self {
            DeviceArg::Flex => "flex",
            DeviceArg::Ndarray => "ndarray",
            DeviceArg::Wgpu => "wgpu",
        };
        f.write_str(name)
    }
}
