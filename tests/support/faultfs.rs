//! Real faults for tests: a FUSE file with bad sectors (`salvor-faultfs`) and loop devices.
//! Each helper returns `None` after printing "skipped: ..." when the machine cannot do it.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A file served over FUSE that fails reads on chosen ranges; unmounted when dropped.
pub struct FaultFile {
    // Field order matters: unmount before the temporary folder goes.
    mounted: Option<salvor_faultfs::Mounted>,
    _dir: tempfile::TempDir,
}

impl FaultFile {
    /// Serve `backing` with EIO on `eio` (`(start, len)`, 4 KiB aligned) and dropped writes on
    /// `drop_writes`.
    pub fn start(
        backing: &Path,
        eio: &[(u64, u64)],
        drop_writes: &[(u64, u64)],
        read_only: bool,
    ) -> Option<FaultFile> {
        if !Path::new("/dev/fuse").exists() {
            eprintln!("skipped: no /dev/fuse");
            return None;
        }
        let dir = tempfile::tempdir().ok()?;
        let mut opts = salvor_faultfs::Options::new(backing, dir.path());
        opts.eio = eio.to_vec();
        opts.drop_writes = drop_writes.to_vec();
        opts.read_only = read_only;
        match salvor_faultfs::mount(&opts) {
            Ok(m) => Some(FaultFile {
                mounted: Some(m),
                _dir: dir,
            }),
            Err(e) => {
                eprintln!("skipped: cannot mount FUSE: {e}");
                None
            }
        }
    }

    /// Path of the faulty file.
    pub fn path(&self) -> PathBuf {
        self.mounted
            .as_ref()
            .map(|m| m.file().to_owned())
            .unwrap_or_default()
    }
}

impl Drop for FaultFile {
    fn drop(&mut self) {
        if let Some(m) = self.mounted.take() {
            let _ = m.unmount();
        }
    }
}

/// A loop device this test attached over a file it made; detached when dropped.
pub struct LoopDev {
    pub dev: PathBuf,
}

impl LoopDev {
    /// `losetup -f --show [-r] FILE`; `None` (with "skipped: ...") when not possible.
    pub fn attach(file: &Path, read_only: bool) -> Option<LoopDev> {
        LoopDev::attach_with(file, if read_only { &["-r"] } else { &[] })
    }

    /// `losetup ARGS -f --show FILE` (e.g. `-r -b 2048` for a read-only 2048-byte-sector device).
    pub fn attach_with(file: &Path, args: &[&str]) -> Option<LoopDev> {
        let mut cmd = Command::new("losetup");
        cmd.args(args);
        match cmd.arg("-f").arg("--show").arg(file).output() {
            Ok(o) if o.status.success() => {
                let dev = String::from_utf8_lossy(&o.stdout).trim().to_owned();
                Some(LoopDev { dev: dev.into() })
            }
            Ok(o) => {
                eprintln!(
                    "skipped: losetup failed: {}",
                    String::from_utf8_lossy(&o.stderr).trim()
                );
                None
            }
            Err(e) => {
                eprintln!("skipped: cannot run losetup: {e}");
                None
            }
        }
    }
}

impl Drop for LoopDev {
    fn drop(&mut self) {
        let _ = Command::new("losetup").arg("-d").arg(&self.dev).status();
    }
}

/// A small tmpfs this test mounted (a destination that fills up); unmounted when dropped.
pub struct Tmpfs {
    pub dir: tempfile::TempDir,
}

impl Tmpfs {
    /// Mount a tmpfs of `size` bytes; `None` (with "skipped: ...") when not allowed.
    pub fn mount(size: u64) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().ok()?;
        let st = Command::new("mount")
            .args(["-t", "tmpfs", "-o"])
            .arg(format!("size={size}"))
            .arg("salvor-test")
            .arg(dir.path())
            .output();
        match st {
            Ok(o) if o.status.success() => Some(Tmpfs { dir }),
            Ok(o) => {
                eprintln!(
                    "skipped: cannot mount a tmpfs: {}",
                    String::from_utf8_lossy(&o.stderr).trim()
                );
                None
            }
            Err(e) => {
                eprintln!("skipped: cannot run mount: {e}");
                None
            }
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}
