//! The bounds on substitution: how many bytes a word and a file may grow by, how many
//! pattern-matching steps a file may take, how deep `${` may nest.

use super::ExpandError;
use std::cell::Cell;

/// Most bytes substitutions may insert into one word (`ARG`/`ENV` value, `FROM` image, path,
/// or one `$` parameter of a `RUN` script): 1 MiB. An image reference is at most a few hundred
/// bytes and the longest values real Containerfiles carry (`PATH`, package lists, inline
/// JSON) a few KiB; a larger word can only come from a file written to exhaust memory.
pub const MAX_WORD_EXPANSION: usize = 1024 * 1024;
/// Most bytes substitutions may insert over one file, all words together: 16 MiB. This bounds
/// what many words of up to [`MAX_WORD_EXPANSION`] each can hold together (and what copies of
/// them cost); a real Containerfile inserts a few KiB to a few hundred KiB.
pub const MAX_FILE_EXPANSION: usize = 16 * 1024 * 1024;
/// Most pattern-matching steps (`${V#p}`, `${V%p}`, `${V/p/r}`; one step is one pattern
/// position tried against one character) over one file: 100 million, a fraction of a second.
/// Real patterns are a few characters matched against short values: thousands of steps.
pub const MAX_PATTERN_STEPS: u64 = 100_000_000;
/// Deepest nesting of `${...}` inside one word (`${A:-${B:-${C}}}` is 3): beyond it the
/// recursive expansion would risk the stack. Real files nest 2 or 3 deep.
pub const MAX_NESTING: usize = 64;

/// A bound of [`Budget`] that an expansion reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Limit {
    #[error("variable substitution stopped: substitutions would insert more than {} into one word", size(*.0))]
    Word(usize),
    #[error("variable substitution stopped: substitutions would insert more than {} into this file's words in all", size(*.0))]
    File(usize),
    #[error("variable substitution stopped: pattern matching would take more than {} steps in this file", .0)]
    Steps(u64),
    #[error("variable substitution stopped: more than {} nested `${{...}}`", .0)]
    Nesting(usize),
}

/// `1 MiB` for a whole number of MiB, else bytes.
fn size(bytes: usize) -> String {
    const MIB: usize = 1024 * 1024;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else {
        format!("{bytes} bytes")
    }
}

/// What the expansions of one file may still spend. Shared by every expansion of the file
/// (interior mutability: the interpreter and the shell-word splitter both hold it); once a
/// limit is reached it has nothing left, and every later expansion that would insert or match
/// something returns [`ExpandError::Limit`], its value the word as written.
#[derive(Debug)]
pub struct Budget {
    pub(super) word: usize,
    pub(super) file: usize,
    pub(super) steps: u64,
    pub(super) nesting: usize,
    pub(super) bytes_left: Cell<usize>,
    pub(super) steps_left: Cell<u64>,
    pub(super) exceeded: Cell<Option<Limit>>,
}

impl Default for Budget {
    fn default() -> Budget {
        Budget::new(MAX_WORD_EXPANSION, MAX_FILE_EXPANSION, MAX_PATTERN_STEPS, MAX_NESTING)
    }
}

impl Budget {
    /// A budget with other limits than the defaults (tests, callers with their own bounds).
    pub fn new(word: usize, file: usize, steps: u64, nesting: usize) -> Budget {
        Budget {
            word,
            file,
            steps,
            nesting,
            bytes_left: Cell::new(file),
            steps_left: Cell::new(steps),
            exceeded: Cell::new(None),
        }
    }

    /// The limit that stopped expansion, if one was reached.
    pub fn exceeded(&self) -> Option<Limit> {
        self.exceeded.get()
    }

    /// Bytes inserted so far, over every expansion.
    pub fn bytes_spent(&self) -> usize {
        self.file - self.bytes_left.get()
    }

    pub(super) fn stop(&self, limit: Limit) -> ExpandError {
        if self.exceeded.get().is_none() {
            self.exceeded.set(Some(limit));
        }
        ExpandError::Limit(self.exceeded.get().unwrap_or(limit))
    }

    /// Account for `n` more inserted bytes, before they are allocated.
    pub(super) fn spend(&self, word_left: &mut usize, n: usize) -> Result<(), ExpandError> {
        if let Some(l) = self.exceeded.get() {
            return Err(ExpandError::Limit(l));
        }
        if n > *word_left {
            return Err(self.stop(Limit::Word(self.word)));
        }
        let Some(left) = self.bytes_left.get().checked_sub(n) else {
            return Err(self.stop(Limit::File(self.file)));
        };
        *word_left -= n;
        self.bytes_left.set(left);
        Ok(())
    }

    /// Account for `n` more pattern-matching steps, before they are taken.
    pub(super) fn step(&self, n: u64) -> Result<(), ExpandError> {
        if let Some(l) = self.exceeded.get() {
            return Err(ExpandError::Limit(l));
        }
        let Some(left) = self.steps_left.get().checked_sub(n) else {
            return Err(self.stop(Limit::Steps(self.steps)));
        };
        self.steps_left.set(left);
        Ok(())
    }
}
