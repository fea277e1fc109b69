//! Choosing the Burn device a command runs on.

use burn::tensor::Device;
use clap::ValueEnum;

/// The compute backend, on the command line as `--device flex|ndarray|wgpu`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Default)]
pub enum DeviceArg {
    /// Pure-Rust CPU backend (the default; fastest CPU choice here).
    #[default]
    Flex,
    /// The ndarray CPU backend (deprecated in Burn 0.22, kept for comparison).
    Ndarray,
    /// GPU through wgpu (Vulkan, Metal, DX12); falls back to what wgpu picks.
    Wgpu,
}

impl DeviceArg {
    /// The Burn device.
    pub fn device(self) -> Device {
        match self {
            DeviceArg::Flex => Device::flex(),
            #[allow(deprecated)]
            DeviceArg::Ndarray => Device::ndarray(),
            DeviceArg::Wgpu => Device::wgpu(burn::tensor::DeviceKind::DefaultDevice),
        }
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
