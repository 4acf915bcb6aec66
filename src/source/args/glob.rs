//! The shell patterns of `${V#p}`, `${V%p}` and `${V/p/r}`, matched in one pass.

use super::{Budget, ExpandError};

#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Tok {
    Lit(char),
    Any,
    Star,
}

/// A shell pattern as BuildKit supports it: `*`, `?`, literal characters, `\` escapes.
///
/// Matching runs the pattern as an automaton over the text (one set of pattern positions per
/// character, a `*` staying in place): `m` steps per character for a pattern of `m` tokens,
/// counted against the budget, instead of trying every prefix, suffix or substring in turn.
pub(super) struct Glob(pub(super) Vec<Tok>);

/// The pattern positions reached so far (`None`: not reached), with the leftmost start of the
/// text that reached each (only meaningful to [`Glob::find`]).
type States = Vec<Option<usize>>;

impl Glob {
    pub(super) fn new(pattern: &str) -> Glob {
        let mut toks = Vec::new();
        let mut chars = pattern.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '*' => toks.push(Tok::Star),
                '?' => toks.push(Tok::Any),
                '\\' => match chars.next() {
                    Some(n) => toks.push(Tok::Lit(n)),
                    None => toks.push(Tok::Lit('\\')),
                },
                _ => toks.push(Tok::Lit(c)),
            }
        }
        Glob(toks)
    }

    /// `*` matches the empty text too: every position after a reached `*` is reached.
    pub(super) fn close(toks: &[Tok], states: &mut States) {
        for p in 0..toks.len() {
            if toks[p] == Tok::Star
                && let Some(s) = states[p]
            {
                states[p + 1] = Some(states[p + 1].map_or(s, |t| t.min(s)));
            }
        }
    }

    /// The states after reading `c` from `states` (closed), into `next`.
    pub(super) fn advance(toks: &[Tok], states: &States, c: char, next: &mut States) {
        next.iter_mut().for_each(|n| *n = None);
        for (p, tok) in toks.iter().enumerate() {
            let Some(s) = states[p] else { continue };
            let to = match tok {
                Tok::Star => p,
                Tok::Any => p + 1,
                Tok::Lit(l) if *l == c => p + 1,
                Tok::Lit(_) => continue,
            };
            next[to] = Some(next[to].map_or(s, |t| t.min(s)));
        }
        Glob::close(toks, next);
    }

    /// The first or last (`last`) boundary where `toks` matches the text read from `at`:
    /// `chars` yields each character with the boundary after it.
    pub(super) fn anchored(
        toks: &[Tok],
        at: usize,
        chars: impl Iterator<Item = (usize, char)>,
        last: bool,
        budget: &Budget,
    ) -> Result<Option<usize>, ExpandError> {
        let m = toks.len();
        budget.step(m as u64 + 1)?;
        let mut states: States = vec![None; m + 1];
        let mut next: States = vec![None; m + 1];
        states[0] = Some(0);
        Glob::close(toks, &mut states);
        let mut found = states[m].map(|_| at);
        for (boundary, c) in chars {
            if (found.is_some() && !last) || states.iter().all(Option::is_none) {
                break;
            }
            budget.step(m as u64 + 1)?;
            Glob::advance(toks, &states, c, &mut next);
            std::mem::swap(&mut states, &mut next);
            if states[m].is_some() {
                found = Some(boundary);
            }
        }
        Ok(found)
    }

    /// `text` without its shortest (or `longest`) prefix matching the pattern.
    pub(super) fn trim_prefix<'t>(
        &self,
        text: &'t str,
        longest: bool,
        budget: &Budget,
    ) -> Result<&'t str, ExpandError> {
        let chars = text.char_indices().map(|(i, c)| (i + c.len_utf8(), c));
        let end = Glob::anchored(&self.0, 0, chars, longest, budget)?;
        Ok(end.map_or(text, |e| &text[e..]))
    }

    /// `text` without its shortest (or `longest`) suffix matching the pattern: the reversed
    /// pattern run over the text from its end.
    pub(super) fn trim_suffix<'t>(
        &self,
        text: &'t str,
        longest: bool,
        budget: &Budget,
    ) -> Result<&'t str, ExpandError> {
        let reversed: Vec<Tok> = self.0.iter().rev().copied().collect();
        let start = Glob::anchored(&reversed, text.len(), text.char_indices().rev(), longest, budget)?;
        Ok(start.map_or(text, |s| &text[..s]))
    }

    /// The leftmost match starting at or after `from`, longest at that start: one pass that
    /// starts a match at every boundary until one is found, keeping the leftmost start that
    /// reached each pattern position (a later start can only do what it does).
    pub(super) fn find(
        &self,
        text: &str,
        from: usize,
        budget: &Budget,
    ) -> Result<Option<(usize, usize)>, ExpandError> {
        let toks = &self.0;
        let m = toks.len();
        // Each call costs its setup too: `replace` calls it once per match.
        budget.step(m as u64 + 1)?;
        let mut states: States = vec![None; m + 1];
        let mut next: States = vec![None; m + 1];
        let mut best: Option<(usize, usize)> = None;
        let mut chars = text[from..].char_indices().map(|(i, c)| (from + i, c));
        let mut at = from;
        loop {
            if best.is_none() && states[0].is_none() {
                states[0] = Some(at);
                Glob::close(toks, &mut states);
            }
            if let Some(s) = states[m]
                && best.is_none_or(|(bs, be)| s < bs || (s == bs && at > be))
            {
                best = Some((s, at));
            }
            if let Some((bs, _)) = best {
                // Later starts cannot be leftmost any more.
                states.iter_mut().filter(|st| st.is_some_and(|s| s > bs)).for_each(|st| *st = None);
                if states.iter().all(Option::is_none) {
                    break;
                }
            }
            let Some((i, c)) = chars.next() else { break };
            budget.step(m as u64 + 1)?;
            Glob::advance(toks, &states, c, &mut next);
            std::mem::swap(&mut states, &mut next);
            at = i + c.len_utf8();
        }
        Ok(best)
    }

    /// `text` with the first (or `all`) matches replaced, every byte of the result counted.
    pub(super) fn replace(
        &self,
        text: &str,
        replacement: &str,
        all: bool,
        budget: &Budget,
        word_left: &mut usize,
    ) -> Result<String, ExpandError> {
        let mut out = String::new();
        let mut push = |out: &mut String, piece: &str| -> Result<(), ExpandError> {
            budget.spend(word_left, piece.len())?;
            out.push_str(piece);
            Ok(())
        };
        let mut pos = 0;
        while pos <= text.len() {
            let Some((s, e)) = self.find(text, pos, budget)? else { break };
            push(&mut out, &text[pos..s])?;
            push(&mut out, replacement)?;
            if e == s {
                match text[e..].chars().next() {
                    Some(c) => {
                        push(&mut out, &text[e..e + c.len_utf8()])?;
                        pos = e + c.len_utf8();
                    }
                    None => {
                        pos = text.len() + 1;
                        break;
                    }
                }
            } else {
                pos = e;
            }
            if !all {
                break;
            }
        }
        if pos <= text.len() {
            push(&mut out, &text[pos..])?;
        }
        Ok(out)
    }
}
