//! Every label of the app in English and Traditional Chinese.
//!
//! The tables are `key = value` lines in `assets/i18n/en.txt` and `assets/i18n/zh-TW.txt`,
//! embedded at build time. A key missing from a table shows as the key itself (a test checks
//! both tables have the same keys, and that the bundled font draws every Chinese label).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::OnceLock;

/// The two languages of the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Lang {
    #[serde(rename = "en")]
    En,
    #[serde(rename = "zh-TW")]
    ZhTw,
}

impl Lang {
    /// Its code, as used on the command line and in the settings file.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::ZhTw => "zh-TW",
        }
    }

    /// Its name in itself, for the language switch.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::ZhTw => "繁體中文",
        }
    }

    /// Parse `en` or `zh-TW` (also `zh_TW`, `zh-HK`...).
    pub fn parse(s: &str) -> Option<Lang> {
        let s = s.to_ascii_lowercase().replace('_', "-");
        if s.starts_with("zh-tw") || s.starts_with("zh-hk") || s == "zh" {
            Some(Lang::ZhTw)
        } else if s.starts_with("en") {
            Some(Lang::En)
        } else {
            None
        }
    }

    /// From the system locale: `LC_ALL`, then `LC_MESSAGES`, then `LANG`; zh_TW/zh_HK give
    /// Traditional Chinese, anything else English.
    pub fn from_env() -> Lang {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let locale = var("LC_ALL")
            .or_else(|| var("LC_MESSAGES"))
            .or_else(|| var("LANG"))
            .unwrap_or_default();
        Lang::from_locale(&locale)
    }

    /// The language for a locale string such as `zh_TW.UTF-8`.
    pub fn from_locale(locale: &str) -> Lang {
        let l = locale.replace('-', "_");
        if l.starts_with("zh_TW") || l.starts_with("zh_HK") {
            Lang::ZhTw
        } else {
            Lang::En
        }
    }
}

/// The English table as shipped.
pub const EN: &str = include_str!("../../assets/i18n/en.txt");
/// The Traditional Chinese table as shipped.
pub const ZH_TW: &str = include_str!("../../assets/i18n/zh-TW.txt");

static CURRENT: AtomicU8 = AtomicU8::new(0);

/// Parse a `key = value` table; `#` starts a comment line; `\n` in a value is a line break.
pub fn parse_table(text: &str) -> HashMap<&str, String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim(), v.trim().replace("\\n", "\n")))
        .collect()
}

fn table(lang: Lang) -> &'static HashMap<&'static str, String> {
    static TABLES: OnceLock<[HashMap<&'static str, String>; 2]> = OnceLock::new();
    let t = TABLES.get_or_init(|| [parse_table(EN), parse_table(ZH_TW)]);
    &t[lang as usize]
}

/// The language labels are drawn in.
pub fn current() -> Lang {
    if CURRENT.load(Ordering::Relaxed) == 1 {
        Lang::ZhTw
    } else {
        Lang::En
    }
}

/// Switch the language of every label.
pub fn set(lang: Lang) {
    CURRENT.store(lang as u8, Ordering::Relaxed);
}

/// The label for `key` in the current language.
pub fn t(key: &'static str) -> &'static str {
    tr(current(), key)
}

/// The label for `key` in `lang` (the key itself when missing, so a gap is visible).
pub fn tr(lang: Lang, key: &'static str) -> &'static str {
    match table(lang).get(key).or_else(|| table(Lang::En).get(key)) {
        Some(v) => v.as_str(),
        None => key,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_have_the_same_keys() {
        let en = parse_table(EN);
        let zh = parse_table(ZH_TW);
        let mut missing: Vec<_> = en.keys().filter(|k| !zh.contains_key(*k)).collect();
        missing.extend(zh.keys().filter(|k| !en.contains_key(*k)));
        assert!(missing.is_empty(), "keys in one table only: {missing:?}");
    }

    #[test]
    fn locale_picks_the_language() {
        assert_eq!(Lang::from_locale("zh_TW.UTF-8"), Lang::ZhTw);
        assert_eq!(Lang::from_locale("zh_HK"), Lang::ZhTw);
        assert_eq!(Lang::from_locale("zh_CN.UTF-8"), Lang::En);
        assert_eq!(Lang::from_locale("C.UTF-8"), Lang::En);
    }
}
