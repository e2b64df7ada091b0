//! A small, tolerant XML element scanner for VERS Encapsulated Objects.
//!
//! VEO verification needs byte spans (the signature covers raw bytes of an element, the
//! documents are base64 text at known offsets), not a tree of decoded strings, so this scanner
//! records, for every element, where its start tag, content and end tag lie. It accepts what a
//! damaged file still holds: a mismatched or missing end tag is a problem, not a stop.

use super::Problem;
use memchr::{memchr, memmem};

/// Most elements recorded in one document: far beyond any real VEO (the 1.5 MB sample has a few
/// hundred) while keeping the element table bounded on hostile input.
const MAX_ELEMENTS: usize = 1_000_000;

/// Deepest element nesting accepted; deeper input is reported and the rest left unscanned.
const MAX_DEPTH: usize = 512;

/// One element and where its parts lie in the input.
#[derive(Debug, Clone)]
pub(crate) struct Element {
    /// Qualified name as written (`vers:SignedObject`).
    pub name: String,
    /// Offset of the `<` of the start tag.
    pub start: usize,
    /// Offset just after the `>` of the start tag.
    pub content_start: usize,
    /// Offset of the `<` of the end tag (equal to `content_start` for an empty element).
    pub content_end: usize,
    /// Offset just after the `>` of the end tag.
    pub end: usize,
    /// Index of the parent element.
    pub parent: Option<usize>,
    /// Indices of the child elements, in order.
    pub children: Vec<usize>,
    /// Whether an end tag was found for it.
    pub closed: bool,
}

/// The elements of a document and what was wrong with its structure.
#[derive(Debug, Clone, Default)]
pub(crate) struct Scan {
    pub elements: Vec<Element>,
    /// Top-level elements (a well-formed document has exactly one).
    pub roots: Vec<usize>,
    pub problems: Vec<Problem>,
    pub well_formed: bool,
    /// The encoding named in the XML declaration, lowercased (`utf-8` when none is named).
    pub encoding: String,
}

fn problem(offset: usize, message: String) -> Problem {
    Problem {
        offset: Some(offset as u64),
        file: None,
        message,
    }
}

/// Scan `bytes` into elements.
pub(crate) fn scan(bytes: &[u8]) -> Scan {
    let mut s = Scan {
        well_formed: true,
        encoding: "utf-8".into(),
        ..Scan::default()
    };
    let mut stack: Vec<usize> = Vec::new();
    let mut pos = 0usize;
    while let Some(rel) = memchr(b'<', &bytes[pos..]) {
        let lt = pos + rel;
        let rest = &bytes[lt..];
        if rest.starts_with(b"<?") {
            let Some(e) = memmem::find(rest, b"?>") else {
                s.fail(lt, "processing instruction never ends".into());
                break;
            };
            if lt == 0 && rest.starts_with(b"<?xml") {
                if let Some(enc) = attribute(&rest[..e], "encoding") {
                    s.encoding = enc.to_ascii_lowercase();
                }
            }
            pos = lt + e + 2;
        } else if rest.starts_with(b"<!--") {
            let Some(e) = memmem::find(&rest[4..], b"-->") else {
                s.fail(lt, "comment never ends".into());
                break;
            };
            pos = lt + 4 + e + 3;
        } else if rest.starts_with(b"<![CDATA[") {
            let Some(e) = memmem::find(rest, b"]]>") else {
                s.fail(lt, "CDATA section never ends".into());
                break;
            };
            pos = lt + e + 3;
        } else if rest.starts_with(b"<!") {
            // A declaration (DOCTYPE), possibly with an internal subset in brackets.
            let close = match (memchr(b'[', rest), memchr(b'>', rest)) {
                (Some(b), Some(g)) if b < g => memmem::find(&rest[b..], b"]")
                    .and_then(|c| memchr(b'>', &rest[b + c..]).map(|g2| b + c + g2)),
                (_, g) => g,
            };
            let Some(g) = close else {
                s.fail(lt, "declaration never ends".into());
                break;
            };
            pos = lt + g + 1;
        } else if rest.starts_with(b"</") {
            let Some(g) = tag_end(rest) else {
                s.fail(lt, "end tag never ends".into());
                break;
            };
            let name = String::from_utf8_lossy(rest[2..g].trim_ascii()).into_owned();
            let end = lt + g + 1;
            match stack.iter().rposition(|&i| s.elements[i].name == name) {
                Some(depth) => {
                    while stack.len() > depth + 1 {
                        if let Some(i) = stack.pop() {
                            let n = s.elements[i].name.clone();
                            s.fail(lt, format!("element <{n}> is not closed before </{name}>"));
                            s.elements[i].content_end = lt;
                            s.elements[i].end = lt;
                        }
                    }
                    if let Some(i) = stack.pop() {
                        let el = &mut s.elements[i];
                        el.content_end = lt;
                        el.end = end;
                        el.closed = true;
                    }
                }
                None => s.fail(lt, format!("end tag </{name}> matches no open element")),
            }
            pos = end;
        } else {
            let Some(g) = tag_end(rest) else {
                s.fail(lt, "start tag never ends".into());
                break;
            };
            let inner = &rest[1..g];
            let name_len = inner
                .iter()
                .position(|b| b.is_ascii_whitespace() || *b == b'/')
                .unwrap_or(inner.len());
            if name_len == 0 {
                s.fail(lt, "a '<' that starts no tag".into());
                pos = lt + 1;
                continue;
            }
            if s.elements.len() >= MAX_ELEMENTS || stack.len() >= MAX_DEPTH {
                s.fail(
                    lt,
                    "too many or too deeply nested elements: rest not scanned".into(),
                );
                break;
            }
            let empty = inner.last() == Some(&b'/');
            let idx = s.elements.len();
            let content_start = lt + g + 1;
            let parent = stack.last().copied();
            s.elements.push(Element {
                name: String::from_utf8_lossy(&inner[..name_len]).into_owned(),
                start: lt,
                content_start,
                content_end: content_start,
                end: content_start,
                parent,
                children: Vec::new(),
                closed: empty,
            });
            match parent {
                Some(p) => s.elements[p].children.push(idx),
                None => {
                    if !s.roots.is_empty() {
                        s.fail(lt, "a second top-level element".into());
                    }
                    s.roots.push(idx);
                }
            }
            if !empty {
                stack.push(idx);
            }
            pos = content_start;
        }
    }
    for i in stack.into_iter().rev() {
        let n = s.elements[i].name.clone();
        let at = s.elements[i].start;
        s.fail(at, format!("element <{n}> is never closed"));
        s.elements[i].content_end = bytes.len();
        s.elements[i].end = bytes.len();
    }
    if s.roots.is_empty() {
        s.fail(0, "no element found".into());
    }
    s
}

impl Scan {
    fn fail(&mut self, offset: usize, message: String) {
        self.well_formed = false;
        self.problems.push(problem(offset, message));
    }

    /// The first child of `el` named `name`.
    pub fn child(&self, el: usize, name: &str) -> Option<usize> {
        self.children(el, name).next()
    }

    /// Every child of `el` named `name`.
    pub fn children<'a>(&'a self, el: usize, name: &'a str) -> impl Iterator<Item = usize> + 'a {
        self.elements
            .get(el)
            .map(|e| e.children.as_slice())
            .unwrap_or(&[])
            .iter()
            .copied()
            .filter(move |&c| self.elements[c].name == name)
    }

    /// The first descendant of `el` named `name`, in document order.
    pub fn descendant(&self, el: usize, name: &str) -> Option<usize> {
        let mut todo: Vec<usize> = self
            .elements
            .get(el)?
            .children
            .iter()
            .rev()
            .copied()
            .collect();
        while let Some(i) = todo.pop() {
            if self.elements[i].name == name {
                return Some(i);
            }
            todo.extend(self.elements[i].children.iter().rev().copied());
        }
        None
    }

    /// The nearest ancestor of `el` named `name`.
    pub fn ancestor(&self, el: usize, name: &str) -> Option<usize> {
        let mut cur = self.elements.get(el)?.parent;
        while let Some(i) = cur {
            if self.elements[i].name == name {
                return Some(i);
            }
            cur = self.elements[i].parent;
        }
        None
    }

    /// The raw content bytes of `el` (between its tags).
    pub fn content<'a>(&self, bytes: &'a [u8], el: usize) -> &'a [u8] {
        self.elements
            .get(el)
            .and_then(|e| bytes.get(e.content_start..e.content_end))
            .unwrap_or(&[])
    }

    /// The text of `el` with markup of any children removed, entities decoded, trimmed.
    pub fn text(&self, bytes: &[u8], el: usize) -> String {
        let raw = self.content(bytes, el);
        let mut out = Vec::with_capacity(raw.len());
        let mut in_tag = false;
        for &b in raw {
            match b {
                b'<' => in_tag = true,
                b'>' if in_tag => in_tag = false,
                _ if !in_tag => out.push(b),
                _ => {}
            }
        }
        decode_entities(&String::from_utf8_lossy(&out))
            .trim()
            .to_owned()
    }

    /// The value of attribute `name` on the start tag of `el`.
    pub fn attr(&self, bytes: &[u8], el: usize, name: &str) -> Option<String> {
        let e = self.elements.get(el)?;
        attribute(bytes.get(e.start..e.content_start)?, name)
    }
}

/// Offset of the `>` that ends the tag starting at `rest[0]`, skipping quoted values.
fn tag_end(rest: &[u8]) -> Option<usize> {
    let mut quote: Option<u8> = None;
    for (i, &b) in rest.iter().enumerate().skip(1) {
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if b == b'"' || b == b'\'' => quote = Some(b),
            None if b == b'>' => return Some(i),
            None if b == b'<' => return None,
            None => {}
        }
    }
    None
}

/// The value of attribute `name` in the tag bytes `tag`, entities decoded.
fn attribute(tag: &[u8], name: &str) -> Option<String> {
    let n = name.as_bytes();
    let mut from = 0;
    while let Some(rel) = memmem::find(&tag[from..], n) {
        let at = from + rel;
        from = at + 1;
        let before_ok = at > 0 && tag[at - 1].is_ascii_whitespace();
        let mut i = at + n.len();
        while tag.get(i).is_some_and(|b| b.is_ascii_whitespace()) {
            i += 1;
        }
        if !before_ok || tag.get(i) != Some(&b'=') {
            continue;
        }
        i += 1;
        while tag.get(i).is_some_and(|b| b.is_ascii_whitespace()) {
            i += 1;
        }
        let q = *tag.get(i)?;
        if q != b'"' && q != b'\'' {
            return None;
        }
        let vstart = i + 1;
        let vlen = memchr(q, tag.get(vstart..)?)?;
        let v = String::from_utf8_lossy(&tag[vstart..vstart + vlen]);
        return Some(decode_entities(&v));
    }
    None
}

/// Replace the five predefined entities and numeric character references.
pub(crate) fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let tail = &rest[amp..];
        let semi = tail.find(';').filter(|&i| i <= 12);
        let rep = semi.and_then(|i| {
            let ent = &tail[1..i];
            let ch = match ent {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ if ent.starts_with("#x") => u32::from_str_radix(&ent[2..], 16)
                    .ok()
                    .and_then(char::from_u32),
                _ if ent.starts_with('#') => ent[1..].parse().ok().and_then(char::from_u32),
                _ => None,
            };
            ch.map(|c| (c, i))
        });
        match rep {
            Some((c, i)) => {
                out.push(c);
                rest = &tail[i + 1..];
            }
            None => {
                out.push('&');
                rest = &tail[1..];
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
    fn spans_and_names() {
        let x = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE a SYSTEM \"a.dtd\">\n<a x=\"1\"><b y='&amp;'>t&lt;</b><c/></a>";
        let s = scan(x);
        assert!(s.well_formed, "{:?}", s.problems);
        assert_eq!(s.encoding, "utf-8");
        assert_eq!(s.elements.len(), 3);
        let a = s.roots[0];
        let b = s.child(a, "b").unwrap();
        assert_eq!(s.text(x, b), "t<");
        assert_eq!(s.attr(x, b, "y").as_deref(), Some("&"));
        assert_eq!(s.attr(x, a, "x").as_deref(), Some("1"));
        assert_eq!(
            &x[s.elements[b].start..s.elements[b].end],
            b"<b y='&amp;'>t&lt;</b>"
        );
        assert!(s.elements[s.child(a, "c").unwrap()].closed);
    }

    #[test]
    fn damage_is_reported() {
        let s = scan(b"<a><b></a>");
        assert!(!s.well_formed);
        assert_eq!(s.problems[0].offset, Some(6));
        let s = scan(b"<a><b>");
        assert!(!s.well_formed);
        assert_eq!(s.problems.len(), 2);
        let s = scan(b"no xml");
        assert!(!s.well_formed);
    }
}
