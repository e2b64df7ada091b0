//! A FUSE filesystem for tests that serves one backing file and misbehaves on chosen byte
//! ranges, like a failing or lying disk: reads touching an EIO range fail, writes into a
//! drop-writes range are acknowledged but not stored.
//!
//! Use it in-process with [`mount`] (the returned [`Mounted`] unmounts when dropped), or as the
//! `salvor-faultfs` binary.

use fuser::{
    Config, Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags, INodeNo, LockOwner,
    MountOption, OpenFlags, ReplyAttr, ReplyData, ReplyDirectory, ReplyEmpty, ReplyEntry,
    ReplyOpen, ReplyWrite, Request, WriteFlags,
};
use std::ffi::OsStr;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

mod ranges;
pub use ranges::{parse_range, Ranges};

/// What to serve and how to misbehave.
#[derive(Debug, Clone)]
pub struct Options {
    /// The file whose bytes are served.
    pub backing: PathBuf,
    /// An empty directory to mount on.
    pub mountpoint: PathBuf,
    /// Name of the served file inside the mount point.
    pub name: String,
    /// `(start, len)` byte ranges whose reads fail with EIO (align them to 4 KiB).
    pub eio: Vec<(u64, u64)>,
    /// `(start, len)` byte ranges where writes are acknowledged but not stored.
    pub drop_writes: Vec<(u64, u64)>,
    /// Mount read-only and open the backing file read-only.
    pub read_only: bool,
}

impl Options {
    /// Serve `backing` as `mountpoint/disk.img`, with no faults yet.
    pub fn new(backing: &Path, mountpoint: &Path) -> Options {
        Options {
            backing: backing.to_owned(),
            mountpoint: mountpoint.to_owned(),
            name: "disk.img".into(),
            eio: Vec::new(),
            drop_writes: Vec::new(),
            read_only: false,
        }
    }
}

/// A mounted fault filesystem; dropping it unmounts.
pub struct Mounted {
    session: Option<fuser::BackgroundSession>,
    file: PathBuf,
}

impl Mounted {
    /// Path of the served file.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// True while the filesystem is still being served.
    pub fn is_running(&self) -> bool {
        self.session
            .as_ref()
            .is_some_and(|s| !s.guard.is_finished())
    }

    /// Unmount and wait for the serving thread.
    pub fn unmount(mut self) -> std::io::Result<()> {
        match self.session.take() {
            Some(s) => s.umount_and_join(),
            None => Ok(()),
        }
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        if let Some(s) = self.session.take() {
            let _ = s.umount_and_join();
        }
    }
}

/// Mount the filesystem and serve it on background threads.
pub fn mount(opts: &Options) -> Result<Mounted, String> {
    let file = OpenOptions::new()
        .read(true)
        .write(!opts.read_only)
        .open(&opts.backing)
        .map_err(|e| format!("cannot open {}: {e}", opts.backing.display()))?;
    let size = file
        .metadata()
        .map_err(|e| format!("cannot stat {}: {e}", opts.backing.display()))?
        .len();
    let (uid, gid) = own_ids();
    let fs = FaultFs {
        file,
        name: opts.name.clone(),
        size: AtomicU64::new(size),
        eio: Ranges::new(opts.eio.clone()),
        drop_writes: Ranges::new(opts.drop_writes.clone()),
        read_only: opts.read_only,
        stamp: SystemTime::now(),
        uid,
        gid,
    };
    let mut config = Config::default();
    config.mount_options = vec![
        MountOption::FSName("salvor-faultfs".into()),
        MountOption::Subtype("salvor-faultfs".into()),
        if opts.read_only {
            MountOption::RO
        } else {
            MountOption::RW
        },
    ];
    config.n_threads = Some(2);
    let session = fuser::spawn_mount(fs, &opts.mountpoint, &config)
        .map_err(|e| format!("cannot mount on {}: {e}", opts.mountpoint.display()))?;
    Ok(Mounted {
        session: Some(session),
        file: opts.mountpoint.join(&opts.name),
    })
}

/// The effective user and group of this process, to own the served file.
fn own_ids() -> (u32, u32) {
    use std::os::unix::fs::MetadataExt;
    // The process's own /proc entry is owned by its effective ids; no unsafe call needed.
    std::fs::metadata("/proc/self")
        .map(|m| (m.uid(), m.gid()))
        .unwrap_or((0, 0))
}

const TTL: Duration = Duration::from_secs(1);
const FILE_INO: INodeNo = INodeNo(2);

struct FaultFs {
    file: File,
    name: String,
    size: AtomicU64,
    eio: Ranges,
    drop_writes: Ranges,
    read_only: bool,
    stamp: SystemTime,
    uid: u32,
    gid: u32,
}

impl FaultFs {
    fn attr(&self, ino: INodeNo) -> Option<FileAttr> {
        let (kind, perm, size, nlink) = if ino == INodeNo::ROOT {
            (FileType::Directory, 0o755, 0, 2)
        } else if ino == FILE_INO {
            let perm = if self.read_only { 0o444 } else { 0o644 };
            (
                FileType::RegularFile,
                perm,
                self.size.load(Ordering::Relaxed),
                1,
            )
        } else {
            return None;
        };
        Some(FileAttr {
            ino,
            size,
            blocks: size.div_ceil(512),
            atime: self.stamp,
            mtime: self.stamp,
            ctime: self.stamp,
            crtime: self.stamp,
            kind,
            perm,
            nlink,
            uid: self.uid,
            gid: self.gid,
            rdev: 0,
            flags: 0,
            blksize: 4096,
        })
    }
}

impl Filesystem for FaultFs {
    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        match self.attr(FILE_INO) {
            Some(a) if parent == INodeNo::ROOT && name.to_str() == Some(self.name.as_str()) => {
                reply.entry(&TTL, &a, fuser::Generation(0))
            }
            _ => reply.error(Errno::ENOENT),
        }
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        match self.attr(ino) {
            Some(a) => reply.attr(&TTL, &a),
            None => reply.error(Errno::ENOENT),
        }
    }

    fn setattr(
        &self,
        _req: &Request,
        ino: INodeNo,
        _mode: Option<u32>,
        _uid: Option<u32>,
        _gid: Option<u32>,
        size: Option<u64>,
        _atime: Option<fuser::TimeOrNow>,
        _mtime: Option<fuser::TimeOrNow>,
        _ctime: Option<SystemTime>,
        _fh: Option<FileHandle>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<fuser::BsdFileFlags>,
        reply: ReplyAttr,
    ) {
        // A size change is refused: a disk does not change size. Times and modes are ignored.
        if size.is_some_and(|s| s != self.size.load(Ordering::Relaxed)) {
            return reply.error(Errno::EPERM);
        }
        match self.attr(ino) {
            Some(a) => reply.attr(&TTL, &a),
            None => reply.error(Errno::ENOENT),
        }
    }

    fn open(&self, _req: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        if ino != FILE_INO {
            return reply.error(Errno::EISDIR);
        }
        let wants_write = flags.0 & libc::O_ACCMODE != libc::O_RDONLY;
        if wants_write && self.read_only {
            return reply.error(Errno::EROFS);
        }
        reply.opened(FileHandle(0), FopenFlags::empty());
    }

    fn read(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        if ino != FILE_INO {
            return reply.error(Errno::EISDIR);
        }
        let len = self.size.load(Ordering::Relaxed);
        let end = offset.saturating_add(u64::from(size)).min(len);
        if offset >= end {
            return reply.data(&[]);
        }
        // The whole request fails when any byte of it is bad: a short read would be padded with
        // zeros by the kernel, which is the silent corruption a failing disk does not do.
        if self.eio.overlaps(offset, end) {
            return reply.error(Errno::EIO);
        }
        let mut buf = vec![0u8; (end - offset) as usize];
        match read_full(&self.file, &mut buf, offset) {
            Ok(()) => reply.data(&buf),
            Err(_) => reply.error(Errno::EIO),
        }
    }

    fn write(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        data: &[u8],
        _write_flags: WriteFlags,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyWrite,
    ) {
        if ino != FILE_INO {
            return reply.error(Errno::EISDIR);
        }
        if self.read_only {
            return reply.error(Errno::EROFS);
        }
        let len = self.size.load(Ordering::Relaxed);
        let end = offset.saturating_add(data.len() as u64);
        if end > len {
            return reply.error(Errno::ENOSPC);
        }
        // Store only the parts outside the dropped ranges, then claim the whole write succeeded.
        for (s, e) in self.drop_writes.complement(offset, end) {
            let part = &data[(s - offset) as usize..(e - offset) as usize];
            if self.file.write_all_at(part, s).is_err() {
                return reply.error(Errno::EIO);
            }
        }
        reply.written(data.len() as u32);
    }

    fn flush(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _lock_owner: LockOwner,
        reply: ReplyEmpty,
    ) {
        reply.ok();
    }

    fn fsync(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        match self.read_only || self.file.sync_data().is_ok() {
            true => reply.ok(),
            false => reply.error(Errno::EIO),
        }
    }

    fn readdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        if ino != INodeNo::ROOT {
            return reply.error(Errno::ENOTDIR);
        }
        let entries = [
            (INodeNo::ROOT, FileType::Directory, "."),
            (INodeNo::ROOT, FileType::Directory, ".."),
            (FILE_INO, FileType::RegularFile, self.name.as_str()),
        ];
        for (i, (ino, kind, name)) in entries.iter().enumerate().skip(offset as usize) {
            if reply.add(*ino, (i + 1) as u64, *kind, name) {
                break;
            }
        }
        reply.ok();
    }
}

fn read_full(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    let mut got = 0;
    while got < buf.len() {
        match file.read_at(&mut buf[got..], offset + got as u64) {
            Ok(0) => break, // Past the backing file's end reads as zeros.
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
