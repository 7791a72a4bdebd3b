//! Undo and redo: a snapshot of the persona and its table positions before each applied edit.
//!
//! Snapshots are simple and exact (an edit's cascade — renamed references, dropped foreign keys —
//! is undone with it); a persona is small enough that a clone per edit costs nothing noticeable.
//!
//! A continuous gesture (dragging a slider or a number, typing into a number field) changes the
//! persona on many frames but is one undo step: edits tagged with the same gesture id while that
//! widget stays dragged or focused reuse the snapshot taken before the first of them.

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
    /// The gesture whose start state is on top of the undo stack, while it goes on.
    open: Option<egui::Id>,
}

impl History {
    /// Whether an edit by `gesture` would join the step already on top of the undo stack.
    pub fn continues(&self, gesture: Option<egui::Id>) -> bool {
        gesture.is_some() && gesture == self.open
    }

    /// Record the state before an edit; clears the redo stack. An edit of the gesture that is
    /// still open adds no step (the state before the gesture began is already recorded).
    pub fn record(&mut self, before: Snapshot, gesture: Option<egui::Id>) {
        self.redo.clear();
        if self.continues(gesture) {
            return;
        }
        self.undo.push(before);
        if self.undo.len() > LIMIT {
            self.undo.remove(0);
        }
        self.open = gesture;
    }

    /// Close the open gesture unless its widget is among `live` (still dragged or focused).
    pub fn settle(&mut self, live: &[egui::Id]) {
        if self.open.is_some_and(|g| !live.contains(&g)) {
            self.open = None;
        }
    }

    /// Step back: returns the state to restore; `current` goes to the redo stack.
    pub fn undo(&mut self, current: Snapshot) -> Option<Snapshot> {
        self.open = None;
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
        self.open = None;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn state(name: &str) -> Snapshot {
        let mut persona = persona_core::template::load_builtin("audit_log").expect("template");
        name.clone_into(&mut persona.name);
        Snapshot {
            persona,
            positions: BTreeMap::new(),
            label: format!("edit to {name}"),
        }
    }

    #[test]
    fn a_gesture_is_one_step_until_its_widget_is_released() {
        let slider = egui::Id::new("slider");
        let mut h = History::default();
        h.record(state("a"), Some(slider));
        h.settle(&[slider]);
        h.record(state("b"), Some(slider));
        h.record(state("c"), Some(slider));
        h.settle(&[slider]);
        assert_eq!(h.undo.len(), 1);
        // Released: the next drag of the same slider is a new step.
        h.settle(&[]);
        h.record(state("d"), Some(slider));
        assert_eq!(h.undo.len(), 2);
        // A discrete edit never joins a gesture, and closes it.
        h.record(state("e"), None);
        h.record(state("f"), Some(slider));
        assert_eq!(h.undo.len(), 4);
        let back = h.undo(state("now")).unwrap();
        assert_eq!(back.persona.name, "f");
        // Undo closes the gesture: a further edit is a new step.
        h.record(state("g"), Some(slider));
        assert_eq!(h.undo.len(), 4);
        assert!(!h.can_redo());
    }
}
