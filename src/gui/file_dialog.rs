//! Native file dialogs without blocking the UI: the dialog runs on its own thread and its
//! answer is picked up on a later frame. Where no dialog can be shown (no desktop portal, as
//! under Xvfb), the answer is `None` and the user types a path instead.

use std::path::PathBuf;
use std::sync::mpsc;

/// A file dialog that may be open.
#[derive(Debug, Default)]
pub struct FilePicker {
    pending: Option<mpsc::Receiver<Option<PathBuf>>>,
}

/// What to ask for.
#[derive(Debug, Clone)]
pub enum Pick {
    Open,
    Save { file_name: String },
}

impl FilePicker {
    /// Whether a dialog is open.
    pub fn is_open(&self) -> bool {
        self.pending.is_some()
    }

    /// Open a dialog (unless one is open already); `ctx` is repainted when it answers.
    pub fn open(&mut self, ctx: &egui::Context, pick: Pick) {
        if self.pending.is_some() {
            return;
        }
        let (tx, rx) = mpsc::channel();
        let ctx = ctx.clone();
        let spawned = std::thread::Builder::new()
            .name("file-dialog".into())
            .spawn(move || {
                let dialog = rfd::FileDialog::new().add_filter("Persona", &["toml", "json"]);
                let answer = match pick {
                    Pick::Open => dialog.pick_file(),
                    Pick::Save { file_name } => {
                        rfd::FileDialog::new().set_file_name(file_name).save_file()
                    }
                };
                let _ = tx.send(answer);
                ctx.request_repaint();
            });
        if spawned.is_ok() {
            self.pending = Some(rx);
        }
    }

    /// The dialog's answer, once: `Some(Some(path))` picked, `Some(None)` cancelled or no
    /// dialog available, `None` still open (or never opened).
    pub fn poll(&mut self) -> Option<Option<PathBuf>> {
        let rx = self.pending.as_ref()?;
        match rx.try_recv() {
            Ok(answer) => {
                self.pending = None;
                Some(answer)
            }
            Err(mpsc::TryRecvError::Empty) => None,
            Err(mpsc::TryRecvError::Disconnected) => {
                self.pending = None;
                Some(None)
            }
        }
    }
}
