//! A tolerant, streaming XML byte tokenizer that finds where an element ends.
//!
//! It knows just enough XML to count element depth: start, end and empty tags, quoted attribute
//! values, comments, CDATA sections, processing instructions and DOCTYPE declarations with an
//! internal subset. It never builds a tree and never allocates per byte, so it can walk a
//! record of any size through a [`ByteView`](crate::ByteView) piece by piece.
//!
//! Bytes are checked as they come: a control byte, an invalid UTF-8 sequence or (in Big5 mode)
//! a lead byte without its trail byte is not XML, and the tokenizer says so instead of going on.
//! In Big5 mode a lead byte and its trail byte are taken as one character, so a trail byte in
//! `0x40..=0x7E` (which may look like `[`, `]` or `\`) is never read as markup.

/// How the bytes are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// UTF-8 (and ASCII).
    Utf8,
    /// Big5 (with the usual vendor extensions: any lead `0x81..=0xFE`).
    Big5,
}

impl Encoding {
    /// The name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Utf8 => "utf-8",
            Encoding::Big5 => "big5",
        }
    }
}

/// What one byte did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The byte belongs to the document; go on.
    More,
    /// The byte was the `>` of the end tag that closes the first element: the element is whole.
    Closed,
    /// The byte cannot be part of an XML document; it is not consumed.
    NotXml,
}

/// Longest element or DOCTYPE name kept for comparison; longer names are compared by prefix.
const NAME_CAP: usize = 96;
/// Longest quoted DOCTYPE literal kept (the system identifier).
const LITERAL_CAP: usize = 160;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Text,
    Lt,
    StartName,
    InTag,
    Quote(u8),
    EmptyClose,
    EndName,
    EndTail,
    Bang,
    Comment,
    CData,
    Pi,
    Decl,
    Doctype,
}

/// A small fixed buffer for names and literals.
#[derive(Debug, Clone)]
struct Small<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> Small<N> {
    fn new() -> Self {
        Small {
            buf: [0; N],
            len: 0,
        }
    }
    fn clear(&mut self) {
        self.len = 0;
    }
    fn push(&mut self, b: u8) {
        if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = b;
            self.len += 1;
        }
    }
    fn as_slice(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// The DOCTYPE declaration as far as it was read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Doctype {
    /// The document type name (the root it declares), possibly cut at [`NAME_CAP`] bytes.
    pub name: Vec<u8>,
    /// The last quoted literal before the internal subset: the system identifier.
    pub system_id: Vec<u8>,
    /// Whether the declaration was closed by its `>`.
    pub complete: bool,
}

/// The tokenizer's state between bytes.
#[derive(Debug, Clone)]
pub struct Tokenizer {
    enc: Encoding,
    state: State,
    /// Continuation bytes still expected for the current UTF-8 character, or 1 when a Big5 trail
    /// byte is expected.
    pending: u8,
    /// The last few ASCII bytes (non-ASCII bytes enter as 0x80), for `-->`, `]]>` and `?>`.
    recent: u32,
    kw: Small<8>,
    name: Small<NAME_CAP>,
    root: Small<NAME_CAP>,
    depth: u64,
    /// Elements opened (start and empty tags).
    elements: u64,
    /// End tags at depth one whose name is not the root's, tolerated and counted.
    mismatched: u64,
    /// Non-blank text or a stray end tag before the first element.
    junk_before_root: bool,
    /// A DOCTYPE was started.
    doctype_seen: bool,
    dt_name: Small<NAME_CAP>,
    dt_literal: Small<LITERAL_CAP>,
    dt_system: Small<LITERAL_CAP>,
    dt_after_keyword: bool,
    dt_name_done: bool,
    dt_quote: u8,
    dt_subset: bool,
    dt_comment: bool,
    dt_complete: bool,
    /// The first element was an empty tag (`<root/>`).
    root_empty: bool,
    /// Bytes consumed so far, and where the current character and the last `<` began.
    pos: u64,
    char_start: u64,
    last_lt: u64,
    /// Position just after the first element's start tag, once it is read.
    content_start: Option<u64>,
    /// Position of the `<` of the first element's start tag.
    root_at: Option<u64>,
    stop_on_reopen: bool,
    reopened: bool,
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_name_byte(b: u8, ascii: bool) -> bool {
    !ascii || b.is_ascii_alphanumeric() || matches!(b, b'_' | b':' | b'-' | b'.')
}

fn is_name_start(b: u8, ascii: bool) -> bool {
    !ascii || b.is_ascii_alphabetic() || matches!(b, b'_' | b':')
}

impl Tokenizer {
    /// A tokenizer at the start of a document (or of a prolog, or of an element's start tag).
    pub fn new(enc: Encoding) -> Self {
        Tokenizer {
            enc,
            state: State::Text,
            pending: 0,
            recent: 0,
            kw: Small::new(),
            name: Small::new(),
            root: Small::new(),
            depth: 0,
            elements: 0,
            mismatched: 0,
            junk_before_root: false,
            doctype_seen: false,
            dt_name: Small::new(),
            dt_literal: Small::new(),
            dt_system: Small::new(),
            dt_after_keyword: false,
            dt_name_done: false,
            dt_quote: 0,
            dt_subset: false,
            dt_comment: false,
            dt_complete: false,
            root_empty: false,
            pos: 0,
            char_start: 0,
            last_lt: 0,
            content_start: None,
            root_at: None,
            stop_on_reopen: false,
            reopened: false,
        }
    }

    /// Stop (as at a byte that cannot be XML) when an element named like the root opens inside
    /// it. Records whose kind never nests in itself use this, so that a root word repeated in
    /// text does not walk to the end of the source once per occurrence.
    pub fn stop_on_reopen(&mut self) {
        self.stop_on_reopen = true;
    }

    /// Whether an element named like the root opened inside it.
    pub fn reopened(&self) -> bool {
        self.reopened
    }

    /// Bytes consumed so far.
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// Where the last complete character ends: the position, less any half-read multi-byte
    /// character.
    pub fn clean_end(&self) -> u64 {
        if self.pending > 0 {
            self.char_start
        } else {
            self.pos
        }
    }

    /// Name of the first element, once its name is read.
    pub fn root_name(&self) -> &[u8] {
        self.root.as_slice()
    }

    /// Offset (from the first byte fed) of the first element's `<`.
    pub fn root_at(&self) -> Option<u64> {
        self.root_at
    }

    /// Offset just after the first element's start tag.
    pub fn content_start(&self) -> Option<u64> {
        self.content_start
    }

    /// Elements opened so far, the first one included.
    pub fn elements(&self) -> u64 {
        self.elements
    }

    /// Current element depth.
    pub fn depth(&self) -> u64 {
        self.depth
    }

    /// End tags tolerated although their name was not the first element's.
    pub fn mismatched(&self) -> u64 {
        self.mismatched
    }

    /// True when nothing but blanks, comments, PIs and a DOCTYPE came before the first element
    /// (or so far, when there is none yet), and no markup is half-read.
    pub fn clean_prolog(&self) -> bool {
        !self.junk_before_root && self.state == State::Text && self.pending == 0
    }

    /// True when the first element was an empty tag.
    pub fn root_empty(&self) -> bool {
        self.root_empty
    }

    /// The DOCTYPE declaration, when one was started.
    pub fn doctype(&self) -> Option<Doctype> {
        self.doctype_seen.then(|| Doctype {
            name: self.dt_name.as_slice().to_vec(),
            system_id: self.dt_system.as_slice().to_vec(),
            complete: self.dt_complete,
        })
    }

    /// Feed a run of bytes; returns how many were consumed and the step that stopped the run
    /// (`More` when all were consumed).
    pub fn feed(&mut self, bytes: &[u8]) -> (usize, Step) {
        for (i, &b) in bytes.iter().enumerate() {
            match self.byte(b) {
                Step::More => {}
                Step::Closed => return (i + 1, Step::Closed),
                Step::NotXml => return (i, Step::NotXml),
            }
        }
        (bytes.len(), Step::More)
    }

    /// Feed one byte.
    pub fn byte(&mut self, b: u8) -> Step {
        // Character level first: is this byte possible here, and is it ASCII markup?
        let ascii = if self.pending > 0 {
            let ok = match self.enc {
                Encoding::Utf8 => (0x80..=0xBF).contains(&b),
                Encoding::Big5 => (0x40..=0x7E).contains(&b) || (0xA1..=0xFE).contains(&b),
            };
            if !ok {
                return Step::NotXml;
            }
            self.pending -= 1;
            false
        } else if b < 0x80 {
            if b < 0x20 && !is_ws(b) {
                return Step::NotXml;
            }
            self.char_start = self.pos;
            true
        } else {
            let need = match self.enc {
                Encoding::Utf8 => match b {
                    0xC2..=0xDF => 1,
                    0xE0..=0xEF => 2,
                    0xF0..=0xF4 => 3,
                    _ => return Step::NotXml,
                },
                Encoding::Big5 => match b {
                    0x81..=0xFE => 1,
                    _ => return Step::NotXml,
                },
            };
            self.char_start = self.pos;
            self.pending = need;
            false
        };
        self.pos += 1;
        self.recent = (self.recent << 8) | if ascii { u32::from(b) } else { 0x80 };
        self.markup(b, ascii)
    }

    fn ends_with(&self, tail: &[u8]) -> bool {
        let mut v = 0u32;
        for &t in tail {
            v = (v << 8) | u32::from(t);
        }
        let mask = if tail.len() >= 4 {
            u32::MAX
        } else {
            (1u32 << (8 * tail.len())) - 1
        };
        self.recent & mask == v
    }

    fn enter(&mut self, s: State) {
        self.state = s;
        self.recent = 0;
    }

    fn markup(&mut self, b: u8, ascii: bool) -> Step {
        match self.state {
            State::Text => {
                if ascii && b == b'<' {
                    self.last_lt = self.pos - 1;
                    self.enter(State::Lt);
                } else if self.depth == 0 && !(ascii && is_ws(b)) {
                    self.junk_before_root = true;
                }
            }
            State::Lt => {
                if ascii && b == b'/' {
                    self.name.clear();
                    self.state = State::EndName;
                } else if ascii && b == b'!' {
                    self.kw.clear();
                    self.enter(State::Bang);
                } else if ascii && b == b'?' {
                    self.enter(State::Pi);
                } else if is_name_start(b, ascii) {
                    self.name.clear();
                    self.name.push(b);
                    self.state = State::StartName;
                } else {
                    // A bare `<` in text: not XML, but tolerated as text.
                    self.state = State::Text;
                    if self.depth == 0 {
                        self.junk_before_root = true;
                    }
                }
            }
            State::StartName => {
                if is_name_byte(b, ascii) {
                    self.name.push(b);
                } else if b == b'>' {
                    return self.open(false);
                } else if b == b'/' {
                    self.state = State::EmptyClose;
                } else {
                    self.state = State::InTag;
                }
            }
            State::InTag => match b {
                b'"' | b'\'' if ascii => self.state = State::Quote(b),
                b'/' if ascii => self.state = State::EmptyClose,
                b'>' if ascii => return self.open(false),
                _ => {}
            },
            State::Quote(q) => {
                if ascii && b == q {
                    self.state = State::InTag;
                }
            }
            State::EmptyClose => match b {
                b'>' if ascii => return self.open(true),
                b'/' if ascii => {}
                _ => self.state = State::InTag,
            },
            State::EndName => {
                if is_name_byte(b, ascii) {
                    self.name.push(b);
                } else if ascii && b == b'>' {
                    return self.close();
                } else {
                    self.state = State::EndTail;
                }
            }
            State::EndTail => {
                if ascii && b == b'>' {
                    return self.close();
                }
            }
            State::Bang => {
                self.kw.push(b);
                let kw = self.kw.as_slice();
                if kw == b"--" {
                    self.enter(State::Comment);
                } else if kw == b"[CDATA[" {
                    self.enter(State::CData);
                } else if kw == b"DOCTYPE" {
                    self.start_doctype();
                } else if !(b"--".starts_with(kw)
                    || b"[CDATA[".starts_with(kw)
                    || b"DOCTYPE".starts_with(kw))
                {
                    // Some other declaration: skip to its `>`.
                    self.state = if ascii && b == b'>' {
                        State::Text
                    } else {
                        State::Decl
                    };
                }
            }
            State::Comment => {
                if self.ends_with(b"-->") {
                    self.state = State::Text;
                }
            }
            State::CData => {
                if self.ends_with(b"]]>") {
                    self.state = State::Text;
                }
            }
            State::Pi => {
                if self.ends_with(b"?>") {
                    self.state = State::Text;
                }
            }
            State::Decl => {
                if ascii && b == b'>' {
                    self.state = State::Text;
                }
            }
            State::Doctype => self.doctype_byte(b, ascii),
        }
        Step::More
    }

    fn start_doctype(&mut self) {
        self.enter(State::Doctype);
        self.doctype_seen = true;
        self.dt_name.clear();
        self.dt_literal.clear();
        self.dt_system.clear();
        self.dt_after_keyword = true;
        self.dt_name_done = false;
        self.dt_quote = 0;
        self.dt_subset = false;
        self.dt_comment = false;
        self.dt_complete = false;
        if self.depth > 0 || self.elements > 0 {
            self.junk_before_root = true;
        }
    }

    fn doctype_byte(&mut self, b: u8, ascii: bool) {
        if self.dt_subset {
            if self.dt_comment {
                if self.ends_with(b"-->") {
                    self.dt_comment = false;
                }
            } else if self.dt_quote != 0 {
                if ascii && b == self.dt_quote {
                    self.dt_quote = 0;
                }
            } else if ascii {
                match b {
                    b'"' | b'\'' => self.dt_quote = b,
                    b']' => self.dt_subset = false,
                    b'-' if self.ends_with(b"<!--") => {
                        self.dt_comment = true;
                        self.recent = 0;
                    }
                    _ => {}
                }
            }
            return;
        }
        if self.dt_quote != 0 {
            if ascii && b == self.dt_quote {
                self.dt_quote = 0;
                self.dt_system = self.dt_literal.clone();
            } else {
                self.dt_literal.push(b);
            }
            return;
        }
        if !self.dt_name_done {
            if self.dt_after_keyword && ascii && is_ws(b) {
                return;
            }
            if is_name_byte(b, ascii) {
                self.dt_after_keyword = false;
                self.dt_name.push(b);
                return;
            }
            self.dt_name_done = true;
        }
        if ascii {
            match b {
                b'"' | b'\'' => {
                    self.dt_quote = b;
                    self.dt_literal.clear();
                }
                b'[' => self.dt_subset = true,
                b'>' => {
                    self.dt_complete = true;
                    self.state = State::Text;
                }
                _ => {}
            }
        }
    }

    fn open(&mut self, empty: bool) -> Step {
        if self.elements > 0 && self.name.as_slice() == self.root.as_slice() {
            self.reopened = true;
            if self.stop_on_reopen {
                return Step::NotXml;
            }
        }
        if self.elements == 0 {
            self.root = self.name.clone();
            self.root_at = Some(self.last_lt);
            self.content_start = Some(self.pos);
            self.root_empty = empty;
        }
        self.elements = self.elements.saturating_add(1);
        self.state = State::Text;
        if empty {
            if self.depth == 0 {
                return Step::Closed;
            }
        } else {
            self.depth = self.depth.saturating_add(1);
        }
        Step::More
    }

    fn close(&mut self) -> Step {
        self.state = State::Text;
        match self.depth {
            0 => {
                self.junk_before_root = true;
                Step::More
            }
            1 => {
                if self.name.as_slice() == self.root.as_slice() {
                    self.depth = 0;
                    Step::Closed
                } else {
                    self.mismatched = self.mismatched.saturating_add(1);
                    Step::More
                }
            }
            _ => {
                self.depth -= 1;
                Step::More
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(enc: Encoding, bytes: &[u8]) -> (usize, Step, Tokenizer) {
        let mut t = Tokenizer::new(enc);
        let (n, s) = t.feed(bytes);
        (n, s, t)
    }

    #[test]
    fn closes_at_the_root_end_tag() {
        let doc =
            b"<a x='1>' y=\"</a>\"><!-- </a> --><b/><![CDATA[</a>]]><?pi </a>?><a>t</a></a>tail";
        let (n, s, t) = run(Encoding::Utf8, doc);
        assert_eq!(s, Step::Closed);
        assert_eq!(&doc[..n], &doc[..doc.len() - 4]);
        assert_eq!(t.root_name(), b"a");
        assert_eq!(t.elements(), 3);
        assert_eq!(t.content_start(), Some(19));
    }

    #[test]
    fn prolog_with_internal_subset() {
        let doc = "<?xml version=\"1.0\"?>\n<!DOCTYPE 函 SYSTEM \"93_2.dtd\" [<!ENTITY a SYSTEM \"]>\" NDATA di><!-- ] > -->]>\n<函><b/></函>";
        let (n, s, t) = run(Encoding::Utf8, doc.as_bytes());
        assert_eq!((n, s), (doc.len(), Step::Closed));
        let d = t.doctype().unwrap();
        assert_eq!(d.name, "函".as_bytes());
        assert_eq!(d.system_id, b"93_2.dtd");
        assert!(d.complete);
        assert_eq!(t.root_name(), "函".as_bytes());
    }

    #[test]
    fn big5_trail_bytes_are_not_markup() {
        // 0xA5 0x5D is one Big5 character whose trail byte is `]`.
        let mut doc = b"<r><![CDATA[\xa5\x5d]>".to_vec();
        doc.extend_from_slice(b"]]></r>");
        let (n, s, _) = run(Encoding::Big5, &doc);
        assert_eq!((n, s), (doc.len(), Step::Closed));
        // The same bytes read as UTF-8 are not XML.
        let (n, s, _) = run(Encoding::Utf8, &doc);
        assert_eq!((n, s), (12, Step::NotXml));
    }

    #[test]
    fn control_bytes_stop_it() {
        let (n, s, t) = run(Encoding::Utf8, "<r><a>文\u{0}".as_bytes());
        assert_eq!((n, s), (9, Step::NotXml));
        assert_eq!(t.clean_end(), 9);
        let mut t = Tokenizer::new(Encoding::Utf8);
        assert_eq!(t.feed(&"<r>文".as_bytes()[..5]), (5, Step::More));
        assert_eq!(t.clean_end(), 3);
    }

    #[test]
    fn mismatched_end_tags_are_tolerated() {
        let (n, s, t) = run(Encoding::Utf8, b"<r><a></b></r>");
        assert_eq!((n, s), (14, Step::Closed));
        assert_eq!(t.mismatched(), 0);
        let (_, s, t) = run(Encoding::Utf8, b"<r></x></r>");
        assert_eq!(s, Step::Closed);
        assert_eq!(t.mismatched(), 1);
    }
}
