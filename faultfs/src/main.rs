//! `salvor-faultfs`: serve one backing file over FUSE, failing reads (EIO) or dropping writes
//! on chosen byte ranges. See the crate's README.
//!
//! ```text
//! salvor-faultfs BACKING MOUNTPOINT [--name disk.img] [--eio START:LEN,...]
//!                [--drop-writes START:LEN,...] [--read-only]
//! ```
//!
//! It runs until it receives SIGINT, SIGTERM or SIGHUP (it then unmounts) or until the
//! filesystem is unmounted by someone else.

use clap::Parser;
use salvor_faultfs::{mount, parse_range, Options};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(
    name = "salvor-faultfs",
    version,
    about = "Serve one file over FUSE, failing reads (EIO) or dropping writes on chosen ranges"
)]
struct Args {
    /// The file whose bytes are served.
    backing: PathBuf,
    /// An empty directory to mount on.
    mountpoint: PathBuf,
    /// Name of the served file inside the mount point.
    #[arg(long, default_value = "disk.img")]
    name: String,
    /// Byte ranges whose reads fail with EIO, as START:LEN (K, M, G suffixes allowed). Align them
    /// to 4 KiB: the page cache turns errors into whole pages.
    #[arg(long, value_delimiter = ',', value_parser = parse_range)]
    eio: Vec<(u64, u64)>,
    /// Byte ranges where writes are acknowledged but silently not stored.
    #[arg(long, value_delimiter = ',', value_parser = parse_range)]
    drop_writes: Vec<(u64, u64)>,
    /// Serve the file read-only (mount option `ro`; the backing file is opened read-only).
    #[arg(long)]
    read_only: bool,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("salvor-faultfs: error: {e}");
            std::process::ExitCode::from(2)
        }
    }
}

fn run(args: Args) -> Result<(), String> {
    let opts = Options {
        backing: args.backing,
        mountpoint: args.mountpoint,
        name: args.name,
        eio: args.eio,
        drop_writes: args.drop_writes,
        read_only: args.read_only,
    };
    let (tx, rx) = std::sync::mpsc::channel();
    ctrlc::set_handler(move || {
        let _ = tx.send(());
    })
    .map_err(|e| format!("cannot install the signal handler: {e}"))?;
    let mounted = mount(&opts)?;
    eprintln!(
        "salvor-faultfs: serving {} as {}",
        opts.backing.display(),
        mounted.file().display()
    );

    // Stop on a signal (unmount first) or when someone else unmounted the filesystem.
    loop {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(()) => {
                return mounted
                    .unmount()
                    .map_err(|e| format!("cannot unmount {}: {e}", opts.mountpoint.display()));
            }
            Err(_) if !mounted.is_running() => return Ok(()),
            Err(_) => {}
        }
    }
}
