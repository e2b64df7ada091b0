//! Digests computed while reading: one thread per algorithm over shared buffers.

use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;

/// A digest algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Algo {
    Md5,
    Sha1,
    Sha256,
    Blake3,
}

impl Algo {
    pub fn name(self) -> &'static str {
        match self {
            Algo::Md5 => "md5",
            Algo::Sha1 => "sha1",
            Algo::Sha256 => "sha256",
            Algo::Blake3 => "blake3",
        }
    }

    pub fn from_name(n: &str) -> Option<Algo> {
        [Algo::Md5, Algo::Sha1, Algo::Sha256, Algo::Blake3]
            .into_iter()
            .find(|a| a.name() == n)
    }
}

enum State {
    Md5(Md5),
    Sha1(Sha1),
    Sha256(Sha256),
    Blake3(Box<blake3::Hasher>),
}

impl State {
    fn new(a: Algo) -> State {
        match a {
            Algo::Md5 => State::Md5(Md5::new()),
            Algo::Sha1 => State::Sha1(Sha1::new()),
            Algo::Sha256 => State::Sha256(Sha256::new()),
            Algo::Blake3 => State::Blake3(Box::default()),
        }
    }

    fn update(&mut self, b: &[u8]) {
        match self {
            State::Md5(h) => h.update(b),
            State::Sha1(h) => h.update(b),
            State::Sha256(h) => h.update(b),
            State::Blake3(h) => {
                h.update(b);
            }
        }
    }

    fn finish(self) -> String {
        match self {
            State::Md5(h) => crate::util::hex(&h.finalize()),
            State::Sha1(h) => crate::util::hex(&h.finalize()),
            State::Sha256(h) => crate::util::hex(&h.finalize()),
            State::Blake3(h) => h.finalize().to_hex().to_string(),
        }
    }
}

/// Something holding bytes that several threads can read at once.
pub trait Chunk: Send + Sync + 'static {
    fn bytes(&self) -> &[u8];
}

/// A shared piece of a buffer: `(buffer, start, len)`.
pub type Piece<B> = (Arc<B>, usize, usize);

/// Hash threads fed in order with the same pieces.
pub struct Hashers<B: Chunk> {
    txs: Vec<SyncSender<Piece<B>>>,
    handles: Vec<(Algo, JoinHandle<String>)>,
}

/// Pieces that may wait per thread before the reader blocks. A pool of `QUEUE + 3` buffers
/// means the reader blocks in `send` (sleeping) rather than polling the pool. Deep enough (16
/// MiB of 1 MiB pieces, about 25 ms of MD5) that the slowest hash thread keeps working while a
/// busy machine leaves the reader waiting for a CPU.
pub const QUEUE: usize = 16;

impl<B: Chunk> Hashers<B> {
    pub fn start(algos: &[Algo]) -> Hashers<B> {
        let mut txs = Vec::new();
        let mut handles = Vec::new();
        for &a in algos {
            let (tx, rx) = sync_channel::<Piece<B>>(QUEUE);
            let h = std::thread::Builder::new()
                .name(format!("hash-{}", a.name()))
                .spawn(move || {
                    let mut st = State::new(a);
                    for (buf, start, len) in rx {
                        st.update(&buf.bytes()[start..start + len]);
                    }
                    st.finish()
                })
                .expect("spawn a hash thread");
            txs.push(tx);
            handles.push((a, h));
        }
        Hashers { txs, handles }
    }

    /// Give every thread the same bytes.
    pub fn feed(&self, buf: &Arc<B>, start: usize, len: usize) {
        for tx in &self.txs {
            let _ = tx.send((buf.clone(), start, len));
        }
    }

    /// Wait for the threads and return `algorithm name → hex digest`.
    pub fn finish(self) -> BTreeMap<String, String> {
        drop(self.txs);
        self.handles
            .into_iter()
            .filter_map(|(a, h)| h.join().ok().map(|d| (a.name().to_owned(), d)))
            .collect()
    }
}

impl Chunk for super::io::AlignedBuf {
    fn bytes(&self) -> &[u8] {
        self.as_slice()
    }
}

impl Chunk for Vec<u8> {
    fn bytes(&self) -> &[u8] {
        self
    }
}

/// A ring of shared buffers: take the next one once every thread has let go of it.
pub struct Pool {
    bufs: Vec<Arc<super::io::AlignedBuf>>,
    next: usize,
}

impl Pool {
    pub fn new(n: usize, len: usize) -> Pool {
        Pool {
            bufs: (0..n)
                .map(|_| Arc::new(super::io::AlignedBuf::new(len)))
                .collect(),
            next: 0,
        }
    }

    /// The next buffer, waiting for the hash threads to finish with it.
    pub fn take(&mut self) -> &mut Arc<super::io::AlignedBuf> {
        let i = self.next;
        self.next = (self.next + 1) % self.bufs.len();
        while Arc::strong_count(&self.bufs[i]) > 1 {
            std::thread::sleep(std::time::Duration::from_micros(200));
        }
        &mut self.bufs[i]
    }
}

/// Per-piece digests: `(offset, len, algorithm → digest)`.
pub type PieceDigests = Vec<(u64, u64, BTreeMap<String, String>)>;

/// Hash a whole file (or the first `len` bytes) with several algorithms in parallel; also
/// returns per-piece digests when `piece` is set: `(offset, len, algorithm → digest)`.
pub fn hash_file(
    reader: &super::io::Reader,
    len: u64,
    algos: &[Algo],
    piece: Option<u64>,
    progress: &crate::job::Progress,
) -> std::io::Result<(BTreeMap<String, String>, PieceDigests)> {
    const BLOCK: usize = 1 << 20;
    let mut pool = Pool::new(QUEUE + 3, BLOCK);
    let whole: Hashers<super::io::AlignedBuf> = Hashers::start(algos);
    let mut pieces = Vec::new();
    let mut cur: Option<(u64, Hashers<super::io::AlignedBuf>)> = None;
    let mut pos = 0u64;
    while pos < len {
        if progress.cancelled() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::Interrupted,
                "interrupted",
            ));
        }
        let buf = pool.take();
        let want = (len - pos).min(BLOCK as u64) as usize;
        let want_aligned = want.next_multiple_of(super::io::ALIGN).min(BLOCK);
        let b = Arc::get_mut(buf).expect("pool buffer is free");
        let n = reader
            .read_full(&mut b.as_mut_slice()[..want_aligned], pos)?
            .min(want);
        if n == 0 {
            break;
        }
        whole.feed(buf, 0, n);
        if let Some(p) = piece {
            let mut off = 0usize;
            while off < n {
                let at = pos + off as u64;
                let (start, h) = cur.get_or_insert_with(|| (at, Hashers::start(algos)));
                let piece_end = *start + p;
                let take = ((piece_end - at) as usize).min(n - off);
                h.feed(buf, off, take);
                off += take;
                if at + take as u64 == piece_end {
                    if let Some((s, h)) = cur.take() {
                        pieces.push((s, p, h.finish()));
                    }
                }
            }
        }
        pos += n as u64;
        progress.advance(n as u64);
    }
    if let Some((s, h)) = cur.take() {
        pieces.push((s, pos - s, h.finish()));
    }
    Ok((whole.finish(), pieces))
}
