//! Small UI state kept between runs (theme, last page, window size) as JSON in the user's data
//! directory. Nothing runtime (channels, snapshots, caches) is persisted; unknown or missing
//! fields fall back to defaults so old files keep loading.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Which page the shell shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Page {
    #[default]
    Library,
    Editor,
    Connections,
    Workload,
}

impl Page {
    pub const ALL: [Page; 4] = [
        Page::Library,
        Page::Editor,
        Page::Connections,
        Page::Workload,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Page::Library => "Library",
            Page::Editor => "Editor",
            Page::Connections => "Connections",
            Page::Workload => "Workload",
        }
    }

    pub fn icon(self) -> &'static str {
        match self {
            Page::Library => "📚",
            Page::Editor => "✏",
            Page::Connections => "🔌",
            Page::Workload => "📈",
        }
    }
}

/// The persisted UI state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct UiSettings {
    pub dark: bool,
    pub page: Page,
    /// Inner window size in points.
    pub window_size: Option<[f32; 2]>,
    /// The last export directory typed or picked.
    pub export_dir: Option<PathBuf>,
    /// The id of the persona last opened in the editor (reopened when the app starts there).
    pub last_persona: Option<String>,
}

impl Default for UiSettings {
    fn default() -> Self {
        UiSettings {
            dark: true,
            page: Page::Library,
            window_size: None,
            export_dir: None,
            last_persona: None,
        }
    }
}

impl UiSettings {
    /// Where the settings live: `ui.json` in the user's data directory.
    pub fn default_path() -> Option<PathBuf> {
        directories::ProjectDirs::from("", "", "persona-studio")
            .map(|dirs| dirs.data_dir().join("ui.json"))
    }

    /// Read the settings at `path`; anything unreadable gives the defaults.
    pub fn load(path: &Path) -> UiSettings {
        std::fs::read_to_string(path)
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default()
    }

    /// Write the settings to `path` (best effort: a failure is logged, not fatal).
    pub fn store(&self, path: &Path) {
        let write = || -> std::io::Result<()> {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
            std::fs::write(path, text)
        };
        if let Err(e) = write() {
            tracing::warn!("cannot save UI settings to {}: {e}", path.display());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip_and_tolerate_missing_fields() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/ui.json");
        let settings = UiSettings {
            dark: false,
            page: Page::Connections,
            window_size: Some([1200.0, 800.0]),
            export_dir: None,
            last_persona: Some("5bba6f85".to_owned()),
        };
        settings.store(&path);
        assert_eq!(UiSettings::load(&path), settings);
        std::fs::write(&path, r#"{"dark": false, "future_field": 1}"#).unwrap();
        let loaded = UiSettings::load(&path);
        assert!(!loaded.dark);
        assert_eq!(loaded.page, Page::Library);
        assert_eq!(
            UiSettings::load(&dir.path().join("missing.json")),
            UiSettings::default()
        );
    }
}
