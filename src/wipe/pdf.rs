//! The certificate as a PDF: labels in Traditional Chinese and English, set in an embedded
//! subset of Noto Sans CJK TC (assets/fonts, SIL OFL 1.1) so the PDF needs no installed font.

use super::certificate::Certificate;
use krilla::geom::Point;
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::text::{Font, TextDirection};
use krilla::Document;

/// Noto Sans CJK TC Regular cut to Latin, punctuation and Big5 level-1 hanzi
/// (assets/fonts/make_subset.sh rebuilds it).
static FONT: &[u8] = include_bytes!("../../assets/fonts/NotoSansCJKtc-Regular-subset.otf");

const PAGE_W: f32 = 595.0;
const PAGE_H: f32 = 842.0;
const MARGIN: f32 = 50.0;

/// One laid-out line of text.
struct Line {
    x: f32,
    size: f32,
    text: String,
    /// Extra space above the line.
    gap: f32,
}

/// Rough advance width in em: CJK and full-width characters are square, Latin about half.
fn width_em(text: &str) -> f32 {
    text.chars()
        .map(|c| if (c as u32) >= 0x2E80 { 1.0 } else { 0.55 })
        .sum()
}

/// Break `text` into pieces no wider than `max` points at `size`.
fn wrap(text: &str, size: f32, max: f32) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in text.chars() {
        cur.push(c);
        if width_em(&cur) * size > max {
            cur.pop();
            // Prefer breaking at the last space of a Latin run.
            let cut = cur.rfind(' ').filter(|&i| i > cur.len() / 2);
            match cut {
                Some(i) => {
                    let rest = cur[i + 1..].to_owned();
                    cur.truncate(i);
                    out.push(std::mem::take(&mut cur));
                    cur = rest;
                }
                None => out.push(std::mem::take(&mut cur)),
            }
            cur.push(c);
        }
    }
    if !cur.is_empty() || out.is_empty() {
        out.push(cur);
    }
    out
}

struct Layout {
    lines: Vec<Line>,
}

impl Layout {
    fn heading(&mut self, zh: &str, en: &str) {
        self.lines.push(Line {
            x: MARGIN,
            size: 12.5,
            text: format!("{zh}  {en}"),
            gap: 10.0,
        });
    }

    /// A `label: value` row; long values wrap under the value column.
    fn field(&mut self, zh: &str, en: &str, value: &str) {
        let label = format!("{zh} {en}");
        let size = 9.0;
        let value_x = MARGIN + 190.0;
        self.lines.push(Line {
            x: MARGIN + 8.0,
            size,
            text: label,
            gap: 2.0,
        });
        let max = PAGE_W - MARGIN - value_x;
        let value = if value.is_empty() { "—" } else { value };
        for (i, piece) in wrap(value, size, max).into_iter().enumerate() {
            self.lines.push(Line {
                x: value_x,
                size,
                text: piece,
                // The first piece shares the label's baseline.
                gap: if i == 0 { -(size * 1.45) } else { 0.0 },
            });
        }
    }

    fn text(&mut self, text: &str, size: f32) {
        for piece in wrap(text, size, PAGE_W - 2.0 * MARGIN - 8.0) {
            self.lines.push(Line {
                x: MARGIN + 8.0,
                size,
                text: piece,
                gap: 1.0,
            });
        }
    }
}

fn opt(v: &Option<String>) -> String {
    v.clone()
        .unwrap_or_else(|| super::certificate::NOT_RECORDED.into())
}

fn lay_out(c: &Certificate) -> Vec<Line> {
    let mut l = Layout { lines: Vec::new() };
    let destroy = c.destruction.is_some();
    l.lines.push(Line {
        x: MARGIN,
        size: 17.0,
        text: if destroy {
            "媒體銷毀證明書".into()
        } else {
            "媒體資料清除證明書".into()
        },
        gap: 0.0,
    });
    l.lines.push(Line {
        x: MARGIN,
        size: 13.0,
        text: if destroy {
            "Certificate of Media Destruction (NIST SP 800-88 Rev. 1, Appendix G)".into()
        } else {
            "Certificate of Media Sanitization (NIST SP 800-88 Rev. 1, Appendix G)".into()
        },
        gap: 4.0,
    });
    l.field("證明書編號", "Certificate ID", &c.certificate_id);
    l.field("簽發時間", "Issued", &c.issued);

    l.heading("執行人員", "Person performing sanitization");
    let p = &c.performed_by;
    l.field("姓名", "Name", &opt(&p.name));
    l.field("職稱", "Title", &opt(&p.title));
    l.field("機關單位", "Organization", &opt(&p.organization));
    l.field("地點", "Location", &opt(&p.location));
    l.field("聯絡方式", "Phone / contact", &opt(&p.contact));

    l.heading("媒體資訊", "Media information");
    let m = &c.media;
    l.field("製造商", "Make / manufacturer", &m.manufacturer);
    l.field("型號", "Model", &m.model);
    l.field("序號", "Serial number", &m.serial);
    l.field("財產編號", "Property number", &m.property_number);
    l.field("媒體類型", "Media type", &m.media_type);
    l.field("裝置路徑", "Device path", &m.device_path);
    if let Some(s) = m.size_bytes {
        l.field("容量", "Size", &format!("{s} bytes"));
    }
    l.field("來源", "Source", &m.source);
    l.field("機密等級", "Classification", &m.classification);
    l.field("資料已備份", "Data backed up", &m.backed_up);
    l.field("備份位置", "Backup location", &m.backup_location);
    l.field("隱藏區域", "Hidden areas (HPA/DCO)", &m.hidden_areas);

    l.heading("清除作業", "Sanitization");
    let s = &c.sanitization;
    l.field("類別", "Type (Clear/Purge/Destroy)", &s.category);
    l.field("方法", "Method", &s.method);
    l.field("方法說明", "Method details", &s.details);
    l.field("工具及版本", "Tool and version", &s.tool);
    l.field("驗證方式", "Verification method", &s.verification);
    l.field("開始", "Started", &s.started);
    l.field("結束", "Finished", &s.finished);
    l.field("結果", "Result", &s.result);
    let resumed = if s.resumed.is_empty() {
        "否 no".to_owned()
    } else {
        s.resumed
            .iter()
            .map(|r| format!("是 yes: {} at pass {}, offset {}", r.time, r.pass, r.offset))
            .collect::<Vec<_>>()
            .join("; ")
    };
    if !destroy {
        l.field("中斷後續行", "Resumed", &resumed);
    }
    if let Some(seed) = &s.seed {
        l.field("亂數種子", "Random seed (ChaCha20)", seed);
    }
    if let Some(d) = &c.destruction {
        l.field("銷毀方式", "Destruction method", &d.method);
        l.field(
            "碎片尺寸標準",
            "Particle size standard",
            &d.particle_size_standard,
        );
        l.field("見證人", "Witness", &d.witness);
        l.field("銷毀日期", "Date of destruction", &d.date);
        l.field("銷毀地點", "Place of destruction", &d.location);
    }
    for n in &s.notes {
        l.text(&format!("註 Note: {n}"), 8.0);
    }

    if !c.passes.is_empty() {
        l.heading("覆寫紀錄", "Passes");
        for p in &c.passes {
            let mut t = format!(
                "第 {} 次 Pass {}: {} — {} bytes, {:.1} s, {} → {}: {}",
                p.pass, p.pass, p.pattern, p.bytes, p.seconds, p.started, p.finished, p.result
            );
            if let Some(v) = &p.verification {
                t += &format!(
                    "; 驗證 verified {} ({} bytes): {} mismatched + {} unreadable blocks of {} bytes",
                    v.mode, v.bytes_checked, v.mismatched_blocks, v.read_error_blocks, v.block_size
                );
                for r in &v.first_mismatches {
                    t += &format!("; {} {:#x}..{:#x}", r.kind, r.start, r.end);
                }
            }
            l.text(&t, 8.0);
        }
    }

    l.heading("清除後", "After sanitization");
    l.field(
        "清除後機密等級",
        "Classification after",
        &c.post_classification,
    );
    l.field("去向", "Destination", &c.destination);
    if let Some(w) = &c.wipe_log {
        l.field("清除紀錄檔", "Wipe log", &w.path.display().to_string());
        l.field("紀錄檔 SHA-256", "Wipe log SHA-256", &w.sha256);
    }

    l.heading("簽署", "Signatures");
    for (zh, sig) in [
        ("執行人", &c.operator_signature),
        ("驗證人", &c.validator_signature),
    ] {
        let en = if sig.role == "operator" {
            "Operator"
        } else {
            "Validator"
        };
        l.field(&format!("{zh}姓名"), &format!("{en} name"), &sig.name);
        l.field(
            &format!("{zh}簽名"),
            &format!("{en} signature"),
            &sig.signature,
        );
        l.field("日期", "Date", &sig.date);
    }
    l.lines
}

/// Render the certificate; returns the PDF bytes.
pub fn render(c: &Certificate) -> anyhow::Result<Vec<u8>> {
    let font = Font::new(FONT.into(), 0)
        .ok_or_else(|| anyhow::anyhow!("the embedded CJK font could not be loaded"))?;
    let lines = lay_out(c);
    let mut doc = Document::new();
    doc.set_metadata(
        Metadata::new()
            .title(format!("Certificate {}", c.certificate_id))
            .language("zh-TW".into())
            .creator(crate::TOOL.into()),
    );

    // Paginate: a line goes to the next page when it would cross the bottom margin.
    let mut pages: Vec<Vec<(f32, &Line)>> = vec![Vec::new()];
    let mut y = MARGIN;
    for line in &lines {
        let next = y + line.gap + line.size * 1.45;
        if next > PAGE_H - MARGIN && line.gap >= 0.0 {
            pages.push(Vec::new());
            y = MARGIN + line.size * 1.45;
        } else {
            y = next;
        }
        if let Some(p) = pages.last_mut() {
            p.push((y, line));
        }
    }
    let count = pages.len();
    for (n, page_lines) in pages.into_iter().enumerate() {
        let mut page = doc.start_page_with(
            PageSettings::from_wh(PAGE_W, PAGE_H).ok_or_else(|| anyhow::anyhow!("page size"))?,
        );
        let mut surface = page.surface();
        for (y, line) in page_lines {
            surface.draw_text(
                Point::from_xy(line.x, y),
                font.clone(),
                line.size,
                &line.text,
                false,
                TextDirection::Auto,
            );
        }
        surface.draw_text(
            Point::from_xy(MARGIN, PAGE_H - MARGIN / 2.0),
            font.clone(),
            7.5,
            &format!(
                "{} — 第 {} 頁，共 {} 頁 page {} of {}",
                c.certificate_id,
                n + 1,
                count,
                n + 1,
                count
            ),
            false,
            TextDirection::Auto,
        );
        surface.finish();
        page.finish();
    }
    doc.finish()
        .map_err(|e| anyhow::anyhow!("could not write the PDF: {e:?}"))
}
