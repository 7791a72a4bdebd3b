//! Undo and redo: a snapshot of the persona and its table positions before each applied edit.
//!
//! Snapshots are simple and exact (an edit's cascade — renamed references, dropped foreign keys —
//! is undone with it); a persona is small enough that a clone per edit costs nothing noticeable.

use std::collections::BTreeMap;

use persona_core::PersonaDefinition;

/// The most edits kept for undo.
const LIMIT: usize = 200;

/// What an edit changed, restored as a whole.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub persona: PersonaDefinition,
    pub positions: BTreeMap<String, [f32; 2]>,
    /// What the edit that followed this state did (for tooltips).
    pub label: String,
}

/// Undo and redo stacks.
#[derive(Debug, Default)]
pub struct History {
    undo: Vec<Snapshot>,
    redo: Vec<Snapshot>,
}

impl History {
    /// Record the state before an edit; clears the redo stack.
    pub fn record(&mut self, before: Snapshot) {
        self.undo.push(before);
        if self.undo.len() > LIMIT {
            self.undo.remove(0);
        }
        self.redo.clear();
    }

    /// Step back: returns the state to restore; `current` goes to the redo stack.
    pub fn undo(&mut self, current: Snapshot) -> Option<Snapshot> {
        let mut prev = self.undo.pop()?;
        let label = std::mem::take(&mut prev.label);
        self.redo.push(Snapshot {
            label: label.clone(),
            ..current
        });
        Some(Snapshot { label, ..prev })
    }

    /// Step forward again: returns the state to restore; `current` goes back to the undo stack.
    pub fn redo(&mut self, current: Snapshot) -> Option<Snapshot> {
        let next = self.redo.pop()?;
        self.undo.push(Snapshot {
            label: next.label.clone(),
            ..current
        });
        Some(next)
    }

    pub fn can_undo(&self) -> bool {
        !self.undo.is_empty()
    }

    pub fn can_redo(&self) -> bool {
        !self.redo.is_empty()
    }

    /// What undo would revert.
    pub fn undo_label(&self) -> Option<&str> {
        self.undo.last().map(|s| s.label.as_str())
    }

    /// What redo would re-apply.
    pub fn redo_label(&self) -> Option<&str> {
        self.redo.last().map(|s| s.label.as_str())
    }
}
