//! Block-device ioctls. The only `unsafe` of the acquisition engine lives here.

use std::fs::File;

/// `BLKGETSIZE64`: device size in bytes.
pub fn size_bytes(f: &File) -> Option<u64> {
    use rustix::ioctl::{ioctl, opcode, Getter};
    // SAFETY: BLKGETSIZE64 is `_IOR(0x12, 114, size_t)`; the kernel writes one u64 (size_t on
    // 64-bit Linux) into the getter's buffer, which is exactly that type.
    unsafe { ioctl(f, Getter::<{ opcode::read::<u64>(0x12, 114) }, u64>::new()) }.ok()
}

/// `BLKSSZGET`: logical sector size.
pub fn logical_sector(f: &File) -> Option<u64> {
    use rustix::ioctl::{ioctl, opcode, Getter};
    // SAFETY: BLKSSZGET is `_IO(0x12, 104)` and writes one C int through the pointer it gets,
    // which points at the getter's `c_int` buffer.
    let n = unsafe { ioctl(f, Getter::<{ opcode::none(0x12, 104) }, libc_int>::new()) }.ok()?;
    u64::try_from(n).ok().filter(|&n| n > 0)
}

/// `BLKPBSZGET`: physical sector size.
pub fn physical_sector(f: &File) -> Option<u64> {
    use rustix::ioctl::{ioctl, opcode, Getter};
    // SAFETY: BLKPBSZGET is `_IO(0x12, 123)` and writes one C unsigned int into the getter's
    // buffer of that type.
    let n = unsafe { ioctl(f, Getter::<{ opcode::none(0x12, 123) }, u32>::new()) }.ok()?;
    Some(u64::from(n)).filter(|&n| n > 0)
}

#[allow(non_camel_case_types)]
type libc_int = std::ffi::c_int;
