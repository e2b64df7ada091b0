//! The desktop app driven headless through egui_kittest: each screen's main path.

mod support;

use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use salvor::gui::i18n::{self, Lang};
use salvor::gui::settings::Settings;
use salvor::gui::{SalvorApp, Screen, StartOptions};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The language is process-wide: tests take turns.
static LOCK: Mutex<()> = Mutex::new(());

fn demo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testimages/demo.img")
}

fn harness(lang: &str) -> Harness<'static, SalvorApp> {
    let opts = StartOptions {
        lang: Some(lang.into()),
        ..StartOptions::default()
    };
    let app = SalvorApp::with_settings(&opts, Settings::default());
    Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .with_context_setup(salvor::gui::fonts::install)
        .build_ui_state(|ui, app: &mut SalvorApp| app.frame_ui(ui), app)
}

/// Step frames until `done` holds (jobs run on their own threads meanwhile).
fn wait(h: &mut Harness<'static, SalvorApp>, secs: u64, done: impl Fn(&SalvorApp) -> bool) {
    // The click queued before this call is handled by these first frames.
    h.run_steps(2);
    let t0 = Instant::now();
    while !done(h.state()) {
        assert!(
            t0.elapsed() < Duration::from_secs(secs),
            "timed out after {secs} s"
        );
        std::thread::sleep(Duration::from_millis(20));
        h.step();
    }
    h.run_steps(2);
}

#[test]
fn carve_demo_lists_the_expected_findings_and_jumps_to_hex() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let mut h = harness("en");
    h.state_mut().screen = Screen::Carve;
    h.state_mut().carve.set_source(&demo());
    h.state_mut().carve.out = tmp.path().join("out").display().to_string();
    h.run_steps(2);
    h.get_by_label("Start carving").click();
    h.run_steps(2);
    wait(&mut h, 90, |a| {
        a.carve.report.is_some() || a.carve.error.is_some()
    });
    let app = h.state();
    assert_eq!(app.carve.error, None);
    let rep = app.carve.report.as_ref().unwrap();
    assert_eq!(rep.findings.len(), 15);
    assert_eq!(
        (
            rep.summary.intact,
            rep.summary.damaged,
            rep.summary.truncated
        ),
        (12, 2, 1)
    );
    assert!(
        rep.findings.iter().any(|f| f.parent.is_some()),
        "the nested child"
    );
    assert!(h.query_by_label("15 findings").is_some());
    assert!(tmp.path().join("out/report.json").is_file());

    // Filtering to damaged leaves two rows; selecting one shows its members.
    h.state_mut().carve.status_filter = Some("damaged");
    assert_eq!(h.state().carve.visible().len(), 2);
    let id = rep_first_damaged(h.state());
    h.state_mut().carve.selected = Some(id);
    h.run_steps(2);
    assert!(h.query_by_label("Show in hex view").is_some());
    h.get_by_label("Show in hex view").click();
    h.run_steps(3);
    let app = h.state();
    assert_eq!(app.screen, Screen::Hex);
    let f = app
        .carve
        .report
        .as_ref()
        .unwrap()
        .findings
        .iter()
        .find(|f| f.id == id)
        .unwrap();
    assert_eq!(app.hex.cursor, Some(f.offset));
    assert_eq!(app.hex.marks.len(), 15);
    assert!(h.query_by_label_contains("Findings highlighted").is_some());
}

fn rep_first_damaged(app: &SalvorApp) -> usize {
    let rep = app.carve.report.as_ref().unwrap();
    rep.findings[app.carve.visible()[0]].id
}

#[test]
fn repair_demo_range_reports_every_member() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let mut h = harness("en");
    h.state_mut().screen = Screen::Repair;
    {
        let r = &mut h.state_mut().repair;
        r.input = demo().display().to_string();
        r.offset = "363451".into();
        r.length = "10987".into();
        r.output = tmp.path().join("fixed.zip").display().to_string();
    }
    h.run_steps(2);
    h.get_by_label("Start repair").click();
    wait(&mut h, 60, |a| {
        a.repair.record.is_some() || a.repair.error.is_some()
    });
    let rec = h.state().repair.record.as_ref().expect("a repair record");
    assert!(!rec.report.members.is_empty());
    assert!(tmp.path().join("fixed.zip").is_file());
    assert!(h.query_by_label("What was done").is_some());
}

#[test]
fn acquire_demo_image_fills_the_sector_map_and_shows_the_record() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let mut h = harness("en");
    h.state_mut().screen = Screen::Acquire;
    h.state_mut().acquire.set_source(&demo());
    h.state_mut().acquire.dest = tmp.path().join("demo.dd").display().to_string();
    h.run_steps(2);
    h.get_by_label("Start imaging").click();
    wait(&mut h, 60, |a| {
        a.acquire.record.is_some() || a.acquire.error.is_some()
    });
    assert_eq!(h.state().acquire.error, None);
    let map = h
        .state()
        .acquire
        .map
        .as_ref()
        .expect("the mapfile was read");
    assert_eq!(
        map.total(salvor_carvers::mapfile::BlockStatus::Finished),
        2 << 20
    );
    assert!(h.query_by_label("Acquisition record").is_some());

    // Surface scan of the same image: one point per block, no errors.
    h.state_mut().acquire.tab = salvor::gui::acquire::Tab::Surface;
    h.run_steps(2);
    h.get_by_label("Start surface scan").click();
    wait(&mut h, 60, |a| {
        a.acquire.scan_summary.is_some() || a.acquire.error.is_some()
    });
    let s = h.state().acquire.scan_summary.clone().unwrap();
    assert_eq!(s.bad_blocks, 0);
    assert_eq!(h.state().acquire.scan_points.len() as u64, s.blocks);
}

#[test]
fn sources_shows_facts_of_an_image() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let mut h = harness("en");
    h.run_steps(2);
    h.get_by_label("Demo image").click();
    wait(&mut h, 30, |a| a.sources.facts.is_some());
    assert!(h.query_by_label("2097152").is_some(), "the size fact");
    // The chosen source reaches the other screens.
    assert!(h.state().carve.source.ends_with("testimages/demo.img"));
}

#[test]
fn destroy_refuses_a_wrong_confirmation_then_wipes_a_file_with_a_certificate() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let target = tmp.path().join("disk.bin");
    std::fs::write(&target, vec![0xabu8; 1 << 20]).unwrap();
    let mut h = harness("en");
    h.state_mut().screen = Screen::Destroy;
    h.state_mut().destroy.set_target(&target);
    h.state_mut().destroy.out = tmp.path().join("certs").display().to_string();
    wait(&mut h, 30, |a| a.destroy.checked.is_some());
    assert!(h.query_by_label("Safety checks passed.").is_some());

    h.state_mut().destroy.confirm = "WRONG-SERIAL".into();
    h.run_steps(1);
    h.get_by_label("Wipe").click();
    h.run_steps(2);
    assert!(h
        .query_all_by_label_contains("Refused: The confirmation does not match")
        .next()
        .is_some());
    assert!(std::fs::read(&target).unwrap().iter().all(|&b| b == 0xab));

    h.state_mut().destroy.confirm = target.display().to_string();
    h.run_steps(1);
    h.get_by_label("Wipe").click();
    wait(&mut h, 60, |a| {
        a.destroy.outcome.is_some() || a.destroy.refused.is_some()
    });
    assert_eq!(h.state().destroy.refused, None);
    assert!(h.query_by_label("Wipe PASSED").is_some());
    assert!(std::fs::read(&target).unwrap().iter().all(|&b| b == 0));
    let o = h.state().destroy.outcome.as_ref().unwrap();
    assert!(o.json_path.as_ref().is_some_and(|p| p.is_file()));
    assert!(h.query_by_label("Certificate").is_some());
}

/// A loop device over a file, mounted as ext4; undone on drop.
struct Mounted {
    dev: String,
    dir: PathBuf,
}

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.dir).status();
        let _ = Command::new("losetup").args(["-d", &self.dev]).status();
    }
}

fn mounted_loop(tmp: &Path) -> Result<Mounted, String> {
    if !rustix::process::geteuid().is_root() {
        return Err("not root".into());
    }
    let img = tmp.join("ext4.img");
    std::fs::write(&img, vec![0u8; 16 << 20]).map_err(|e| e.to_string())?;
    let out = Command::new("losetup")
        .args(["-f", "--show"])
        .arg(&img)
        .output()
        .map_err(|e| format!("losetup: {e}"))?;
    if !out.status.success() {
        return Err(format!("losetup: {}", String::from_utf8_lossy(&out.stderr)));
    }
    let dev = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let dir = tmp.join("mnt");
    std::fs::create_dir(&dir).map_err(|e| e.to_string())?;
    let m = Mounted { dev, dir };
    let ok = Command::new("mkfs.ext4")
        .args(["-q", "-F", &m.dev])
        .status()
        .is_ok_and(|s| s.success())
        && Command::new("mount")
            .arg(&m.dev)
            .arg(&m.dir)
            .status()
            .is_ok_and(|s| s.success());
    if !ok {
        return Err("mkfs.ext4 or mount failed".into());
    }
    Ok(m)
}

#[test]
fn destroy_greys_out_and_refuses_a_mounted_device() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let m = match mounted_loop(tmp.path()) {
        Ok(m) => m,
        Err(why) => {
            eprintln!("skipped: {why}");
            return;
        }
    };
    let mut h = harness("en");
    h.state_mut().screen = Screen::Destroy;
    h.state_mut().destroy.set_target(Path::new(&m.dev));
    wait(&mut h, 30, |a| {
        a.destroy.checked.is_some() && !a.destroy.devices.is_empty()
    });
    let checked = h.state().destroy.checked.clone().unwrap();
    assert!(
        checked
            .refusals
            .iter()
            .any(|r| matches!(r, salvor::wipe::safety::Refusal::Mounted { .. })),
        "{:?}",
        checked.refusals
    );
    // In the device list the loop device is greyed out with the reason.
    let listed = h
        .state()
        .destroy
        .devices
        .iter()
        .find(|c| c.facts.path == Path::new(&m.dev))
        .expect("the loop device is listed");
    assert!(!listed.refusals.is_empty());
    assert!(h.query_all_by_label_contains("mounted").next().is_some());

    // Even with the right confirmation the wipe is refused and nothing is written.
    h.state_mut().destroy.confirm = m.dev.clone();
    h.run_steps(1);
    h.get_by_label("Wipe").click();
    h.run_steps(2);
    let refused = h.state().destroy.refused.clone().unwrap_or_default();
    assert!(refused.contains("mounted"), "{refused}");
    assert!(h.state().destroy.outcome.is_none());
    assert!(
        Path::new(&m.dir).join("lost+found").is_dir(),
        "the filesystem is untouched"
    );
}

#[test]
fn switching_language_changes_every_label() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let mut h = harness("en");
    h.run_steps(2);
    assert!(h.query_all_by_label("Carve").next().is_some());
    assert!(h.query_all_by_label("刻取").next().is_none());
    h.get_by_label("繁體中文").click();
    h.run_steps(3);
    assert_eq!(i18n::current(), Lang::ZhTw);
    assert!(h.query_all_by_label("刻取").next().is_some());
    assert!(h.query_all_by_label("Carve").next().is_none());
    assert!(h.query_by_label("案號").is_some());
    h.get_by_label("English").click();
    h.run_steps(3);
    assert!(h.query_all_by_label("Carve").next().is_some());
    i18n::set(Lang::En);
}

#[test]
fn the_bundled_fonts_draw_every_label_of_both_languages() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let h = harness("zh-TW");
    let ctx = h.ctx.clone();
    for table in [i18n::EN, i18n::ZH_TW] {
        for (key, value) in i18n::parse_table(table) {
            let ok = ctx.fonts_mut(|f| f.has_glyphs(&egui::FontId::proportional(14.0), &value));
            assert!(ok, "{key} = {value}: a character has no glyph");
        }
    }
    i18n::set(Lang::En);
}

#[test]
fn hex_view_scrolls_a_sparse_200_gib_image_without_reading_it_all() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("huge.img");
    let f = std::fs::File::create(&path).unwrap();
    let size = 200u64 << 30;
    if let Err(e) = f.set_len(size) {
        eprintln!("skipped: no sparse 200 GiB file here: {e}");
        return;
    }
    use std::os::unix::fs::FileExt;
    f.write_all_at(b"PK\x03\x04salvor", size - 4096).unwrap();
    drop(f);

    let mut h = harness("en");
    let t0 = Instant::now();
    h.state_mut().hex.open(&path, size - 4096, Vec::new());
    h.state_mut().screen = Screen::Hex;
    h.run_steps(3);
    assert_eq!(h.state().hex.source_len(), size);
    assert_eq!(h.state().hex.cursor, Some(size - 4096));
    assert!(h.query_by_label_contains("200.00 GiB").is_some());
    // Paging down from near the end stops at the last row; Home goes back to the start.
    for _ in 0..50 {
        h.key_press(egui::Key::PageDown);
        h.step();
    }
    assert!(h.state().hex.top_row <= size / 16);
    h.state_mut().hex.goto(0);
    h.run_steps(2);
    assert_eq!(h.state().hex.top_row, 0);
    assert!(t0.elapsed() < Duration::from_secs(20), "{:?}", t0.elapsed());
}

fn corpus() -> Option<PathBuf> {
    support::corpus().filter(|base| base.join("tw/00111").is_dir())
}

#[test]
fn verify_screen_shows_the_si_verdicts_and_writes_restored_components() {
    let Some(corpus) = corpus() else {
        eprintln!("skipped: corpus absent (set SALVOR_CORPUS)");
        return;
    };
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let mut h = harness("zh-TW");
    h.state_mut().screen = Screen::Verify;
    h.run_steps(2);
    assert!(h.query_by_label("驗證電子檔案").is_some());
    {
        let v = &mut h.state_mut().verify;
        v.input = corpus.join("tw/00111/1000000016.si").display().to_string();
        v.restore = tmp.path().join("restored").display().to_string();
    }
    h.run_steps(2);
    h.get_by_label("驗證").click();
    wait(&mut h, 60, |a| {
        a.verify.report.is_some() || a.verify.error.is_some()
    });
    assert_eq!(h.state().verify.error, None);
    let rep = h.state().verify.report.as_ref().unwrap();
    use salvor_carvers::records::Verdict;
    assert_eq!(rep.verdict, Verdict::Equivalent);
    let si = &rep.records[0].report;
    assert_eq!(si.signatures.len(), 3);
    assert!(si
        .signatures
        .iter()
        .all(|s| s.verdict == Verdict::Authentic));
    let eq: Vec<_> = si
        .components
        .iter()
        .filter(|c| c.verdict == Verdict::Equivalent)
        .collect();
    assert_eq!(eq.len(), 8);
    assert!(eq
        .iter()
        .all(|c| c.transform.as_deref() == Some("cr-restored")));
    // Five distinct files lost their CRs; each is written once.
    assert_eq!(rep.restored.len(), 5);
    assert!(tmp.path().join("restored/公司OPV1.txt").is_file());
    // The colours' words and the transform are on screen, in Chinese.
    assert!(h.query_all_by_label("等同").next().is_some());
    assert!(h.query_all_by_label("cr-restored").next().is_some());
    assert!(h.query_all_by_label("真實").next().is_some());
    // Only what is not authentic: the authentic components leave the table.
    let before = h.query_all_by_label("真實").count();
    h.get_by_label("只顯示非真實者").click();
    h.run_steps(3);
    assert!(h.query_all_by_label("真實").count() < before);
    i18n::set(Lang::En);
}
