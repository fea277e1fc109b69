//! The device flag: the library's [`gampen::device::ComputeDevice`] under the CLI's name.

pub use gampen::device::ComputeDevice as DeviceArg;
