//! Inclusive Canonical XML 1.0 (W3C REC-xml-c14n-20010315, without comments) of one element and
//! its descendants, the form XML signatures digest.
//!
//! Records in this family carry no namespaces, but prefixed names and `xmlns` declarations are
//! handled as the specification says: namespace nodes in scope at the apex (declared on it or on
//! an ancestor) are rendered on the apex, a descendant renders only the declarations that differ
//! from what its nearest rendered ancestor rendered, and `xml:*` attributes of ancestors are
//! inherited by the apex.

use super::xml::{Document, Node};
use std::collections::BTreeMap;

/// The namespace bound to the `xml` prefix.
const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

/// How to canonicalize.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Options {
    /// Leave out text nodes made only of whitespace (what these records' signers did).
    pub drop_whitespace_text: bool,
    /// Remove the spaces and tabs that end a text node after its last line feed: the indentation
    /// a pretty-printer puts before an end tag. Vendor encapsulation tools indent a signed SI
    /// (which turns the certificate text `…==\n` into `…==\n\t\t\t`) and later drop the
    /// whitespace-only text again, leaving only that trailing indentation changed. A digest that
    /// holds only under this variant proves the content up to that whitespace, not the bytes.
    pub strip_trailing_indent: bool,
    /// Encode the canonical text in Big5 instead of UTF-8: what producers of Big5 records do
    /// when they digest the canonical form in the document's own encoding. Characters Big5
    /// cannot hold become numeric character references.
    pub big5: bool,
}

impl Options {
    /// A short name for reports.
    pub fn name(self) -> &'static str {
        if self.big5 {
            return if self.drop_whitespace_text {
                "c14n, whitespace-only text dropped, encoded as Big5"
            } else {
                "c14n, encoded as Big5"
            };
        }
        match (self.drop_whitespace_text, self.strip_trailing_indent) {
            (false, false) => "c14n",
            (true, false) => "c14n, whitespace-only text dropped",
            (false, true) => "c14n, trailing indentation removed from text",
            (true, true) => {
                "c14n, whitespace-only text dropped, trailing indentation removed from text"
            }
        }
    }

    /// Whether a digest that holds under this variant holds over what the signer signed as it
    /// now stands (`false`), or only after undoing a later whitespace change (`true`: the
    /// verdict is then `equivalent`, not `authentic`).
    pub fn undoes_a_change(self) -> bool {
        self.strip_trailing_indent
    }
}

/// Every variant worth trying, most faithful first. The first two are how these records'
/// signers canonicalize; the last undoes a whitespace change made after signing.
pub const VARIANTS: [Options; 5] = [
    Options {
        drop_whitespace_text: false,
        strip_trailing_indent: false,
        big5: false,
    },
    Options {
        drop_whitespace_text: true,
        strip_trailing_indent: false,
        big5: false,
    },
    Options {
        drop_whitespace_text: false,
        strip_trailing_indent: false,
        big5: true,
    },
    Options {
        drop_whitespace_text: true,
        strip_trailing_indent: false,
        big5: true,
    },
    Options {
        drop_whitespace_text: true,
        strip_trailing_indent: true,
        big5: false,
    },
];

type Scope = BTreeMap<String, String>;

fn xml_whitespace(s: &str) -> bool {
    s.chars().all(|c| matches!(c, ' ' | '\t' | '\n' | '\r'))
}

/// `t` without the spaces and tabs that follow its last line feed, when nothing else does.
fn without_trailing_indent(t: &str) -> &str {
    let kept = t.trim_end_matches([' ', '\t']);
    if kept.len() < t.len() && kept.ends_with('\n') {
        kept
    } else {
        t
    }
}

/// The namespace declarations in scope at `el` (prefix → URI; "" for the default namespace),
/// nearest declaration winning, and the `xml:*` attributes of its ancestors.
fn inherited(doc: &Document, el: usize) -> (Scope, Vec<(String, String)>) {
    let mut chain = Vec::new();
    let mut cur = doc.el(el).and_then(|e| e.parent);
    while let Some(p) = cur {
        chain.push(p);
        cur = doc.el(p).and_then(|e| e.parent);
    }
    let mut scope = Scope::new();
    let mut xml_attrs: Vec<(String, String)> = Vec::new();
    for p in chain.iter().rev() {
        let Some(e) = doc.el(*p) else { continue };
        for (n, v) in &e.attrs {
            if let Some(prefix) = ns_decl(n) {
                scope.insert(prefix.to_string(), v.clone());
            } else if n.starts_with("xml:") {
                xml_attrs.retain(|(m, _)| m != n);
                xml_attrs.push((n.clone(), v.clone()));
            }
        }
    }
    (scope, xml_attrs)
}

/// `Some(prefix)` when an attribute name declares a namespace (`xmlns` → "", `xmlns:p` → "p").
fn ns_decl(name: &str) -> Option<&str> {
    if name == "xmlns" {
        Some("")
    } else {
        name.strip_prefix("xmlns:")
    }
}

/// Canonical bytes of element `el` and its subtree.
pub fn canonicalize(doc: &Document, el: usize, opts: Options) -> Vec<u8> {
    let mut out = String::new();
    if doc.el(el).is_none() {
        return Vec::new();
    }
    // Nothing is rendered above the apex, so everything in scope there is rendered on it.
    let (apex_scope, apex_xml) = inherited(doc, el);

    struct Frame {
        el: usize,
        next: usize,
        scope: Scope,
        rendered: Scope,
    }
    let mut stack: Vec<Frame> = Vec::new();
    let (scope, rendered) = open_tag(doc, el, &apex_scope, &Scope::new(), &apex_xml, &mut out);
    stack.push(Frame {
        el,
        next: 0,
        scope,
        rendered,
    });

    while let Some(top) = stack.last_mut() {
        let Some(e) = doc.el(top.el) else { break };
        let Some(child) = e.children.get(top.next) else {
            out.push_str("</");
            out.push_str(&e.name);
            out.push('>');
            stack.pop();
            continue;
        };
        top.next += 1;
        match child {
            Node::Text(t) => {
                if !(opts.drop_whitespace_text && xml_whitespace(t)) {
                    let t = if opts.strip_trailing_indent {
                        without_trailing_indent(t)
                    } else {
                        t
                    };
                    escape_text(t, &mut out);
                }
            }
            Node::Pi(target, data) => {
                out.push_str("<?");
                out.push_str(target);
                if !data.is_empty() {
                    out.push(' ');
                    out.push_str(data);
                }
                out.push_str("?>");
            }
            Node::Element(c) => {
                let c = *c;
                let (scope, rendered) = (top.scope.clone(), top.rendered.clone());
                let (scope, rendered) = open_tag(doc, c, &scope, &rendered, &[], &mut out);
                stack.push(Frame {
                    el: c,
                    next: 0,
                    scope,
                    rendered,
                });
            }
        }
    }
    if opts.big5 {
        return encoding_rs::BIG5.encode(&out).0.into_owned();
    }
    out.into_bytes()
}

/// Write the start tag of `el`; return its namespace scope and what is rendered at it.
fn open_tag(
    doc: &Document,
    el: usize,
    parent_scope: &Scope,
    parent_rendered: &Scope,
    extra_xml_attrs: &[(String, String)],
    out: &mut String,
) -> (Scope, Scope) {
    let Some(e) = doc.el(el) else {
        return (Scope::new(), Scope::new());
    };
    let mut scope = parent_scope.clone();
    let mut keys: Vec<(String, String)> = Vec::new();
    for (n, v) in &e.attrs {
        if let Some(prefix) = ns_decl(n) {
            scope.insert(prefix.to_string(), v.clone());
        }
    }
    let mut plain: Vec<(String, String)> = e
        .attrs
        .iter()
        .filter(|(n, _)| ns_decl(n).is_none())
        .cloned()
        .collect();
    for (n, v) in extra_xml_attrs {
        if !plain.iter().any(|(m, _)| m == n) {
            plain.push((n.clone(), v.clone()));
        }
    }
    for (n, _) in &plain {
        let (uri, local) = match n.split_once(':') {
            Some(("xml", l)) => (XML_NS.to_string(), l),
            Some((p, l)) => (scope.get(p).cloned().unwrap_or_else(|| p.to_string()), l),
            None => (String::new(), n.as_str()),
        };
        keys.push((uri, local.to_string()));
    }
    // Sort attributes by namespace URI, then local name (unqualified ones have no URI: first).
    let mut order: Vec<usize> = (0..plain.len()).collect();
    order.sort_by(|a, b| keys[*a].cmp(&keys[*b]));

    let mut rendered = parent_rendered.clone();
    let mut ns_out: Vec<(String, String)> = Vec::new();
    for (prefix, uri) in &scope {
        if prefix == "xml" {
            continue;
        }
        let before = parent_rendered.get(prefix);
        let needed = if prefix.is_empty() && uri.is_empty() {
            // xmlns="" only undoes a non-empty default rendered above.
            before.is_some_and(|b| !b.is_empty())
        } else {
            before != Some(uri)
        };
        if needed {
            ns_out.push((prefix.clone(), uri.clone()));
            rendered.insert(prefix.clone(), uri.clone());
        }
    }
    // BTreeMap order already puts the default namespace ("") first, then prefixes by name.

    out.push('<');
    out.push_str(&e.name);
    for (prefix, uri) in &ns_out {
        if prefix.is_empty() {
            out.push_str(" xmlns=\"");
        } else {
            out.push_str(" xmlns:");
            out.push_str(prefix);
            out.push_str("=\"");
        }
        escape_attr(uri, out);
        out.push('"');
    }
    for i in order {
        let (n, v) = &plain[i];
        out.push(' ');
        out.push_str(n);
        out.push_str("=\"");
        escape_attr(v, out);
        out.push('"');
    }
    out.push('>');
    (scope, rendered)
}

fn escape_text(t: &str, out: &mut String) {
    for c in t.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

fn escape_attr(v: &str, out: &mut String) {
    for c in v.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#x9;"),
            '\n' => out.push_str("&#xA;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::xml::parse;

    fn c14n(x: &str, drop: bool) -> String {
        let d = parse(x.as_bytes()).unwrap();
        String::from_utf8(canonicalize(
            &d,
            0,
            Options {
                drop_whitespace_text: drop,
                strip_trailing_indent: false,
                big5: false,
            },
        ))
        .unwrap()
    }

    #[test]
    fn big5_variant_encodes_the_canonical_text_in_big5() {
        let d = parse("<函 a=\"2\"><b>主旨</b></函>".as_bytes()).unwrap();
        let o = Options {
            big5: true,
            ..VARIANTS[0]
        };
        let out = canonicalize(&d, 0, o);
        let (want, _, bad) = encoding_rs::BIG5.encode("<函 a=\"2\"><b>主旨</b></函>");
        assert!(!bad);
        assert_eq!(out, want.into_owned());
        assert_eq!(o.name(), "c14n, encoded as Big5");
    }

    #[test]
    fn attributes_sorted_and_escaped() {
        assert_eq!(
            c14n(
                "<e b='2&quot;' a=\"x&#9;y&#10;\r\n\" ><f/>&#13;a&gt;b\r\n</e>",
                false
            ),
            "<e a=\"x&#x9;y&#xA; \" b=\"2&quot;\"><f></f>&#xD;a&gt;b\n</e>"
        );
    }

    #[test]
    fn whitespace_variant() {
        let x = "<a>\n  <b> x </b>\n</a>";
        assert_eq!(c14n(x, false), "<a>\n  <b> x </b>\n</a>");
        assert_eq!(c14n(x, true), "<a><b> x </b></a>");
    }

    // The namespace examples of the specification's section 3.3, cut down.
    #[test]
    fn namespaces_rendered_once() {
        let x = "<doc xmlns=\"http://example.org\" xmlns:a=\"http://www.w3.org\"><e xmlns:a=\"http://www.w3.org\" attr=\"v\" a:attr=\"w\" xml:lang=\"en\"><f xmlns=\"\"/></e></doc>";
        let d = parse(x.as_bytes()).unwrap();
        let sub = String::from_utf8(canonicalize(&d, 1, Options::default())).unwrap();
        assert_eq!(
            sub,
            "<e xmlns=\"http://example.org\" xmlns:a=\"http://www.w3.org\" attr=\"v\" a:attr=\"w\" xml:lang=\"en\"><f xmlns=\"\"></f></e>"
        );
    }

    #[test]
    fn apex_inherits_xml_attributes() {
        let d = parse(b"<a xml:lang=\"zh\"><b x=\"1\"/></a>").unwrap();
        let sub = String::from_utf8(canonicalize(&d, 1, Options::default())).unwrap();
        assert_eq!(sub, "<b x=\"1\" xml:lang=\"zh\"></b>");
    }

    #[test]
    fn trailing_indent_variant() {
        let x = "<a><c>QQ==\n\t\t</c><d> x \t</d><e>y\n</e>\n  <f/></a>";
        let d = parse(x.as_bytes()).unwrap();
        let opts = VARIANTS[4];
        assert!(opts.undoes_a_change());
        assert!(VARIANTS[..4].iter().all(|v| !v.undoes_a_change()));
        let out = String::from_utf8(canonicalize(&d, 0, opts)).unwrap();
        // Only indentation after a final line feed goes; other trailing blanks stay.
        assert_eq!(out, "<a><c>QQ==\n</c><d> x \t</d><e>y\n</e><f></f></a>");
        let keep = Options {
            drop_whitespace_text: false,
            strip_trailing_indent: true,
            big5: false,
        };
        let out = String::from_utf8(canonicalize(&d, 0, keep)).unwrap();
        assert_eq!(out, "<a><c>QQ==\n</c><d> x \t</d><e>y\n</e>\n<f></f></a>");
        assert_eq!(
            opts.name(),
            "c14n, whitespace-only text dropped, trailing indentation removed from text"
        );
    }
}
