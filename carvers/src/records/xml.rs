//! A small owned XML tree for electronic records, read from UTF-8 or Big5 bytes.
//!
//! The parser works on the raw bytes: every delimiter XML needs (`<`, `>`, `&`, `;`, `=`, quotes,
//! `/`, `?`, `!`, whitespace) lies below 0x40, where neither a UTF-8 continuation byte nor a Big5
//! trail byte can fall, so tokens are found in the original bytes and decoded one by one. Every
//! element therefore keeps the true byte offset of its start tag. Line ends are normalized to LF
//! and attribute values are normalized as XML 1.0 §3.3.3 says. Comments are dropped (canonical
//! XML without comments never shows them). The internal DTD subset is read for its entity
//! declarations (DI files list their attachments there as unparsed entities); other declarations
//! are skipped.

use std::collections::BTreeMap;
use std::fmt;

/// Nesting deeper than this is refused (a record is a few dozen levels deep at most).
pub const MAX_DEPTH: usize = 4096;
/// Expanding internal entities may not produce more than this many bytes in one text run.
const MAX_EXPANSION: usize = 1 << 20;
/// Nor more than this many bytes over the whole document (many small runs that each stay under
/// [`MAX_EXPANSION`] would otherwise add up to gigabytes).
pub const MAX_TOTAL_EXPANSION: usize = 16 << 20;

/// The first well-formedness error and where it was seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmlError {
    /// Byte offset in the input.
    pub offset: u64,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for XmlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte {:#x}: {}", self.offset, self.message)
    }
}

impl std::error::Error for XmlError {}

/// A child of an element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// An element, by index into [`Document::elements`].
    Element(usize),
    /// Character data (references expanded, CDATA merged, line ends normalized).
    Text(String),
    /// A processing instruction: target and data.
    Pi(String, String),
}

/// One element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    /// The qualified name as written.
    pub name: String,
    /// Attributes in document order: name and normalized value.
    pub attrs: Vec<(String, String)>,
    /// Children in document order.
    pub children: Vec<Node>,
    /// The parent element, `None` for the root.
    pub parent: Option<usize>,
    /// Byte offset of the `<` of the start tag in the input.
    pub offset: u64,
    /// Byte offset just past the end tag (or the empty-element tag).
    pub end: u64,
}

impl Element {
    /// The value of attribute `name`, if present.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// An `<!ENTITY>` declaration of the internal subset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityDecl {
    /// The entity's name.
    pub name: String,
    /// A parameter entity (`<!ENTITY % name ...>`).
    pub parameter: bool,
    /// Replacement text of an internal entity.
    pub value: Option<String>,
    /// System identifier of an external entity (for DI attachments: the file name).
    pub system: Option<String>,
    /// Public identifier, if any.
    pub public: Option<String>,
    /// Notation of an unparsed entity (`NDATA name`).
    pub notation: Option<String>,
    /// Byte offset of the declaration.
    pub offset: u64,
}

/// The document type declaration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Doctype {
    /// The declared root name.
    pub name: String,
    /// The external subset's system identifier.
    pub system: Option<String>,
    /// Entities declared in the internal subset, in order.
    pub entities: Vec<EntityDecl>,
    /// Byte offset of `<!DOCTYPE`.
    pub offset: u64,
}

/// A parsed document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// `utf-8` or `big5`.
    pub encoding: String,
    /// Remarks about decoding (declared UTF-8 but read as Big5, undecodable bytes...).
    pub notes: Vec<String>,
    /// The DOCTYPE, if any.
    pub doctype: Option<Doctype>,
    /// Every element, in the document order of their start tags; the root is index 0.
    pub elements: Vec<Element>,
    /// `Id` / `id` / `ID` attribute value → the first element carrying it.
    pub ids: BTreeMap<String, usize>,
    /// Every later element that repeats an id: the id and the element.
    pub duplicate_ids: Vec<(String, usize)>,
}

/// The part of a qualified name after any prefix.
pub fn local_name(name: &str) -> &str {
    name.rsplit(':').next().unwrap_or(name)
}

/// Whether an attribute name is an identifier attribute (`Id`, `id`, `ID`).
pub fn is_id_attr(name: &str) -> bool {
    matches!(name, "Id" | "id" | "ID")
}

impl Document {
    /// The root element's index (always 0).
    pub const ROOT: usize = 0;

    /// The element at `i`.
    pub fn el(&self, i: usize) -> Option<&Element> {
        self.elements.get(i)
    }

    /// The root element.
    pub fn root(&self) -> &Element {
        &self.elements[Self::ROOT]
    }

    /// Child elements of `i`, in order.
    pub fn child_elements(&self, i: usize) -> Vec<usize> {
        self.el(i)
            .map(|e| {
                e.children
                    .iter()
                    .filter_map(|n| match n {
                        Node::Element(c) => Some(*c),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The first child element of `i` whose local name is `name`.
    pub fn child(&self, i: usize, name: &str) -> Option<usize> {
        self.child_elements(i).into_iter().find(|c| {
            self.elements
                .get(*c)
                .is_some_and(|e| local_name(&e.name) == name)
        })
    }

    /// All elements under `i` (inclusive) in document order.
    pub fn descendants(&self, i: usize) -> Vec<usize> {
        let Some(e) = self.el(i) else {
            return Vec::new();
        };
        // Elements are numbered in document order, so a subtree is a contiguous range.
        let mut out = vec![i];
        for j in i + 1..self.elements.len() {
            if self.elements[j].offset >= e.end {
                break;
            }
            out.push(j);
        }
        out
    }

    /// Every element in the document whose local name is `name`.
    pub fn find_all(&self, name: &str) -> Vec<usize> {
        (0..self.elements.len())
            .filter(|i| local_name(&self.elements[*i].name) == name)
            .collect()
    }

    /// Whether `i` lies inside (or is) `ancestor`.
    pub fn is_within(&self, mut i: usize, ancestor: usize) -> bool {
        loop {
            if i == ancestor {
                return true;
            }
            match self.el(i).and_then(|e| e.parent) {
                Some(p) => i = p,
                None => return false,
            }
        }
    }

    /// The concatenated character data of `i` and its descendants.
    pub fn text(&self, i: usize) -> String {
        let mut out = String::new();
        // Explicit stack of (element, next child) so deep nesting cannot overflow the call stack.
        let mut stack = vec![(i, 0usize)];
        while let Some((j, k)) = stack.pop() {
            let Some(e) = self.el(j) else { continue };
            let Some(n) = e.children.get(k) else { continue };
            stack.push((j, k + 1));
            match n {
                Node::Text(t) => out.push_str(t),
                Node::Element(c) => stack.push((*c, 0)),
                Node::Pi(..) => {}
            }
        }
        out
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Enc {
    Utf8,
    Big5,
}

/// Parse a record's bytes. The encoding comes from a BOM or the XML declaration; bytes declared
/// UTF-8 that are not valid UTF-8 are read as Big5 and a note says so.
pub fn parse(bytes: &[u8]) -> Result<Document, XmlError> {
    let mut notes = Vec::new();
    let mut start = 0;
    if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
        start = 3;
    } else if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(XmlError {
            offset: 0,
            message: "UTF-16 byte order mark: UTF-16 records are not supported".into(),
        });
    }
    let declared = declared_encoding(&bytes[start..]);
    let body = &bytes[start..];
    let enc = match declared.as_deref() {
        Some(d) if start == 0 && is_big5_name(d) => {
            // A record re-saved as UTF-8 that kept its old declaration: the bytes decide.
            let big5_bad = encoding_rs::BIG5.decode_without_bom_handling(body).1;
            if big5_bad && !body.is_ascii() && std::str::from_utf8(body).is_ok() {
                notes.push(format!(
                    "declared encoding {d} but bytes are UTF-8 and not Big5; decoded as UTF-8"
                ));
                Enc::Utf8
            } else {
                Enc::Big5
            }
        }
        _ => {
            if std::str::from_utf8(&bytes[start..]).is_ok() {
                Enc::Utf8
            } else if start == 3 {
                notes.push(
                    "UTF-8 byte order mark but bytes are not valid UTF-8; decoded as Big5".into(),
                );
                Enc::Big5
            } else {
                notes.push(format!(
                    "declared encoding {} but bytes are not valid UTF-8; decoded as Big5",
                    declared.as_deref().unwrap_or("(none, UTF-8 by default)")
                ));
                Enc::Big5
            }
        }
    };
    if let Some(d) = declared.as_deref() {
        if !is_big5_name(d) && !d.eq_ignore_ascii_case("utf-8") && !d.eq_ignore_ascii_case("utf8") {
            notes.push(format!(
                "declared encoding {d} is not UTF-8 or Big5; read as {}",
                enc_name(enc)
            ));
        }
    }
    let mut p = Parser {
        b: bytes,
        pos: start,
        enc,
        entities: Vec::new(),
        elements: Vec::new(),
        lossy: false,
        expanded: 0,
    };
    let doctype = p.prolog()?;
    p.content()?;
    p.epilog()?;
    if p.lossy {
        notes.push("some bytes could not be decoded and were replaced by U+FFFD".into());
    }
    let mut ids = BTreeMap::new();
    let mut duplicate_ids = Vec::new();
    for (i, e) in p.elements.iter().enumerate() {
        for (n, v) in &e.attrs {
            if is_id_attr(n) {
                if ids.contains_key(v) {
                    duplicate_ids.push((v.clone(), i));
                } else {
                    ids.insert(v.clone(), i);
                }
            }
        }
    }
    Ok(Document {
        encoding: enc_name(enc).into(),
        notes,
        doctype,
        elements: p.elements,
        ids,
        duplicate_ids,
    })
}

fn enc_name(e: Enc) -> &'static str {
    match e {
        Enc::Utf8 => "utf-8",
        Enc::Big5 => "big5",
    }
}

fn is_big5_name(d: &str) -> bool {
    let d = d.to_ascii_lowercase();
    d == "big5" || d == "big5-hkscs" || d == "cp950" || d == "x-x-big5" || d == "ms950"
}

/// The `encoding="..."` pseudo-attribute of an XML declaration at the start of `b`.
pub fn declared_encoding(b: &[u8]) -> Option<String> {
    if !b.starts_with(b"<?xml") {
        return None;
    }
    let end = memchr::memmem::find(b, b"?>")?;
    let decl = &b[..end];
    let at = memchr::memmem::find(decl, b"encoding")?;
    let rest = &decl[at + 8..];
    let rest = trim_start(rest).strip_prefix(b"=")?;
    let rest = trim_start(rest);
    let q = *rest.first()?;
    if q != b'"' && q != b'\'' {
        return None;
    }
    let close = rest[1..].iter().position(|c| *c == q)?;
    std::str::from_utf8(&rest[1..1 + close])
        .ok()
        .map(|s| s.trim().to_string())
}

fn trim_start(b: &[u8]) -> &[u8] {
    let n = b.iter().take_while(|c| is_ws(**c)).count();
    &b[n..]
}

fn is_ws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_name_end(c: u8) -> bool {
    is_ws(c)
        || matches!(
            c,
            b'/' | b'>' | b'=' | b'<' | b'"' | b'\'' | b'?' | b'&' | b';'
        )
}

struct Parser<'a> {
    b: &'a [u8],
    pos: usize,
    enc: Enc,
    entities: Vec<EntityDecl>,
    elements: Vec<Element>,
    lossy: bool,
    /// Bytes produced so far by expanding declared entities, over the whole document.
    expanded: usize,
}

impl<'a> Parser<'a> {
    fn err<T>(&self, at: usize, msg: impl Into<String>) -> Result<T, XmlError> {
        Err(XmlError {
            offset: at as u64,
            message: msg.into(),
        })
    }

    fn rest(&self) -> &'a [u8] {
        self.b.get(self.pos..).unwrap_or(&[])
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn starts(&self, s: &[u8]) -> bool {
        self.rest().starts_with(s)
    }

    fn skip_ws(&mut self) -> bool {
        let n = self.rest().iter().take_while(|c| is_ws(**c)).count();
        self.pos += n;
        n > 0
    }

    fn decode(&mut self, raw: &[u8]) -> String {
        match self.enc {
            Enc::Utf8 => match std::str::from_utf8(raw) {
                Ok(s) => s.to_string(),
                Err(_) => {
                    self.lossy = true;
                    String::from_utf8_lossy(raw).into_owned()
                }
            },
            Enc::Big5 => {
                let (s, bad) = encoding_rs::BIG5.decode_without_bom_handling(raw);
                if bad {
                    self.lossy = true;
                }
                s.into_owned()
            }
        }
    }

    /// Find `pat` from the current position; error naming `what` when it is missing.
    fn until(&mut self, pat: &[u8], what: &str) -> Result<&'a [u8], XmlError> {
        let start = self.pos;
        match memchr::memmem::find(self.rest(), pat) {
            Some(i) => {
                let s = &self.b[start..start + i];
                self.pos = start + i + pat.len();
                Ok(s)
            }
            None => self.err(
                start,
                format!(
                    "unterminated {what}: no {:?} before end of input",
                    String::from_utf8_lossy(pat)
                ),
            ),
        }
    }

    fn name(&mut self) -> Result<String, XmlError> {
        let start = self.pos;
        let n = self.rest().iter().take_while(|c| !is_name_end(**c)).count();
        if n == 0 {
            return match self.peek() {
                Some(c) => self.err(start, format!("expected a name, found byte {c:#04x}")),
                None => self.err(start, "expected a name, found end of input"),
            };
        }
        let first = self.b[start];
        if first.is_ascii_digit() || first == b'-' || first == b'.' {
            return self.err(start, "a name may not start with a digit, '-' or '.'");
        }
        self.pos += n;
        let raw = &self.b[start..start + n];
        Ok(self.decode(raw))
    }

    fn quoted(&mut self) -> Result<(&'a [u8], usize), XmlError> {
        let at = self.pos;
        let q = match self.peek() {
            Some(q @ (b'"' | b'\'')) => q,
            _ => return self.err(at, "expected a quoted value"),
        };
        self.pos += 1;
        let start = self.pos;
        match self.rest().iter().position(|c| *c == q) {
            Some(i) => {
                self.pos = start + i + 1;
                Ok((&self.b[start..start + i], start))
            }
            None => self.err(at, "unterminated quoted value"),
        }
    }

    fn prolog(&mut self) -> Result<Option<Doctype>, XmlError> {
        if self.starts(b"<?xml") && self.b.get(self.pos + 5).is_some_and(|c| is_ws(*c)) {
            self.until(b"?>", "XML declaration")?;
        }
        let mut doctype = None;
        loop {
            self.skip_ws();
            if self.starts(b"<!--") {
                self.pos += 4;
                self.until(b"-->", "comment")?;
            } else if self.starts(b"<?") {
                self.pos += 2;
                self.until(b"?>", "processing instruction")?;
            } else if self.starts(b"<!DOCTYPE") {
                if doctype.is_some() {
                    return self.err(self.pos, "second DOCTYPE");
                }
                doctype = Some(self.doctype()?);
            } else if self.starts(b"<") {
                return Ok(doctype);
            } else if self.pos >= self.b.len() {
                return self.err(self.pos, "no root element");
            } else {
                return self.err(self.pos, "text before the root element");
            }
        }
    }

    fn external_id(&mut self) -> Result<(Option<String>, Option<String>), XmlError> {
        if self.starts(b"SYSTEM") {
            self.pos += 6;
            self.skip_ws();
            let (raw, _) = self.quoted()?;
            let s = self.decode(raw);
            Ok((Some(s), None))
        } else if self.starts(b"PUBLIC") {
            self.pos += 6;
            self.skip_ws();
            let (raw, _) = self.quoted()?;
            let public = self.decode(raw);
            self.skip_ws();
            let system = if matches!(self.peek(), Some(b'"' | b'\'')) {
                let (raw, _) = self.quoted()?;
                Some(self.decode(raw))
            } else {
                None
            };
            Ok((system, Some(public)))
        } else {
            Ok((None, None))
        }
    }

    fn doctype(&mut self) -> Result<Doctype, XmlError> {
        let offset = self.pos as u64;
        self.pos += 9;
        if !self.skip_ws() {
            return self.err(self.pos, "expected whitespace after <!DOCTYPE");
        }
        let name = self.name()?;
        self.skip_ws();
        let (system, _) = self.external_id()?;
        self.skip_ws();
        if self.peek() == Some(b'[') {
            self.pos += 1;
            self.internal_subset()?;
            self.skip_ws();
        }
        if self.peek() != Some(b'>') {
            return self.err(self.pos, "expected '>' to end the DOCTYPE");
        }
        self.pos += 1;
        Ok(Doctype {
            name,
            system,
            entities: self.entities.clone(),
            offset,
        })
    }

    fn internal_subset(&mut self) -> Result<(), XmlError> {
        loop {
            self.skip_ws();
            let at = self.pos;
            if self.starts(b"]") {
                self.pos += 1;
                return Ok(());
            } else if self.starts(b"<!--") {
                self.pos += 4;
                self.until(b"-->", "comment")?;
            } else if self.starts(b"<?") {
                self.pos += 2;
                self.until(b"?>", "processing instruction")?;
            } else if self.starts(b"<!ENTITY") {
                self.pos += 8;
                self.entity_decl(at)?;
            } else if self.starts(b"<!") {
                // ELEMENT, ATTLIST, NOTATION: skip to the '>' that is outside quotes.
                self.pos += 2;
                loop {
                    match self.peek() {
                        None => return self.err(at, "unterminated markup declaration"),
                        Some(b'"' | b'\'') => {
                            self.quoted()?;
                        }
                        Some(b'>') => {
                            self.pos += 1;
                            break;
                        }
                        Some(_) => self.pos += 1,
                    }
                }
            } else if self.starts(b"%") {
                self.pos += 1;
                self.name()?;
                if self.peek() != Some(b';') {
                    return self.err(self.pos, "expected ';' after a parameter-entity reference");
                }
                self.pos += 1;
            } else if self.pos >= self.b.len() {
                return self.err(at, "unterminated internal DTD subset");
            } else {
                return self.err(at, "unexpected content in the internal DTD subset");
            }
        }
    }

    fn entity_decl(&mut self, at: usize) -> Result<(), XmlError> {
        if !self.skip_ws() {
            return self.err(self.pos, "expected whitespace after <!ENTITY");
        }
        let parameter = if self.peek() == Some(b'%') {
            self.pos += 1;
            self.skip_ws();
            true
        } else {
            false
        };
        let name = self.name()?;
        self.skip_ws();
        let mut decl = EntityDecl {
            name,
            parameter,
            value: None,
            system: None,
            public: None,
            notation: None,
            offset: at as u64,
        };
        if matches!(self.peek(), Some(b'"' | b'\'')) {
            let (raw, _) = self.quoted()?;
            let v = self.decode(raw);
            decl.value = Some(expand_char_refs(&v));
        } else {
            let (system, public) = self.external_id()?;
            if system.is_none() && public.is_none() {
                return self.err(
                    self.pos,
                    "expected a value, SYSTEM or PUBLIC in the entity declaration",
                );
            }
            decl.system = system;
            decl.public = public;
            self.skip_ws();
            if self.starts(b"NDATA") {
                self.pos += 5;
                self.skip_ws();
                decl.notation = Some(self.name()?);
            }
        }
        self.skip_ws();
        if self.peek() != Some(b'>') {
            return self.err(self.pos, "expected '>' to end the entity declaration");
        }
        self.pos += 1;
        // The first declaration of an entity binds (XML 1.0 §4.2).
        if !self
            .entities
            .iter()
            .any(|e| e.name == decl.name && e.parameter == decl.parameter)
        {
            self.entities.push(decl);
        }
        Ok(())
    }

    /// Expand references and normalize line ends in raw character data or an attribute value.
    fn chars(&mut self, raw: &[u8], raw_at: usize, attr: bool) -> Result<String, XmlError> {
        let mut out = String::new();
        let mut i = 0;
        while i < raw.len() {
            let amp = raw[i..].iter().position(|c| *c == b'&').map(|p| p + i);
            let end = amp.unwrap_or(raw.len());
            let piece = self.decode(&raw[i..end]);
            push_normalized(&mut out, &piece, attr);
            let Some(a) = amp else { break };
            let semi = match raw[a..].iter().position(|c| *c == b';') {
                Some(s) => a + s,
                None => return self.err(raw_at + a, "'&' without a terminating ';'"),
            };
            let name_raw = &raw[a + 1..semi];
            let name = self.decode(name_raw);
            match resolve_ref(&name, &self.entities) {
                Ok(s) => {
                    if out.len() + s.len() > MAX_EXPANSION {
                        return self.err(raw_at + a, "entity expansion too large");
                    }
                    let declared = !name.starts_with('#')
                        && !matches!(&*name, "amp" | "lt" | "gt" | "quot" | "apos");
                    if declared {
                        self.expanded = self.expanded.saturating_add(s.len());
                        if self.expanded > MAX_TOTAL_EXPANSION {
                            return self.err(
                                raw_at + a,
                                format!(
                                    "entity expansion over the whole document passes \
                                     {MAX_TOTAL_EXPANSION} bytes"
                                ),
                            );
                        }
                    }
                    out.push_str(&s)
                }
                Err(m) => return self.err(raw_at + a, m),
            }
            i = semi + 1;
        }
        Ok(out)
    }

    fn content(&mut self) -> Result<(), XmlError> {
        let mut stack: Vec<usize> = Vec::new();
        loop {
            let at = self.pos;
            if at >= self.b.len() {
                return match stack.last() {
                    Some(open) => {
                        let e = &self.elements[*open];
                        self.err(
                            at,
                            format!(
                                "end of input inside <{}> opened at byte {:#x}",
                                e.name, e.offset
                            ),
                        )
                    }
                    None => self.err(at, "no root element"),
                };
            }
            if self.starts(b"</") {
                self.pos += 2;
                let name = self.name()?;
                self.skip_ws();
                if self.peek() != Some(b'>') {
                    return self.err(self.pos, "expected '>' to end the end tag");
                }
                self.pos += 1;
                let Some(open) = stack.pop() else {
                    return self.err(at, format!("end tag </{name}> with no open element"));
                };
                if self.elements[open].name != name {
                    let e = &self.elements[open];
                    return self.err(
                        at,
                        format!(
                            "end tag </{name}> does not match <{}> opened at byte {:#x}",
                            e.name, e.offset
                        ),
                    );
                }
                self.elements[open].end = self.pos as u64;
                if stack.is_empty() {
                    return Ok(());
                }
            } else if self.starts(b"<!--") {
                self.pos += 4;
                self.until(b"-->", "comment")?;
            } else if self.starts(b"<![CDATA[") {
                self.pos += 9;
                let raw = self.until(b"]]>", "CDATA section")?;
                let s = self.decode(raw);
                let mut t = String::new();
                push_normalized(&mut t, &s, false);
                self.push_text(&stack, t);
            } else if self.starts(b"<?") {
                self.pos += 2;
                let target = self.name()?;
                let raw = self.until(b"?>", "processing instruction")?;
                let data = self.decode(trim_start(raw));
                if let Some(top) = stack.last() {
                    self.elements[*top].children.push(Node::Pi(target, data));
                }
            } else if self.starts(b"<!") {
                return self.err(at, "unexpected '<!' in content");
            } else if self.starts(b"<") {
                if stack.len() >= MAX_DEPTH {
                    return self.err(at, format!("elements nested deeper than {MAX_DEPTH}"));
                }
                let (idx, empty) = self.start_tag(stack.last().copied())?;
                if let Some(top) = stack.last() {
                    self.elements[*top].children.push(Node::Element(idx));
                }
                if empty {
                    if stack.is_empty() {
                        return Ok(());
                    }
                } else {
                    stack.push(idx);
                }
            } else {
                let n = self
                    .rest()
                    .iter()
                    .position(|c| *c == b'<')
                    .unwrap_or(self.rest().len());
                let raw = &self.b[at..at + n];
                self.pos = at + n;
                if stack.is_empty() {
                    return self.err(at, "text outside the root element");
                }
                let t = self.chars(raw, at, false)?;
                self.push_text(&stack, t);
            }
        }
    }

    fn push_text(&mut self, stack: &[usize], t: String) {
        let Some(top) = stack.last() else { return };
        if t.is_empty() {
            return;
        }
        let kids = &mut self.elements[*top].children;
        if let Some(Node::Text(prev)) = kids.last_mut() {
            prev.push_str(&t);
        } else {
            kids.push(Node::Text(t));
        }
    }

    fn start_tag(&mut self, parent: Option<usize>) -> Result<(usize, bool), XmlError> {
        let at = self.pos;
        self.pos += 1;
        let name = self.name()?;
        let mut attrs: Vec<(String, String)> = Vec::new();
        // Names seen in this tag: a linear search per attribute is quadratic in a hostile tag.
        let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
        loop {
            let had_ws = self.skip_ws();
            match self.peek() {
                None => return self.err(at, format!("unterminated start tag <{name}>")),
                Some(b'>') => {
                    self.pos += 1;
                    break;
                }
                Some(b'/') => {
                    if self.b.get(self.pos + 1) != Some(&b'>') {
                        return self.err(self.pos, "expected '>' after '/'");
                    }
                    self.pos += 2;
                    let idx = self.push_element(name, attrs, parent, at);
                    self.elements[idx].end = self.pos as u64;
                    return Ok((idx, true));
                }
                Some(_) => {
                    if !had_ws {
                        return self.err(self.pos, "expected whitespace before an attribute");
                    }
                    let an_at = self.pos;
                    let an = self.name()?;
                    self.skip_ws();
                    if self.peek() != Some(b'=') {
                        return self.err(self.pos, format!("expected '=' after attribute {an}"));
                    }
                    self.pos += 1;
                    self.skip_ws();
                    let (raw, raw_at) = self.quoted()?;
                    if let Some(lt) = raw.iter().position(|c| *c == b'<') {
                        return self.err(raw_at + lt, "'<' in an attribute value");
                    }
                    let v = self.chars(raw, raw_at, true)?;
                    if !seen.insert(an.clone()) {
                        return self.err(an_at, format!("attribute {an} repeated"));
                    }
                    attrs.push((an, v));
                }
            }
        }
        let idx = self.push_element(name, attrs, parent, at);
        Ok((idx, false))
    }

    fn push_element(
        &mut self,
        name: String,
        attrs: Vec<(String, String)>,
        parent: Option<usize>,
        at: usize,
    ) -> usize {
        self.elements.push(Element {
            name,
            attrs,
            children: Vec::new(),
            parent,
            offset: at as u64,
            end: at as u64,
        });
        self.elements.len() - 1
    }

    fn epilog(&mut self) -> Result<(), XmlError> {
        loop {
            self.skip_ws();
            if self.pos >= self.b.len() {
                return Ok(());
            }
            if self.starts(b"<!--") {
                self.pos += 4;
                self.until(b"-->", "comment")?;
            } else if self.starts(b"<?") {
                self.pos += 2;
                self.until(b"?>", "processing instruction")?;
            } else if self.rest().iter().all(|c| *c == 0) {
                // Zero slack after the record (a carved or preallocated file) is not markup.
                return self.err(self.pos, "zero bytes after the root element");
            } else {
                return self.err(self.pos, "content after the root element");
            }
        }
    }
}

/// Append `s` with line ends normalized (CR LF and lone CR become LF); in attribute values the
/// literal whitespace characters then become spaces.
fn push_normalized(out: &mut String, s: &str, attr: bool) {
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        let c = if c == '\r' {
            if chars.peek() == Some(&'\n') {
                chars.next();
            }
            '\n'
        } else {
            c
        };
        if attr && matches!(c, '\n' | '\t') {
            out.push(' ');
        } else {
            out.push(c);
        }
    }
}

fn resolve_ref(name: &str, entities: &[EntityDecl]) -> Result<String, String> {
    if let Some(num) = name.strip_prefix('#') {
        let code = if let Some(hex) = num.strip_prefix('x') {
            u32::from_str_radix(hex, 16).ok()
        } else {
            num.parse::<u32>().ok()
        };
        return match code.and_then(char::from_u32) {
            Some(c) if c != '\0' => Ok(c.to_string()),
            _ => Err(format!("bad character reference &{name};")),
        };
    }
    match name {
        "amp" => return Ok("&".into()),
        "lt" => return Ok("<".into()),
        "gt" => return Ok(">".into()),
        "quot" => return Ok("\"".into()),
        "apos" => return Ok("'".into()),
        _ => {}
    }
    match entities.iter().find(|e| !e.parameter && e.name == name) {
        Some(EntityDecl { value: Some(v), .. }) => Ok(v.clone()),
        Some(e) if e.notation.is_some() => Err(format!("reference to unparsed entity &{name};")),
        Some(_) => Err(format!("external entity &{name}; is not read")),
        None => Err(format!("undeclared entity &{name};")),
    }
}

/// Character references in an entity's literal value are expanded when it is declared.
fn expand_char_refs(v: &str) -> String {
    let mut out = String::new();
    let mut rest = v;
    while let Some(a) = rest.find("&#") {
        out.push_str(&rest[..a]);
        let after = &rest[a..];
        match after.find(';') {
            Some(s) => match resolve_ref(&after[1..s], &[]) {
                Ok(c) => {
                    out.push_str(&c);
                    rest = &after[s + 1..];
                }
                Err(_) => {
                    out.push_str("&#");
                    rest = &after[2..];
                }
            },
            None => {
                out.push_str(after);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_offsets_and_ids() {
        let x =
            "\u{feff}<?xml version=\"1.0\"?><a Id=\"r\"><b id=\"x\">t&amp;u</b><c Id=\"x\"/></a>";
        let d = parse(x.as_bytes()).unwrap();
        assert_eq!(d.encoding, "utf-8");
        assert_eq!(d.elements.len(), 3);
        assert_eq!(d.elements[0].offset, 24);
        assert_eq!(d.elements[1].offset, 34);
        assert_eq!(d.text(1), "t&u");
        assert_eq!(d.ids.get("x"), Some(&1));
        assert_eq!(d.duplicate_ids, vec![("x".to_string(), 2)]);
        assert_eq!(d.descendants(0), vec![0, 1, 2]);
    }

    #[test]
    fn doctype_entities_and_big5() {
        let text = "<?xml version=\"1.0\" encoding=\"BIG5\"?>\r\n<!DOCTYPE 函 SYSTEM \"x.dtd\"[\r\n<!ENTITY 附件一 SYSTEM \"a b.doc\" NDATA DOC>\r\n<!NOTATION DOC SYSTEM \"\">\r\n]>\r\n<函 甲=\"a\r\nb\">許功蓋\r\n</函>";
        let (bytes, _, bad) = encoding_rs::BIG5.encode(text);
        assert!(!bad);
        let d = parse(&bytes).unwrap();
        assert_eq!(d.encoding, "big5");
        assert_eq!(d.root().name, "函");
        assert_eq!(d.root().attr("甲"), Some("a b"));
        assert_eq!(d.text(0), "許功蓋\n");
        let dt = d.doctype.unwrap();
        assert_eq!(dt.entities.len(), 1);
        assert_eq!(dt.entities[0].name, "附件一");
        assert_eq!(dt.entities[0].system.as_deref(), Some("a b.doc"));
        assert_eq!(dt.entities[0].notation.as_deref(), Some("DOC"));
    }

    #[test]
    fn declared_utf8_but_big5() {
        let (bytes, _, _) =
            encoding_rs::BIG5.encode("<?xml version=\"1.0\" encoding=\"utf-8\"?><函>中文</函>");
        let d = parse(&bytes).unwrap();
        assert_eq!(d.encoding, "big5");
        assert_eq!(d.text(0), "中文");
        assert!(d.notes[0].contains("decoded as Big5"));
    }

    #[test]
    fn declared_big5_but_utf8() {
        let x = "<?xml version=\"1.0\" encoding=\"big5\"?><函>中文𠀀</函>";
        let d = parse(x.as_bytes()).unwrap();
        assert_eq!(d.encoding, "utf-8");
        assert_eq!(d.text(0), "中文𠀀");
        assert!(d.notes[0].contains("decoded as UTF-8"));
    }

    #[test]
    fn first_error_with_offset() {
        let e = parse(b"<a><b></a>").unwrap_err();
        assert_eq!(e.offset, 6);
        assert!(e.message.contains("does not match <b>"));
        assert_eq!(parse(b"<a x='1' x='2'/>").unwrap_err().offset, 9);
        assert_eq!(parse(b"<a>&nope;</a>").unwrap_err().offset, 3);
        assert_eq!(parse(b"<a></a>junk").unwrap_err().offset, 7);
        assert_eq!(parse(b"<a>").unwrap_err().offset, 3);
    }

    #[test]
    fn expansion_is_bounded_over_the_whole_document() {
        let big = "x".repeat(60_000);
        // 16 runs of 17 references: 16 320 000 bytes, under the limit.
        let runs = format!("<a>{}</a>", "&b;".repeat(17)).repeat(16);
        let ok = format!("<!DOCTYPE r [<!ENTITY b \"{big}\">]><r>{runs}</r>");
        let d = parse(ok.as_bytes()).unwrap();
        assert_eq!(d.elements.len(), 17);
        let runs = format!("<a>{}</a>", "&b;".repeat(17)).repeat(17);
        let bad = format!("<!DOCTYPE r [<!ENTITY b \"{big}\">]><r>{runs}</r>");
        let e = parse(bad.as_bytes()).unwrap_err();
        assert_eq!(
            e.message,
            format!("entity expansion over the whole document passes {MAX_TOTAL_EXPANSION} bytes")
        );
        // 279 references of 60 000 bytes stay under the limit; the 280th (the 8th of the 17th
        // run) passes it and is the offset reported.
        let first_run = bad.find("<a>").unwrap();
        let run_len = 3 + 17 * 3 + 4;
        assert_eq!(e.offset as usize, first_run + 16 * run_len + 3 + 7 * 3);
    }

    #[test]
    fn repeated_attribute_found_among_many() {
        let attrs: String = (0..50_000).map(|i| format!(" a{i}=\"1\"")).collect();
        assert!(parse(format!("<r{attrs}/>").as_bytes()).is_ok());
        let e = parse(format!("<r{attrs} a49999=\"2\"/>").as_bytes()).unwrap_err();
        assert_eq!(e.message, "attribute a49999 repeated");
        assert_eq!(e.offset as usize, 2 + attrs.len() + 1);
    }

    #[test]
    fn cdata_merges_with_text() {
        let d = parse(b"<a>x<![CDATA[<y>]]>z\r</a>").unwrap();
        assert_eq!(d.root().children, vec![Node::Text("x<y>z\n".into())]);
    }
}
